import Foundation

/// A Float32 tensor with its own contiguous storage, row-major; images and feature maps use NCHW.
///
/// A reference type, like an mlx array: layers keep views into tensors they are handed (see `FeatureMap`)
/// without copying. Copies are explicit (`copy()`). Shapes are checked with `precondition`.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    /// The samples, `count` of them.
    public let data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        precondition(!shape.isEmpty && shape.allSatisfy { $0 > 0 }, "tensor dimensions must be positive, got \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        data = .allocate(capacity: count)
        data.initialize(repeating: 0, count: count)
    }

    /// A tensor holding `values`; `values.count` must match the shape.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "shape \(shape) needs \(count) values, got \(values.count)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(shape: shape)
        data.update(repeating: value, count: count)
    }

    deinit { data.deallocate() }

    /// The samples as an array (copied).
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// An independent copy.
    public func copy() -> Tensor {
        let result = Tensor(shape: shape)
        result.data.update(from: data, count: count)
        return result
    }

    /// Sets every sample to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Copies samples from a tensor of the same size.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    /// One sample by flat index.
    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// NCHW dimensions; the tensor must have rank 4.
    public var nchw: (n: Int, c: Int, h: Int, w: Int) {
        precondition(shape.count == 4, "expected an NCHW tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// A view of the whole tensor as N samples of C x H x W.
    public var map: FeatureMap {
        let (n, c, h, w) = nchw
        return FeatureMap(base: data, n: n, c: c, h: h, w: w, sampleStride: c * h * w)
    }

    /// `self += scale * other`.
    public func add(_ other: Tensor, scale: Float = 1) {
        precondition(other.count == count, "add: \(other.shape) to \(shape)")
        for i in 0..<count { data[i] += scale * other.data[i] }
    }

    /// A copy of the channels `range` of an NCHW tensor (one frame of a stacked multi-frame input).
    public func channels(_ range: Range<Int>) -> Tensor {
        let (n, c, h, w) = nchw
        precondition(range.lowerBound >= 0 && range.upperBound <= c, "channels \(range) of \(shape)")
        let result = Tensor(shape: [n, range.count, h, w]), plane = h * w
        for sample in 0..<n {
            (result.data + sample * range.count * plane).update(from: data + (sample * c + range.lowerBound) * plane, count: range.count * plane)
        }
        return result
    }

    /// Adds an NCHW tensor of fewer channels into this one's channels from `first` on (same N, H, W).
    public func addChannels(_ other: Tensor, at first: Int) {
        let (n, c, h, w) = nchw, oc = other.nchw.c
        precondition(other.nchw.n == n && other.nchw.h == h && other.nchw.w == w && first + oc <= c, "addChannels: \(other.shape) at \(first) into \(shape)")
        let plane = h * w
        for sample in 0..<n {
            let target = data + (sample * c + first) * plane, source = other.data + sample * oc * plane
            for i in 0..<(oc * plane) { target[i] += source[i] }
        }
    }

    /// Sum of all samples, in Double.
    public func sum() -> Double {
        var total = 0.0
        for i in 0..<count { total += Double(data[i]) }
        return total
    }
}

/// A view of `n` samples of `c` x `h` x `w` floats inside some buffer, `sampleStride` floats apart.
/// Dense blocks use it to let each conv read a prefix of one shared buffer's channels and write its
/// output into the next channel slice, so concatenation never copies.
public struct FeatureMap {
    public let base: UnsafeMutablePointer<Float>
    public let n: Int, c: Int, h: Int, w: Int
    public let sampleStride: Int

    public init(base: UnsafeMutablePointer<Float>, n: Int, c: Int, h: Int, w: Int, sampleStride: Int) {
        precondition(sampleStride >= c * h * w, "sample stride \(sampleStride) smaller than a sample (\(c * h * w))")
        self.base = base
        self.n = n; self.c = c; self.h = h; self.w = w
        self.sampleStride = sampleStride
    }

    public var planeSize: Int { h * w }

    /// Start of sample `i`.
    public func sample(_ i: Int) -> UnsafeMutablePointer<Float> { base + i * sampleStride }

    /// Channels `range` of every sample.
    public func channels(_ range: Range<Int>) -> FeatureMap {
        precondition(range.lowerBound >= 0 && range.upperBound <= c, "channels \(range) of \(c)")
        return FeatureMap(base: base + range.lowerBound * planeSize, n: n, c: range.count, h: h, w: w, sampleStride: sampleStride)
    }

    /// Applies `body` to each sample's contiguous block of c * h * w floats.
    public func forEachSample(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        for i in 0..<n { body(sample(i)) }
    }
}
