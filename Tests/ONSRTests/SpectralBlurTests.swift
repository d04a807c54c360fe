import Engine
import Foundation
import ONSR
import XCTest

final class SpectralBlurTests: XCTestCase {
    /// numpy's FFT and least squares on the same luma (`scripts/make-spectral-fixture.py`).
    func testCovarianceMatchesTheNumpyReference() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "spectral_blur", withExtension: "safetensors", subdirectory: "Fixtures"))
        let (tensors, _) = try SafeTensors.read(path: url.path)
        let luma = try XCTUnwrap(tensors["luma"]), expected = try XCTUnwrap(tensors["covariance"])
        let (h, w) = (luma.shape[0], luma.shape[1])
        let estimate = try XCTUnwrap(SpectralBlur.covariance(luma: [(luma.values, h, w)], scale: 2))
        for (actual, reference) in zip([estimate.yy, estimate.yx, estimate.xx], expected.values) {
            XCTAssertEqual(actual, Double(reference), accuracy: 1e-4 * max(1, abs(Double(reference))))
        }
    }

    /// Noise blurred with known anisotropic Gaussians and subsampled: the long axis comes back. (White noise
    /// aliases far more than photos do, which pulls a narrow blur's axis towards the grid's: the short axis
    /// here is wide enough to keep that under the tolerance.)
    func testFindsTheLongAxisOfTheBlur() throws {
        var rng = SeededRandom(seed: 3)
        let size = 256
        let noise = (0..<(size * size)).map { _ in Float(rng.uniform(0, 1)) }
        let planes = noise + noise + noise
        for theta in [-1.0, 0.3, 1.2] {
            var kernelRandom = SeededRandom(seed: 4)
            let kernel = BlurKernel.gaussian(scale: 2, lambda1: 5, lambda2: 1.5, theta: theta, rng: &kernelRandom)
            let lr = Degrade.blurSubsample(planes, channels: 3, height: size, width: size, kernel: kernel, scale: 2)
            let luma = Array(lr[0..<(size * size / 4)])
            let estimate = try XCTUnwrap(SpectralBlur.covariance(luma: [(luma, size / 2, size / 2)], scale: 2))
            let found = 0.5 * atan2(2 * estimate.yx, estimate.xx - estimate.yy)
            var error = abs(found - theta).truncatingRemainder(dividingBy: Double.pi)
            error = min(error, Double.pi - error)
            XCTAssertLessThan(error, 8 * Double.pi / 180, "θ \(theta): found \(found)")
            let half = (pow((estimate.xx - estimate.yy) / 2, 2) + estimate.yx * estimate.yx).squareRoot()
            XCTAssertGreaterThan(2 * half, 1.5, "θ \(theta): eigenvalue difference")
        }
    }

    func testNeedsATileOfInput() {
        XCTAssertNil(SpectralBlur.covariance(luma: [([Float](repeating: 0.5, count: 31 * 64), 31, 64)], scale: 2))
        // 40 x 40 has tiles in the top-left quadrant only: no agreement to measure.
        var rng = SeededRandom(seed: 1)
        let noise = (0..<1600).map { _ in Float(rng.uniform(0, 1)) }
        XCTAssertNotNil(SpectralBlur.covariance(luma: [(noise, 40, 40)], scale: 2))
        XCTAssertNil(SpectralBlur.estimate(luma: [(noise, 40, 40)], scale: 2))
    }

    /// The quadrants agree on a blur that is the same everywhere, and not on content oriented differently in
    /// each quadrant.
    func testAgreementTellsBlurFromContent() throws {
        var rng = SeededRandom(seed: 6)
        let size = 256
        let noise = (0..<(size * size)).map { _ in Float(rng.uniform(0, 1)) }
        let kernel = BlurKernel.gaussian(scale: 2, lambda1: 5, lambda2: 1.5, theta: 0.4, rng: &rng)
        let blurred = Array(Degrade.blurSubsample(noise, channels: 1, height: size, width: size, kernel: kernel, scale: 2))
        let uniform = try XCTUnwrap(SpectralBlur.estimate(luma: [(blurred, size / 2, size / 2)], scale: 2))
        XCTAssertGreaterThan(uniform.agreement, 0.9)
        XCTAssertEqual(SpectralBlur.confidence(agreement: uniform.agreement), 1)
        // Stripes running a different way in each quadrant, no blur.
        let half = size / 4
        var stripes = [Float](repeating: 0, count: half * 2 * half * 2)
        for y in 0..<(2 * half) { for x in 0..<(2 * half) {
            let angle = [0.0, 0.8, 1.6, 2.4][(y >= half ? 2 : 0) + (x >= half ? 1 : 0)]
            let phase = (Double(x) * cos(angle) + Double(y) * sin(angle)) * 0.9
            stripes[y * 2 * half + x] = Float(0.5 + 0.3 * sin(phase)) + 0.05 * Float(rng.uniform(0, 1))
        } }
        let mixed = try XCTUnwrap(SpectralBlur.estimate(luma: [(stripes, 2 * half, 2 * half)], scale: 2))
        XCTAssertLessThan(mixed.agreement, 0.6)
        XCTAssertEqual(SpectralBlur.confidence(agreement: mixed.agreement), 0)
    }

    func testShapedKernelKeepsTheTraceAndCapsTheElongation() {
        // A spectrum along x far longer than the size allows: the difference is capped at 0.8 of the trace.
        let kernel = SpectralBlur.shapedKernel(trace: 3, spectral: (yy: 0, yx: 0, xx: 10), scale: 2)
        // Half the confidence, half the (uncapped) difference: λ 1.75 and 1.25.
        let halfTrusted = KernelComparison.covariance(SpectralBlur.shapedKernel(trace: 3, spectral: (yy: 0.5, yx: 0, xx: 1.5), scale: 2,
                                                                               confidence: 0.5))
        XCTAssertEqual(halfTrusted.xx - halfTrusted.yy, 0.5, accuracy: 0.05)
        let covariance = KernelComparison.covariance(kernel)
        XCTAssertEqual(covariance.xx, 2.7, accuracy: 0.1)
        XCTAssertEqual(covariance.yy, 0.3, accuracy: 0.05)
        XCTAssertEqual(covariance.yx, 0, accuracy: 1e-6)
        // Rotated: the long axis follows the spectrum's, the trace stays.
        let diagonal = KernelComparison.covariance(SpectralBlur.shapedKernel(trace: 2, spectral: (yy: 1, yx: 0.5, xx: 1), scale: 2))
        XCTAssertEqual(diagonal.xx + diagonal.yy, 2, accuracy: 0.05)
        XCTAssertEqual(diagonal.yx, 0.5, accuracy: 0.05)
    }

    func testShapeScalesItsCovarianceByTheFactor() {
        let shape = SpectralBlur.shape(trace: 2, spectral: (yy: 1, yx: 0.5, xx: 1))
        XCTAssertEqual(shape.lambda1 + shape.lambda2, 2, accuracy: 1e-9)
        XCTAssertEqual(shape.kernel(scale: 2), SpectralBlur.shapedKernel(trace: 2, spectral: (yy: 1, yx: 0.5, xx: 1), scale: 2))
        // Small enough that the 11 x 11 array holds nearly all of it at either factor.
        let single = KernelComparison.covariance(shape.kernel(scale: 2))
        let larger = KernelComparison.covariance(shape.kernel(scale: 2, factor: 1.5))
        XCTAssertEqual(larger.yy + larger.xx, 1.5 * (single.yy + single.xx), accuracy: 0.05)
        XCTAssertEqual(larger.yx, 1.5 * single.yx, accuracy: 0.03)
    }
}
