import Engine
import ONSR
import Pipeline
import XCTest

/// Gd as one explicit kernel for plain subsampling.
final class SubsamplingKernelTests: XCTestCase {
    /// A Gd with lopsided kernels, so that a wrong centre or a transposed kernel would show.
    private func lopsidedGd(scale: Int) -> DegradationNet {
        let gd = DegradationNet(scale: scale)
        var rng = SeededRandom(seed: 60)
        for kernel in gd.kernels {
            for i in 0..<kernel.value.count { kernel.value[i] *= Float(rng.uniform(0.2, 1.8)) }
            kernel.value[0] += 0.3
        }
        gd.renormalise()
        return gd
    }

    func testSubsamplingKernelReproducesGd() {
        for scale in [2, 4] {
            let gd = lopsidedGd(scale: scale)
            let (h, w) = (48 * scale, 40 * scale)
            var rng = SeededRandom(seed: 61)
            let x = Tensor(shape: [1, 3, h, w])
            for i in 0..<x.count { x[i] = rng.uniform() }
            let expected = gd(x)
            let kernel = gd.subsamplingKernel()
            let planes = Array(UnsafeBufferPointer(start: x.data, count: x.count))
            let got = Degrade.blurSubsample(planes, channels: 3, height: h, width: w, kernel: kernel, scale: scale)
            // Away from the borders, where both pad their own way.
            let margin = (kernel.size / 2 + 4 * scale) / scale + 1
            var worst: Float = 0
            for c in 0..<3 {
                for y in margin..<(h / scale - margin) {
                    for x in margin..<(w / scale - margin) {
                        let i = (c * (h / scale) + y) * (w / scale) + x
                        worst = max(worst, abs(got[i] - expected[i]))
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-4, "x\(scale)")
        }
    }

    /// Second moments of a kernel about its centre of mass: variances add under convolution.
    private func variances(_ kernel: BlurKernel) -> (xx: Double, yy: Double, xy: Double) {
        var (sum, mx, my) = (0.0, 0.0, 0.0)
        for y in 0..<kernel.size { for x in 0..<kernel.size {
            let v = Double(kernel.taps[y * kernel.size + x]); sum += v; mx += v * Double(x); my += v * Double(y)
        } }
        (mx, my) = (mx / sum, my / sum)
        var (xx, yy, xy) = (0.0, 0.0, 0.0)
        for y in 0..<kernel.size { for x in 0..<kernel.size {
            let v = Double(kernel.taps[y * kernel.size + x]) / sum
            xx += v * (Double(x) - mx) * (Double(x) - mx); yy += v * (Double(y) - my) * (Double(y) - my)
            xy += v * (Double(x) - mx) * (Double(y) - my)
        } }
        return (xx, yy, xy)
    }

    /// Gd started at a covariance degrades with about that covariance as a whole (bicubic filter included), at
    /// sizes within the wide range, elongated and turned; a zero covariance leaves unit impulses.
    func testGdStartsAtTheGivenCovariance() {
        for (scale, sigma) in [(2, (yy: 1.0, yx: 0.0, xx: 1.0)), (2, (yy: 4.0, yx: 2.0, xx: 2.5)), (2, (yy: 0.6, yx: -0.2, xx: 8.0)),
                               (4, (yy: 6.0, yx: 3.0, xx: 9.0))] {
            let gd = DegradationNet(scale: scale)
            gd.start(at: sigma)
            for i in 0..<3 { XCTAssertEqual(gd.normalisedKernel(i).reduce(0, +), 1, accuracy: 1e-5) }
            let got = KernelComparison.covariance(gd.subsamplingKernel())
            let size = sigma.yy + sigma.xx
            XCTAssertEqual(got.yy, sigma.yy, accuracy: 0.05 * size, "x\(scale) \(sigma)")
            XCTAssertEqual(got.yx, sigma.yx, accuracy: 0.05 * size, "x\(scale) \(sigma)")
            XCTAssertEqual(got.xx, sigma.xx, accuracy: 0.05 * size, "x\(scale) \(sigma)")
        }
        let sharp = DegradationNet(scale: 2)
        sharp.start(at: (0, 0, 0))
        for i in 0..<3 { XCTAssertEqual(sharp.normalisedKernel(i).max(), 1) }
    }
}
