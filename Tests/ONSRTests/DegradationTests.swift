import Engine
import ONSR
import XCTest

final class DegradationTests: XCTestCase {
    func testKernelsSumToOneAndSitWhereBicubicPutsLRPixels() {
        var rng = SeededRandom(seed: 1)
        for scale in [2, 4] {
            let kernel = BlurKernel.gaussian(scale: scale, lambda1: 1, lambda2: 1, theta: 0, rng: &rng)
            XCTAssertEqual(kernel.size, scale == 2 ? 11 : 23)
            XCTAssertEqual(kernel.taps.reduce(0, +), 1, accuracy: 1e-5)
            var (cx, cy) = (0.0, 0.0)
            for y in 0..<kernel.size { for x in 0..<kernel.size {
                cx += Double(kernel.taps[y * kernel.size + x]) * Double(x)
                cy += Double(kernel.taps[y * kernel.size + x]) * Double(y)
            } }
            // Centre of mass half a pixel per extra scale step off the array centre: LR pixel i <-> HR s*i + (s-1)/2.
            XCTAssertEqual(cx, Double(kernel.size / 2) + Double(scale - 1) / 2, accuracy: 1e-3)
            XCTAssertEqual(cy, cx, accuracy: 1e-3)
        }
        let random = BlurKernel.random(scale: 2, variances: 0.6...5, noise: 0.25, rng: &rng)
        XCTAssertEqual(random.taps.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertTrue(random.taps.allSatisfy { $0 >= 0 })
    }

    func testBlurAndBicubicAgreeOnAlignment() {
        // A smooth ramp degraded both ways lands on the same LR values: same sampling grid.
        let (h, w) = (32, 48)
        var planes = [Float](repeating: 0, count: 3 * h * w)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w { planes[(c * h + y) * w + x] = 0.2 + 0.01 * Float(x) + 0.005 * Float(y) } } }
        var rng = SeededRandom(seed: 2)
        let kernel = BlurKernel.gaussian(scale: 2, lambda1: 0.8, lambda2: 0.8, theta: 0, rng: &rng)
        let blurred = Degrade.blurSubsample(planes, channels: 3, height: h, width: w, kernel: kernel, scale: 2)
        let bicubic = Degrade.bicubic(planes, channels: 3, height: h, width: w, scale: 2)
        for y in 4..<(h / 2 - 4) { for x in 4..<(w / 2 - 4) {
            let expected: Float = 0.2 + 0.01 * Float(2 * x) + 0.01 * 0.5 + 0.005 * (Float(2 * y) + 0.5)
            XCTAssertEqual(blurred[y * w / 2 + x], expected, accuracy: 1e-4)
            XCTAssertEqual(bicubic[y * w / 2 + x], expected, accuracy: 1e-4)
        } }
    }

    func testPSNRAndSSIMOnKnownValues() {
        let (h, w) = (24, 24)
        let a = [Float](repeating: 100 / 255, count: 3 * h * w)
        let b = [Float](repeating: 102 / 255, count: 3 * h * w)
        XCTAssertEqual(Quality.psnrY(a, a, height: h, width: w, shave: 2), 100)
        // Grey g has luma 16 + 219 g: two code values of RGB are 219 * 2 / 255 of luma.
        XCTAssertEqual(Quality.psnrY(a, b, height: h, width: w, shave: 2), 20 * log10(255 / (219 * 2.0 / 255)), accuracy: 1e-6)
        var noisy = a
        var rng = SeededRandom(seed: 3)
        for i in 0..<noisy.count { noisy[i] += 0.05 * (rng.uniform() - 0.5) }
        XCTAssertEqual(Quality.ssimY(a, a, height: h, width: w, shave: 2), 1, accuracy: 1e-9)
        XCTAssertLessThan(Quality.ssimY(a, noisy, height: h, width: w, shave: 2), 0.99)
    }

    func testKernelNCCIgnoresCentringButSeesShape() {
        var rng = SeededRandom(seed: 3)
        let wide = BlurKernel.gaussian(scale: 2, lambda1: 4, lambda2: 1, theta: 0.3, rng: &rng)
        let wideOdd = BlurKernel.gaussian(scale: 1, lambda1: 4, lambda2: 1, theta: 0.3, rng: &rng)
        let narrow = BlurKernel.gaussian(scale: 2, lambda1: 0.6, lambda2: 0.6, theta: 0, rng: &rng)
        let turned = BlurKernel.gaussian(scale: 2, lambda1: 4, lambda2: 1, theta: 0.3 + .pi / 2, rng: &rng)
        XCTAssertEqual(KernelComparison.ncc(wide.taps, size: 11, wide.taps, size: 11), 1, accuracy: 1e-9)
        XCTAssertGreaterThan(KernelComparison.ncc(wide.taps, size: 11, wideOdd.taps, size: 11), 0.99, "half a pixel apart, same shape")
        XCTAssertLessThan(KernelComparison.ncc(wide.taps, size: 11, narrow.taps, size: 11), 0.9)
        XCTAssertLessThan(KernelComparison.ncc(wide.taps, size: 11, turned.taps, size: 11), 0.9)
    }

    func testSecondMomentsAndCentreOfMassOfAKnownGaussian() {
        // Σ = R(θ) diag(λ1, λ2) R(θ)ᵀ in (x, y) coordinates; small variances so the 11x11 array holds the tails.
        var rng = SeededRandom(seed: 4)
        let (l1, l2, theta) = (1.5, 0.5, 0.6)
        let kernel = BlurKernel.gaussian(scale: 2, lambda1: l1, lambda2: l2, theta: theta, rng: &rng)
        let (c, s) = (cos(theta), sin(theta))
        let covariance = KernelComparison.covariance(kernel)
        XCTAssertEqual(covariance.xx, c * c * l1 + s * s * l2, accuracy: 0.02)
        XCTAssertEqual(covariance.yy, s * s * l1 + c * c * l2, accuracy: 0.02)
        XCTAssertEqual(covariance.yx, c * s * (l1 - l2), accuracy: 0.02)
        XCTAssertEqual(KernelComparison.minorEigenvalue(covariance), l2, accuracy: 0.02, "the variance across the kernel's direction")
        for angle in stride(from: 0.0, to: Double.pi, by: 0.3) {
            let (c, s) = (cos(angle), sin(angle))
            let rotated = (yy: 5 * s * s + 0.5 * c * c, yx: 4.5 * s * c, xx: 5 * c * c + 0.5 * s * s)
            XCTAssertEqual(KernelComparison.minorEigenvalue(rotated), 0.5, accuracy: 1e-9, "angle \(angle)")
        }
        let offset = KernelComparison.centroidOffset(kernel)
        XCTAssertEqual(offset.y, 0.5, accuracy: 1e-3)
        XCTAssertEqual(offset.x, 0.5, accuracy: 1e-3)
        // The same Gaussian one pixel to the right, in a larger array: a centroid distance of exactly one pixel.
        var shifted = [Float](repeating: 0, count: 13 * 13)
        for y in 0..<11 { for x in 0..<11 { shifted[(y + 1) * 13 + x + 2] = kernel.taps[y * 11 + x] } }
        XCTAssertEqual(KernelComparison.centroidDistance(BlurKernel(size: 13, taps: shifted), kernel), 1, accuracy: 1e-4)
    }

    func testGenerationKernelIsGdsBlurWithTheBicubicFilterAndSumsToOne() {
        let gd = DegradationNet(scale: 2)
        let (size, taps) = gd.generationKernel()
        XCTAssertEqual(size, 17 + 8)
        XCTAssertEqual(Double(taps.reduce(0, +)), 1, accuracy: 1e-5)
        // Gd applied to an impulse reads its generation kernel back (away from borders): LR(y, x) = k[30 - 2y + c, 31 - 2x + c].
        var image = [Float](repeating: 0, count: 64 * 64)
        image[30 * 64 + 31] = 1
        let lr = gd(Tensor(shape: [1, 1, 64, 64], values: image))
        let c = gd.generationCentre
        XCTAssertEqual(c, 17 / 2 + 2 + 2)
        for (y, x) in [(15, 15), (14, 16), (16, 13), (12, 18)] {
            XCTAssertEqual(lr[y * 32 + x], taps[(30 - 2 * y + c) * size + 31 - 2 * x + c], accuracy: 1e-5, "LR (\(y), \(x))")
        }
    }
}

