import Engine
import Foundation

/// Gd, the degradation network: three linear convolutions without activation, then the fixed bicubic
/// downsampling layer. Each conv is ONE k x k kernel applied alike to R, G and B (the degradation model has a
/// single blur kernel; a colour-mixing Gd was measured to learn colour shifts that Gr then bakes into every
/// output), parametrised as k = w / sum(w) so that it always sums to 1, with reflect padding so borders are
/// not darkened. Kernel sizes: 3, 7, 9 at x2 and 9, 15, 17 at x4; each starts as an isotropic Gaussian (sigma 1).
///
/// Parameter names `conv1.weight` ... `conv3.weight`, shape 1 x 1 x k x k (the raw w). Layout: N x C x H x W
/// in (H, W divisible by the scale), N x C x H/s x W/s out.
public final class DegradationNet: ParameterContainer {
    public let kernels: [Parameter]
    public let scale: Int
    public let downsample: BicubicResize
    private var saved: [Tensor] = []

    /// Kernel sizes the paper uses for a scale.
    public static func kernelSizes(scale: Int) -> [Int] { scale >= 4 ? [9, 15, 17] : [3, 7, 9] }

    public init(scale: Int, sigma: Double = 1) {
        self.scale = scale
        downsample = BicubicResize(factor: scale, direction: .down)
        kernels = DegradationNet.kernelSizes(scale: scale).map { size in
            let w = Tensor(shape: [1, 1, size, size])
            let centre = Double(size - 1) / 2
            for y in 0..<size {
                for x in 0..<size {
                    let d2 = (Double(y) - centre) * (Double(y) - centre) + (Double(x) - centre) * (Double(x) - centre)
                    w[y * size + x] = Float(exp(-d2 / (2 * sigma * sigma)))
                }
            }
            let total = Float(w.sum())
            for i in 0..<w.count { w[i] /= total }
            return Parameter(w)
        }
    }

    public func namedParameters() -> [(String, Parameter)] { kernels.enumerated().map { ("conv\($0.offset + 1).weight", $0.element) } }

    /// The normalised kernel k = w / sum(w) of layer `i`.
    public func normalisedKernel(_ i: Int) -> [Float] {
        let w = kernels[i].value
        let total = Float(w.sum())
        return w.values.map { $0 / total }
    }

    /// Gd without the downsampling: the composite blur of all three layers applied to `x` (same size).
    public func blur(_ x: Tensor, saving: Bool = false) -> Tensor {
        var current = x
        saved = []
        for i in kernels.indices {
            if saving { saved.append(current) }
            current = SharedKernel.convolve(current, kernel: normalisedKernel(i), size: kernels[i].value.shape[3])
        }
        return current
    }

    /// Full Gd: blur, then bicubic downsampling by the scale.
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, saving: false) }

    public func forward(_ x: Tensor, saving: Bool) -> Tensor { downsample(blur(x, saving: saving)) }

    /// Backward from the gradient of Gd's output: accumulates the kernels' gradients (through the sum-to-1
    /// normalisation) and returns the input gradient when asked.
    @discardableResult
    public func backward(_ gradOutput: Tensor, needInputGrad: Bool = false) -> Tensor? {
        precondition(saved.count == kernels.count, "backward without a saving forward pass")
        let (_, _, h, w) = saved[0].nchw
        var grad = downsample.backward(gradOutput, inputHeight: h, inputWidth: w)
        for i in kernels.indices.reversed() {
            let size = kernels[i].value.shape[3]
            let k = normalisedKernel(i)
            let needInput = i > 0 || needInputGrad
            let (gradKernel, gradInput) = SharedKernel.backward(input: saved[i], kernel: k, size: size, gradOutput: grad,
                                                                needInputGrad: needInput)
            if kernels[i].requiresGrad {
                // d k_j / d w_i = (delta_ij - k_j) / S: the gradient with respect to w is (g_i - <g, k>) / S.
                let total = Float(kernels[i].value.sum())
                let dot = zip(gradKernel, k).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let target = kernels[i].gradient()
                for j in 0..<k.count { target[j] += (gradKernel[j] - dot) / total }
            }
            if let gradInput { grad = gradInput }
        }
        saved = []
        return needInputGrad ? grad : nil
    }

    /// Rescales every raw kernel to sum 1 (the effective kernel does not change); call after optimiser steps
    /// so that w stays well conditioned.
    public func renormalise() {
        for kernel in kernels {
            let total = Float(kernel.value.sum())
            for i in 0..<kernel.value.count { kernel.value[i] /= total }
        }
    }

    /// The whole blur Gd applies before keeping every s-th pixel: the three layers composed with the bicubic
    /// layer's antialiasing filter (Keys' cubic stretched by s). This is what compares with a true kernel
    /// that is applied before plain subsampling: LR(y, x) = Σ k[p, q] · HR(s·y + p − c, s·x + q − c) with
    /// c = `generationCentre`, away from the borders (checked against Gd's forward pass in the tests).
    public func generationKernel() -> (size: Int, values: [Float]) {
        let (size, blurTaps) = effectiveKernel()
        let s = Double(scale)
        // Tap t reads the input s·y + t − (2s − 1); imresize centres output y on input s·y + (s − 1) / 2.
        // 4s + 1 taps: the filter's support (4s wide) covers 4s + 1 integer positions when its centre is
        // half-integral (x4); at x2 the last tap is 0.
        let filter = (0...(4 * scale)).map { t -> Double in
            let x = abs((Double(t - (2 * scale - 1)) - (s - 1) / 2) / s)
            return x <= 1 ? 1.5 * x * x * x - 2.5 * x * x + 1 : (x < 2 ? -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2 : 0)
        }
        let total = filter.reduce(0, +)
        let taps = filter.map { Float($0 / total) }
        let (out, result) = BlurKernel.convolveSeparable(blurTaps, size: size, with: taps)
        // The impulse response is the kernel mirrored: the layers correlate, and so does the formula above.
        return (out, result.reversed())
    }

    /// The offset c of `generationKernel`: with e the size of the three layers composed and the filter symmetric
    /// about s·y + (s − 1) / 2, tap t of which reads B(s·y + t − (2s − 1)), c = e / 2 + s + 2.
    public var generationCentre: Int {
        kernels.reduce(1) { $0 + $1.value.shape[3] - 1 } / 2 + scale + 2
    }

    /// The effective blur kernel (the three layers composed), `size` x `size`, by blurring an impulse.
    public func effectiveKernel() -> (size: Int, values: [Float]) {
        let size = kernels.reduce(1) { $0 + $1.value.shape[3] - 1 }
        let padded = size + 2 * size
        let impulse = Tensor(shape: [1, 1, padded, padded])
        impulse[(padded / 2) * padded + padded / 2] = 1
        let response = blur(impulse)
        let offset = padded / 2 - size / 2
        var values = [Float]()
        for y in 0..<size { for x in 0..<size { values.append(response[(offset + y) * padded + offset + x]) } }
        return (size, values)
    }
}

