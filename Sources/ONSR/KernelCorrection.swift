import Engine
import Foundation

/// Turns a fitted Gd into the explicit kernel of `Degrade.blurSubsample`, widened by Gr's residual blur.
public enum KernelCorrection {
    /// Gd's whole degradation (its convs and the bicubic layer's filter) as a kernel applied before plain
    /// s-fold subsampling, composed with an isotropic Gaussian of `variance` (HR pixels²).
    public static func widened(_ gd: DegradationNet, variance: Float) -> BlurKernel {
        let generation = gd.generationKernel()
        // generationKernel's taps read HR s·y + p − c; blurSubsample's read s·y + p' − r with r = size / 2:
        // tap p goes to p' = p − c + r, with r large enough for both ends.
        let c = gd.generationCentre
        let r = max(c, generation.size - 1 - c)
        let size = 2 * r + 1
        var taps = [Float](repeating: 0, count: size * size)
        for y in 0..<generation.size {
            for x in 0..<generation.size { taps[(y - c + r) * size + x - c + r] = generation.values[y * generation.size + x] }
        }
        return compose(BlurKernel(size: size, taps: taps), gaussianVariance: variance)
    }

    /// Full 2-D convolution of a kernel with a normalised isotropic Gaussian; the result keeps the kernel's
    /// centre (size grows by twice the Gaussian's radius) and sums to 1.
    public static func compose(_ kernel: BlurKernel, gaussianVariance variance: Float) -> BlurKernel {
        guard variance > 0 else { return kernel }
        let radius = Int((3 * Double(variance).squareRoot()).rounded(.up))
        let width = 2 * radius + 1
        var gaussian = (0..<width).map { i -> Float in
            let d = Float(i - radius)
            return exp(-d * d / (2 * variance))
        }
        let total = gaussian.reduce(0, +)
        gaussian = gaussian.map { $0 / total }
        let (size, taps) = BlurKernel.convolveSeparable(kernel.taps, size: kernel.size, with: gaussian)
        let sum = taps.reduce(0, +)
        return BlurKernel(size: size, taps: taps.map { $0 / sum })
    }
}
