import Foundation

/// Feature maps as the convolutions read and write them: N x H x W x C (channels last), fp32 or bf16.
///
/// oneDNN's direct convolution kernels (brgconv / jit) take channels-last tensors as they are, so the networks
/// keep their activations in this layout from their input to their output; `Tensor` (NCHW, fp32) is what
/// goes in and comes out. bf16 activations exist only in inference (`Precision.bf16`); training and every
/// backward pass are fp32.
public final class Activation: @unchecked Sendable {
    public let n: Int, h: Int, w: Int, c: Int
    public let type: ElementType
    public let raw: UnsafeMutableRawPointer

    /// A new activation; zero-filled unless `zeroed` is false (outputs a primitive overwrites whole).
    public init(n: Int, h: Int, w: Int, c: Int, type: ElementType = .fp32, zeroed: Bool = true) {
        precondition(n > 0 && h > 0 && w > 0 && c > 0, "activation dimensions must be positive, got \(n)x\(h)x\(w)x\(c)")
        self.n = n; self.h = h; self.w = w; self.c = c
        self.type = type
        raw = .allocate(byteCount: n * h * w * c * type.size, alignment: 64)
        if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: n * h * w * c * type.size) }
    }

    deinit { raw.deallocate() }

    /// Elements in all.
    public var count: Int { n * h * w * c }
    /// Pixels (n * h * w): the rows of the channels-last matrix.
    public var pixels: Int { n * h * w }

    /// The fp32 elements; only for fp32 activations.
    public var floats: UnsafeMutablePointer<Float> {
        precondition(type == .fp32, "fp32 access to a \(type) activation")
        return raw.assumingMemoryBound(to: Float.self)
    }

    var bf16: UnsafeMutablePointer<UInt16> {
        precondition(type == .bf16, "bf16 access to a \(type) activation")
        return raw.assumingMemoryBound(to: UInt16.self)
    }

    /// A new activation of the same size, shape and type (not zeroed).
    public func emptyLike(channels: Int? = nil, type: ElementType? = nil) -> Activation {
        Activation(n: n, h: h, w: w, c: channels ?? c, type: type ?? self.type, zeroed: false)
    }

    var descriptor: MemoryDescriptorKey { MemoryDescriptorKey(n: n, h: h, w: w, c: c, type: type) }

    /// An NCHW fp32 tensor transposed to channels last, in `type`.
    public convenience init(_ tensor: Tensor, type: ElementType = .fp32) { self.init(tensor.map, type: type) }

    /// An NCHW feature map (possibly a channel slice of a larger buffer) transposed to channels last, in `type`.
    public convenience init(_ map: FeatureMap, type: ElementType = .fp32) {
        self.init(n: map.n, h: map.h, w: map.w, c: map.c, type: type, zeroed: false)
        let (c, w, plane) = (self.c, self.w, map.planeSize)
        let (f32, b16) = (raw.assumingMemoryBound(to: Float.self), raw.assumingMemoryBound(to: UInt16.self))
        forEachRow(of: map) { planar, pixel in
            for x in 0..<w {
                for ch in 0..<c {
                    let value = planar[ch * plane + x], i = (pixel + x) * c + ch
                    if type == .fp32 { f32[i] = value } else { b16[i] = BFloat16Conversion.round(value) }
                }
            }
        }
    }

    /// This activation as an NCHW fp32 tensor.
    public func tensor() -> Tensor {
        let result = Tensor(shape: [n, c, h, w])
        accumulate(into: result.map)
        return result
    }

    /// Adds this activation into an NCHW feature map of the same shape.
    public func accumulate(into map: FeatureMap) {
        let (c, w, plane, type) = (self.c, self.w, map.planeSize, self.type)
        let (f32, b16) = (raw.assumingMemoryBound(to: Float.self), raw.assumingMemoryBound(to: UInt16.self))
        forEachRow(of: map) { planar, pixel in
            for x in 0..<w {
                for ch in 0..<c {
                    let i = (pixel + x) * c + ch
                    planar[ch * plane + x] += type == .fp32 ? f32[i] : BFloat16Conversion.widen(b16[i])
                }
            }
        }
    }

    /// Calls `body(planar, pixel)` for every image row, in parallel: the row's start in `map` (channel 0; channel
    /// ch is `ch * planeSize` further) and the index of its first pixel here.
    private func forEachRow(of map: FeatureMap, _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        precondition(map.n == n && map.c == c && map.h == h && map.w == w, "NCHW map and activation shapes differ")
        Parallel.rows(n * h) { row in body(map.sample(row / h) + (row % h) * w, row * w) }
    }
}

