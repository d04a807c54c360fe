/// A fixed bicubic resampling layer, MATLAB `imresize` by an integer factor: downsampling (antialiased,
/// as a degradation model ends in) or upsampling (the global skip of an RRDBNet with `bicubicSkip`). Either way it is a
/// separable linear map Y = Rv · X · Rhᵀ per channel, and the backward is the transpose.
/// Layout: N x C x H x W in, N x C x H/s x W/s (down) or N x C x sH x sW (up) out.
public final class BicubicResize {
    public enum Direction: Sendable { case down, up }
    public let factor: Int
    public let direction: Direction
    private var cache: (h: Int, w: Int, rows: AxisResampling, cols: AxisResampling)?

    public init(factor: Int, direction: Direction) {
        precondition(factor >= 1, "resampling factor must be at least 1")
        self.factor = factor
        self.direction = direction
    }

    /// The output side for an input side.
    public func outputSize(_ size: Int) -> Int { direction == .down ? size / factor : size * factor }

    private func axes(h: Int, w: Int) -> (AxisResampling, AxisResampling) {
        precondition(direction == .up || (h % factor == 0 && w % factor == 0),
                     "bicubic /\(factor) needs sizes divisible by \(factor), got \(h)x\(w)")
        if let cache, cache.h == h, cache.w == w { return (cache.rows, cache.cols) }
        let rows = AxisResampling(inputSize: h, outputSize: outputSize(h), kernel: .bicubic)
        let cols = AxisResampling(inputSize: w, outputSize: outputSize(w), kernel: .bicubic)
        cache = (h, w, rows, cols)
        return (rows, cols)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw
        let (rows, cols) = axes(h: h, w: w)
        let resampler = Resampler(horizontal: cols, vertical: rows)
        return Tensor(shape: [n, c, rows.outputSize, cols.outputSize], values: resampler.apply(x.values, channels: n * c))
    }

    /// The input gradient: Rvᵀ · G · Rh per channel, scattering each output's gradient onto its taps.
    public func backward(_ grad: Tensor, inputHeight h: Int, inputWidth w: Int) -> Tensor {
        let (n, c, oh, ow) = grad.nchw
        let (rows, cols) = axes(h: h, w: w)
        precondition(oh == rows.outputSize && ow == cols.outputSize, "gradient is \(oh)x\(ow), expected \(rows.outputSize)x\(cols.outputSize)")
        let result = Tensor(shape: [n, c, h, w])
        let middle = Tensor(shape: [oh, w])
        for plane in 0..<(n * c) {
            middle.zero()
            let g = grad.data + plane * oh * ow
            for y in 0..<oh {
                for x in 0..<ow {
                    let value = g[y * ow + x]
                    for t in 0..<cols.taps {
                        middle[y * w + Int(cols.indices[x * cols.taps + t])] += cols.weights[x * cols.taps + t] * value
                    }
                }
            }
            let target = result.data + plane * h * w
            for y in 0..<oh {
                for t in 0..<rows.taps {
                    let weight = rows.weights[y * rows.taps + t]
                    if weight == 0 { continue }
                    let row = target + Int(rows.indices[y * rows.taps + t]) * w
                    for x in 0..<w { row[x] += weight * middle[y * w + x] }
                }
            }
        }
        return result
    }
}