/// One k x k kernel applied to every channel of every sample, with reflect padding ("same" size).
enum SharedKernel {
    static func convolve(_ x: Tensor, kernel: [Float], size: Int) -> Tensor {
        let (n, c, h, w) = x.nchw
        let pad = size / 2
        precondition(pad < h && pad < w, "reflect padding \(pad) needs images larger than \(h)x\(w)")
        let y = Tensor(shape: x.shape)
        let (ph, pw) = (h + 2 * pad, w + 2 * pad)
        Parallel.rows(n * c) { plane in
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: ph * pw)
            defer { padded.deallocate() }
            reflectPad(x.data + plane * h * w, h: h, w: w, pad: pad, into: padded)
            let out = y.data + plane * h * w
            for row in 0..<h {
                let target = out + row * w
                target.update(repeating: 0, count: w)
                for ky in 0..<size {
                    let source = padded + (row + ky) * pw
                    for kx in 0..<size {
                        let weight = kernel[ky * size + kx]
                        let s = source + kx
                        for col in 0..<w { target[col] += weight * s[col] }
                    }
                }
            }
        }
        return y
    }

    /// Gradients of `convolve` with respect to the kernel (summed over all planes) and the input.
    static func backward(input: Tensor, kernel: [Float], size: Int, gradOutput: Tensor, needInputGrad: Bool) -> ([Float], Tensor?) {
        let (n, c, h, w) = input.nchw
        let pad = size / 2
        let (ph, pw) = (h + 2 * pad, w + 2 * pad)
        let planes = n * c
        var perPlane = [[Float]](repeating: [], count: planes)
        let gradInput: Tensor? = needInputGrad ? Tensor(shape: input.shape) : nil
        perPlane.withUnsafeMutableBufferPointer { results in
            Parallel.rows(planes) { plane in
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: ph * pw)
                let gradPadded = UnsafeMutablePointer<Float>.allocate(capacity: ph * pw)
                defer { padded.deallocate(); gradPadded.deallocate() }
                reflectPad(input.data + plane * h * w, h: h, w: w, pad: pad, into: padded)
                gradPadded.update(repeating: 0, count: ph * pw)
                var gradKernel = [Float](repeating: 0, count: size * size)
                let g = gradOutput.data + plane * h * w
                for ky in 0..<size {
                    for kx in 0..<size {
                        var total: Float = 0
                        let weight = kernel[ky * size + kx]
                        for row in 0..<h {
                            let source = padded + (row + ky) * pw + kx
                            let gradRow = g + row * w
                            let back = gradPadded + (row + ky) * pw + kx
                            for col in 0..<w {
                                total += gradRow[col] * source[col]
                                back[col] += weight * gradRow[col]
                            }
                        }
                        gradKernel[ky * size + kx] = total
                    }
                }
                results[plane] = gradKernel
                if let gradInput { foldReflectPad(gradPadded, h: h, w: w, pad: pad, into: gradInput.data + plane * h * w) }
            }
        }
        var gradKernel = [Float](repeating: 0, count: size * size)
        for plane in perPlane { for i in 0..<gradKernel.count { gradKernel[i] += plane[i] } }
        return (gradKernel, gradInput)
    }

    /// PyTorch's "reflect" padding: index -1 reads 1, index h reads h - 2.
    static func reflectIndex(_ i: Int, _ size: Int) -> Int {
        var j = i
        if j < 0 { j = -j }
        if j >= size { j = 2 * size - 2 - j }
        return j
    }

    static func reflectPad(_ source: UnsafePointer<Float>, h: Int, w: Int, pad: Int, into target: UnsafeMutablePointer<Float>) {
        let pw = w + 2 * pad
        for y in 0..<(h + 2 * pad) {
            let row = source + reflectIndex(y - pad, h) * w
            let out = target + y * pw
            for x in 0..<pw { out[x] = row[reflectIndex(x - pad, w)] }
        }
    }

    /// The transpose of `reflectPad`: each padded position's gradient goes back to the pixel it copied.
    static func foldReflectPad(_ padded: UnsafePointer<Float>, h: Int, w: Int, pad: Int, into target: UnsafeMutablePointer<Float>) {
        let pw = w + 2 * pad
        for y in 0..<(h + 2 * pad) {
            let row = target + reflectIndex(y - pad, h) * w
            let source = padded + y * pw
            for x in 0..<pw { row[reflectIndex(x - pad, w)] += source[x] }
        }
    }
}