/// What a primitive's memory descriptor depends on, for caching primitives per shape.
struct MemoryDescriptorKey: Hashable {
    let n: Int, h: Int, w: Int, c: Int
    let type: ElementType
}

/// fp32 <-> bf16 by bit patterns: bf16 is the upper half of an fp32, rounded to nearest even.
enum BFloat16Conversion {
    @inline(__always)
    static func round(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    @inline(__always)
    static func widen(_ value: UInt16) -> Float { Float(bitPattern: UInt32(value) << 16) }
}

/// Layout operations on channels-last activations, with their backward passes where training needs them.
public enum ChannelsLast {
    /// Copies channels `from.lowerBound...` of `source` into channels starting at `at` of `target`, pixel by
    /// pixel (same pixels and type): how the dense blocks build each convolution's concatenated input.
    public static func copyChannels(_ source: Activation, _ from: Range<Int>, into target: Activation, at: Int) {
        precondition(source.pixels == target.pixels && source.type == target.type, "channel copy between different shapes")
        precondition(from.upperBound <= source.c && at + from.count <= target.c, "channel copy out of range")
        let size = source.type.size
        let (sc, tc, count) = (source.c * size, target.c * size, from.count * size)
        let (sourceOffset, targetOffset) = (from.lowerBound * size, at * size)
        Parallel.rows(source.pixels / 64 + 1) { block in
            let start = block * 64, end = min(source.pixels, start + 64)
            guard start < end else { return }
            for p in start..<end {
                (target.raw + p * tc + targetOffset).copyMemory(from: source.raw + p * sc + sourceOffset, byteCount: count)
            }
        }
    }

    /// `target[:, at + j] += source[:, j]` for every channel j of `source` (fp32).
    public static func addChannels(_ source: Activation, into target: Activation, at: Int) {
        precondition(source.pixels == target.pixels && at + source.c <= target.c, "channel add out of range")
        let (s, t, sc, tc) = (source.floats, target.floats, source.c, target.c)
        Parallel.rows(source.pixels / 64 + 1) { block in
            let start = block * 64, end = min(source.pixels, start + 64)
            guard start < end else { return }
            for p in start..<end {
                let from = s + p * sc, to = t + p * tc + at
                for j in 0..<sc { to[j] += from[j] }
            }
        }
    }

    /// Channels `range` of `grad` as a new dense activation, each element multiplied by `slope` where the
    /// same element of `output` (a LeakyReLU's output, whose sign is its input's) is negative.
    public static func leakyReLUGradient(_ grad: Activation, output: Activation, channels range: Range<Int>, slope: Float = 0.2) -> Activation {
        precondition(grad.pixels == output.pixels && grad.c == output.c, "LeakyReLU gradient shape")
        let result = Activation(n: grad.n, h: grad.h, w: grad.w, c: range.count, zeroed: false)
        let (g, y, r, stride, count) = (grad.floats, output.floats, result.floats, grad.c, range.count)
        Parallel.rows(grad.pixels / 64 + 1) { block in
            let start = block * 64, end = min(grad.pixels, start + 64)
            guard start < end else { return }
            for p in start..<end {
                let gp = g + p * stride + range.lowerBound, yp = y + p * stride + range.lowerBound, rp = r + p * count
                for j in 0..<count { rp[j] = yp[j] < 0 ? gp[j] * slope : gp[j] }
            }
        }
        return result
    }

    /// A dense copy of channels `range` (any type).
    public static func slice(_ source: Activation, _ range: Range<Int>) -> Activation {
        let result = source.emptyLike(channels: range.count)
        copyChannels(source, range, into: result, at: 0)
        return result
    }

    /// `x * scale` as a new fp32 activation.
    public static func scaled(_ x: Activation, _ scale: Float) -> Activation {
        let result = x.emptyLike()
        let (s, t) = (x.floats, result.floats)
        for i in 0..<x.count { t[i] = s[i] * scale }
        return result
    }

