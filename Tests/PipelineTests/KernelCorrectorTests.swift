import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

final class KernelCorrectorTests: XCTestCase {
    /// A corrector whose network reads the same correction from every patch: zero weights, `delta` as the head's bias.
    func constantCorrector(_ delta: (Float, Float, Float)) throws -> KernelCorrector {
        let network = KernelEstimator(.init(features: 4, scale: 2))
        for (_, parameter) in network.namedParameters() { parameter.value.zero() }
        let bias = network.head.bias.value
        (bias[KernelCode.logTrace], bias[KernelCode.shapeU], bias[KernelCode.shapeV]) = delta
        let info = try ModelStore.resolve("fast-x2-cond", scale: 2)
        return KernelCorrector(network: network, restorer: try ModelStore.load(info), restorerName: info.name)
    }

    func picture(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for c in 0..<3 { for y in 0..<height { for x in 0..<width { image[c, y, x] = 0.5 + 0.3 * sinf(Float(x * (c + 1) + y) * 0.4) } } }
        return image
    }

    func testApplyingMovesTheCodeByTheCorrection() {
        let estimate = BlurEstimate(covariance: (2.0, 0.4, 3.0), noBlurProbability: 0.2)
        let corrected = KernelCorrector.applying((log(1.5), 0.1, -0.05), to: estimate)
        let (before, after) = (KernelCode.encode(estimate.covariance), KernelCode.encode(corrected.covariance))
        XCTAssertEqual(after.logTrace - before.logTrace, log(1.5), accuracy: 1e-12)
        XCTAssertEqual(after.u - before.u, 0.1, accuracy: 1e-12)
        XCTAssertEqual(after.v - before.v, -0.05, accuracy: 1e-12)
        XCTAssertEqual(corrected.trace, 7.5, accuracy: 1e-9)
        XCTAssertEqual(corrected.noBlurProbability, 0.2, "the no-blur call is the estimator's")
    }

    /// The picture's correction is the patches' mean, each round adds it once more, and a picture too small for one HR
    /// patch keeps its estimate.
    func testCorrectionIsThePatchesMeanAppliedPerRound() throws {
        let corrector = try constantCorrector((0.25, -0.1, 0.05))
        let image = picture(width: 100, height: 60)  // 200x120 restored: two 96-pixel patches
        let delta = try XCTUnwrap(corrector.correction(of: corrector.restore(image, told: BlurEstimate(covariance: (2, 0, 2), noBlurProbability: 0))))
        XCTAssertEqual(delta.logTrace, 0.25, accuracy: 1e-6)
        XCTAssertEqual(delta.u, -0.1, accuracy: 1e-6)
        XCTAssertEqual(delta.v, 0.05, accuracy: 1e-6)
        let estimate = BlurEstimate(covariance: (2, 0.3, 2.5), noBlurProbability: 0.1)
        let twice = corrector.correct(estimate, image: image, rounds: 2)
        XCTAssertEqual(log(twice.trace / estimate.trace), 0.5, accuracy: 1e-5)
        XCTAssertEqual(corrector.correct(estimate, image: picture(width: 40, height: 60)), estimate, "80 HR pixels wide: no patch")
    }

    /// A corrector that reads downscaled sees the restored picture bicubic-downscaled to the input's size, in the
    /// estimator's patches.
    func testDownscaledReadingIsTheNetworkOnTheDownscaledPicture() throws {
        let network = KernelEstimator(.init(features: 4, scale: 2), seed: 5)
        let info = try ModelStore.resolve("fast-x2-cond", scale: 2)
        let corrector = KernelCorrector(network: network, restorer: try ModelStore.load(info), restorerName: info.name, readsDownscaled: true)
        let restored = picture(width: 100, height: 104)
        let small = RGBImage(width: 50, height: 52, pixels: Degrade.bicubic(restored.pixels, channels: 3, height: 104, width: 100, scale: 2))
        let output = network(KernelEstimator.patchTensor([small.crop(top: 2, left: 1, height: 48, width: 48)]))
        let delta = try XCTUnwrap(corrector.correction(of: restored))
        XCTAssertEqual(delta.logTrace, Double(output[KernelCode.logTrace]), accuracy: 1e-6)
        XCTAssertEqual(delta.u, Double(output[KernelCode.shapeU]), accuracy: 1e-6)
        XCTAssertEqual(delta.v, Double(output[KernelCode.shapeV]), accuracy: 1e-6)
    }

    /// The restorer is told the estimate as the product tells it: the conditioned Gr's output for that code.
    func testRestoreTellsTheEstimate() throws {
        let corrector = try constantCorrector((0, 0, 0))
        let image = picture(width: 40, height: 32)
        let (small, large) = (BlurEstimate(covariance: (0.5, 0, 0.5), noBlurProbability: 0), BlurEstimate(covariance: (4, 0, 4), noBlurProbability: 0))
        let told = try PretrainedUpscaler(model: try ModelStore.resolve("fast-x2-cond", scale: 2))
        told.network.condition = BlurEstimation.condition(large, scale: 2)
        XCTAssertEqual(corrector.restore(image, told: large).pixels, try told.upscale(image).pixels)
        XCTAssertNotEqual(corrector.restore(image, told: small).pixels, corrector.restore(image, told: large).pixels)
    }

    func testLoadRefusesAFileThatIsNoCorrector() throws {
        let model = try ModelStore.resolve("fast-x2-g", scale: 2).path
        XCTAssertThrowsError(try KernelCorrector.load(path: model)) { error in
            XCTAssertTrue("\(error)".contains("not a kernel corrector"), "\(error)")
        }
    }
}