extension DegradationNet {
    /// Gd's whole degradation (its convs and the bicubic layer's filter) as one explicit kernel applied before
    /// plain s-fold subsampling (`Degrade.blurSubsample`): the fitted kernel that the spectral shape resizes,
    /// kernel comparisons score, and reports show.
    public func subsamplingKernel() -> BlurKernel {
        let generation = generationKernel()
        // generationKernel's taps read HR s·y + p − c; blurSubsample's read s·y + p' − r with r = size / 2:
        // tap p goes to p' = p − c + r, with r large enough for both ends.
        let c = generationCentre
        let r = max(c, generation.size - 1 - c)
        let size = 2 * r + 1
        var taps = [Float](repeating: 0, count: size * size)
        for y in 0..<generation.size {
            for x in 0..<generation.size { taps[(y - c + r) * size + x - c + r] = generation.values[y * generation.size + x] }
        }
        return BlurKernel(size: size, taps: taps)
    }
}

extension DegradationNet {
    /// Starts Gd at a Gaussian blur of covariance `sigma` (HR pixels², as `BlurKernel.gaussian` takes it):
    /// the three layers get Gaussians whose covariances add up to it, shared in proportion to each layer's
    /// squared half-width, and the sum is corrected a few times for what the small layers truncate and the bicubic
    /// filter adds, so that the whole degradation (`subsamplingKernel`) comes out with about that covariance.
    /// A zero covariance leaves the bicubic downsampling alone (every layer a unit impulse).
    public func start(at sigma: (yy: Double, yx: Double, xx: Double)) {
        let sizes = kernels.map { $0.value.shape[3] }
        let weights = sizes.map { Double(($0 / 2) * ($0 / 2)) }
        let total = weights.reduce(0, +)
        func set(_ wanted: (yy: Double, yx: Double, xx: Double)) {
            for (layer, size) in sizes.enumerated() {
                let share = weights[layer] / total
                let taps = DegradationNet.gaussianTaps(size: size, yy: wanted.yy * share, yx: wanted.yx * share, xx: wanted.xx * share)
                for i in 0..<taps.count { kernels[layer].value[i] = taps[i] }
            }
        }
        let base: (yy: Double, yx: Double, xx: Double) = {
            set((0, 0, 0))
            return KernelComparison.covariance(subsamplingKernel())
        }()
        guard sigma.yy + sigma.xx > 0 else { return }
        var wanted = (yy: max(sigma.yy - base.yy, 0), yx: sigma.yx, xx: max(sigma.xx - base.xx, 0))
        for _ in 0..<8 {
            set(wanted)
            let got = KernelComparison.covariance(subsamplingKernel())
            wanted = (max(wanted.yy + sigma.yy - got.yy, 0.01), wanted.yx + sigma.yx - got.yx, max(wanted.xx + sigma.xx - got.xx, 0.01))
            let limit = 0.95 * (wanted.yy * wanted.xx).squareRoot()
            wanted.yx = min(max(wanted.yx, -limit), limit)
        }
        set(wanted)
    }

    /// A `size` x `size` Gaussian of covariance (yy, yx, xx) about the centre tap, normalised; a unit impulse
    /// where the covariance is too small to sample.
    static func gaussianTaps(size: Int, yy: Double, yx: Double, xx: Double) -> [Float] {
        var taps = [Float](repeating: 0, count: size * size)
        let det = yy * xx - yx * yx
        guard min(yy, xx) > 1e-3, det > 1e-6 else {
            taps[(size / 2) * size + size / 2] = 1
            return taps
        }
        let c = size / 2
        for y in 0..<size {
            for x in 0..<size {
                let (dy, dx) = (Double(y - c), Double(x - c))
                taps[y * size + x] = Float(exp(-0.5 * (xx * dy * dy - 2 * yx * dy * dx + yy * dx * dx) / det))
            }
        }
        let sum = taps.reduce(0, +)
        return taps.map { $0 / sum }
    }
}
