import Foundation

/// Interpolation kernels, as MATLAB's `imresize` defines them.
public enum ResampleKernel: String, Sendable, CaseIterable {
    /// Keys' cubic convolution with a = -0.5 (support 4).
    case bicubic
    /// Lanczos with 3 lobes (support 6).
    case lanczos3

    var support: Double {
        switch self {
        case .bicubic: return 4
        case .lanczos3: return 6
        }
    }

    func weight(_ x: Double) -> Double {
        let ax = abs(x)
        switch self {
        case .bicubic:
            if ax <= 1 { return 1.5 * ax * ax * ax - 2.5 * ax * ax + 1 }
            if ax < 2 { return -0.5 * ax * ax * ax + 2.5 * ax * ax - 4 * ax + 2 }
            return 0
        case .lanczos3:
            if ax < 1e-12 { return 1 }
            if ax >= 3 { return 0 }
            let px = Double.pi * x
            return 3 * sin(px) * sin(px / 3) / (px * px)
        }
    }
}

/// The contributions of input samples to each output sample along one axis: a sparse matrix with a fixed
/// number of taps per output row. Out-of-range taps are folded back symmetrically, as `imresize` does.
public struct AxisResampling: Sendable, Equatable {
    public let inputSize: Int
    public let outputSize: Int
    public let taps: Int
    /// `indices[o * taps + t]`: the input sample of tap t of output o.
    public let indices: [Int32]
    /// `weights[o * taps + t]`: its weight; each output's weights sum to 1.
    public let weights: [Float]

    /// Resampling from `inputSize` to `outputSize` samples; when shrinking and `antialias` is set the
    /// kernel is widened by the scale, which makes it a low-pass filter as in `imresize`.
    public init(inputSize: Int, outputSize: Int, kernel: ResampleKernel, antialias: Bool = true) {
        precondition(inputSize > 0 && outputSize > 0, "sizes must be positive")
        let scale = Double(outputSize) / Double(inputSize)
        let stretch = (scale < 1 && antialias) ? scale : 1
        let width = kernel.support / stretch
        let span = Int(ceil(width)) + 2
        var rows: [(first: Int, weights: [Double])] = []
        rows.reserveCapacity(outputSize)
        for o in 0..<outputSize {
            // Centre of output sample o in input coordinates (pixel centres at i + 0.5).
            let centre = (Double(o) + 0.5) / scale - 0.5
            let first = Int(floor(centre - width / 2))
            var row = (0..<span).map { stretch * kernel.weight(stretch * (centre - Double(first + $0))) }
            let total = row.reduce(0, +)
            row = row.map { $0 / total }
            // Taps that are exactly zero everywhere do no work: keep only the span that carries weight.
            let lead = row.firstIndex { $0 != 0 } ?? 0
            let tail = (row.lastIndex { $0 != 0 } ?? span - 1)
            rows.append((first + lead, Array(row[lead...tail])))
        }
        let taps = rows.map(\.weights.count).max() ?? 1
        var indices = [Int32](repeating: 0, count: outputSize * taps)
        var weights = [Float](repeating: 0, count: outputSize * taps)
        for (o, row) in rows.enumerated() {
            for t in 0..<taps {
                indices[o * taps + t] = Int32(AxisResampling.reflect(row.first + min(t, row.weights.count - 1), size: inputSize))
                weights[o * taps + t] = t < row.weights.count ? Float(row.weights[t]) : 0
            }
        }
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.taps = taps
        self.indices = indices
        self.weights = weights
    }

    /// Symmetric padding: -1 maps to 0, size maps to size - 1.
    static func reflect(_ index: Int, size: Int) -> Int {
        guard size > 1 else { return 0 }
        let period = 2 * size
        var i = index % period
        if i < 0 { i += period }
        return i < size ? i : period - 1 - i
    }
}

/// Separable resampling of planar images (`channels` planes of `height` x `width`, row-major).
public struct Resampler: Sendable {
    public let horizontal: AxisResampling
    public let vertical: AxisResampling

    public init(horizontal: AxisResampling, vertical: AxisResampling) {
        self.horizontal = horizontal
        self.vertical = vertical
    }

    public init(inputWidth: Int, inputHeight: Int, outputWidth: Int, outputHeight: Int,
                kernel: ResampleKernel, antialias: Bool = true) {
        horizontal = AxisResampling(inputSize: inputWidth, outputSize: outputWidth, kernel: kernel, antialias: antialias)
        vertical = AxisResampling(inputSize: inputHeight, outputSize: outputHeight, kernel: kernel, antialias: antialias)
    }

    /// Resamples `channels` planes; the input holds `channels * inputHeight * inputWidth` samples.
    public func apply(_ input: [Float], channels: Int) -> [Float] {
        let (inW, inH, outW, outH) = (horizontal.inputSize, vertical.inputSize, horizontal.outputSize, vertical.outputSize)
        precondition(input.count == channels * inW * inH, "expected \(channels * inW * inH) samples, got \(input.count)")
        // Every sample of both buffers is written below, so they skip zero-filling.
        var middle = [Float](unsafeUninitializedCapacity: channels * inH * outW) { _, count in count = channels * inH * outW }
        var output = [Float](unsafeUninitializedCapacity: channels * outH * outW) { _, count in count = channels * outH * outW }
        input.withUnsafeBufferPointer { source in
            middle.withUnsafeMutableBufferPointer { target in
                let src = source.baseAddress!, dst = target.baseAddress!
                Parallel.rows(channels * inH) { row in
                    Resampler.horizontalRow(src + row * inW, into: dst + row * outW, axis: horizontal)
                }
            }
        }
        middle.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                let src = source.baseAddress!, dst = target.baseAddress!
                Parallel.rows(channels * outH) { row in
                    let channel = row / outH, y = row % outH
                    Resampler.verticalRow(src + channel * inH * outW, width: outW, y: y, axis: vertical, into: dst + row * outW)
                }
            }
        }
        return output
    }

    @inline(__always)
    static func horizontalRow(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, axis: AxisResampling) {
        let taps = axis.taps
        axis.indices.withUnsafeBufferPointer { indices in
            axis.weights.withUnsafeBufferPointer { weights in
                for o in 0..<axis.outputSize {
                    let base = o * taps
                    let first = Int(indices[base])
                    // Away from the borders the taps are consecutive samples: plain loads, unrolled for 4 taps.
                    if taps == 4 && Int(indices[base + 3]) == first + 3 {
                        let p = input + first
                        output[o] = weights[base] * p[0] + weights[base + 1] * p[1] + weights[base + 2] * p[2] + weights[base + 3] * p[3]
                        continue
                    }
                    var sum: Float = 0
                    for t in 0..<taps { sum += weights[base + t] * input[Int(indices[base + t])] }
                    output[o] = sum
                }
            }
        }
    }

    @inline(__always)
    static func verticalRow(_ plane: UnsafePointer<Float>, width: Int, y: Int, axis: AxisResampling,
                            into output: UnsafeMutablePointer<Float>) {
        let taps = axis.taps
        let first = plane + Int(axis.indices[y * taps]) * width
        let firstWeight = axis.weights[y * taps]
        for x in 0..<width { output[x] = firstWeight * first[x] }
        for t in 1..<taps {
            let weight = axis.weights[y * taps + t]
            if weight == 0 { continue }
            let row = plane + Int(axis.indices[y * taps + t]) * width
            for x in 0..<width { output[x] += weight * row[x] }
        }
    }
}