    /// `target += source` (fp32, same shape).
    public static func add(_ source: Activation, into target: Activation) {
        precondition(source.count == target.count, "add shape")
        let (s, t) = (source.floats, target.floats)
        for i in 0..<source.count { t[i] += s[i] }
    }

    /// Nearest-neighbour x2 upsampling (each pixel repeated in a 2x2 block), any type.
    public static func upsampleNearest2x(_ x: Activation) -> Activation {
        let y = Activation(n: x.n, h: 2 * x.h, w: 2 * x.w, c: x.c, type: x.type, zeroed: false)
        let pixelBytes = x.c * x.type.size
        Parallel.rows(x.n * x.h) { row in
            let source = x.raw + row * x.w * pixelBytes
            let top = y.raw + 2 * row * y.w * pixelBytes, bottom = top + y.w * pixelBytes
            for i in 0..<x.w {
                (top + 2 * i * pixelBytes).copyMemory(from: source + i * pixelBytes, byteCount: pixelBytes)
                (top + (2 * i + 1) * pixelBytes).copyMemory(from: source + i * pixelBytes, byteCount: pixelBytes)
            }
            bottom.copyMemory(from: top, byteCount: y.w * pixelBytes)
        }
        return y
    }

    /// Backward of `upsampleNearest2x`: each pixel gets the sum of its 2x2 block (fp32).
    public static func upsampleNearest2xBackward(_ grad: Activation) -> Activation {
        let result = Activation(n: grad.n, h: grad.h / 2, w: grad.w / 2, c: grad.c, zeroed: false)
        let (c, w2, w) = (grad.c, grad.w, grad.w / 2)
        Parallel.rows(result.n * result.h) { row in
            let top = grad.floats + 2 * row * w2 * c, bottom = top + w2 * c
            let target = result.floats + row * w * c
            for i in 0..<w {
                let t = target + i * c, a = top + 2 * i * c, b = bottom + 2 * i * c
                for j in 0..<c { t[j] = a[j] + a[c + j] + b[j] + b[c + j] }
            }
        }
        return result
    }

    /// PyTorch's `F.pixel_unshuffle` of an NCHW tensor by `r`, written channels last in `type`: output channel
    /// ch*r*r + i*r + j of pixel (y, x) is input channel ch at (r*y + i, r*x + j).
    public static func pixelUnshuffle(_ x: Tensor, _ r: Int, type: ElementType) -> Activation {
        let (n, c, h, w) = x.nchw
        precondition(h % r == 0 && w % r == 0, "pixel unshuffle by \(r) needs sizes divisible by \(r), got \(h)x\(w)")
        let result = Activation(n: n, h: h / r, w: w / r, c: c * r * r, type: type, zeroed: false)
        let (oh, ow, oc) = (h / r, w / r, c * r * r)
        Parallel.rows(n * oh) { row in
            let sample = row / oh, y = row % oh
            for xo in 0..<ow {
                let pixel = (row * ow + xo) * oc
                for ch in 0..<c {
                    for i in 0..<r {
                        let source = x.data + ((sample * c + ch) * h + y * r + i) * w + xo * r
                        for j in 0..<r {
                            let value = source[j], index = pixel + ch * r * r + i * r + j
                            if type == .fp32 { result.floats[index] = value } else { result.bf16[index] = BFloat16Conversion.round(value) }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Backward of `pixelUnshuffle` (fp32): the NCHW gradient of its input.
    public static func pixelUnshuffleBackward(_ grad: Activation, _ r: Int) -> Tensor {
        let c = grad.c / (r * r)
        let (h, w) = (grad.h * r, grad.w * r)
        let result = Tensor(shape: [grad.n, c, h, w])
        Parallel.rows(grad.n * grad.h) { row in
            let sample = row / grad.h, y = row % grad.h
            for xo in 0..<grad.w {
                let pixel = grad.floats + (row * grad.w + xo) * grad.c
                for ch in 0..<c {
                    for i in 0..<r {
                        let target = result.data + ((sample * c + ch) * h + y * r + i) * w + xo * r
                        for j in 0..<r { target[j] = pixel[ch * r * r + i * r + j] }
                    }
                }
            }
        }
        return result
    }
}
