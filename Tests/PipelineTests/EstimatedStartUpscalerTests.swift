import Decode
import Engine
import ONSR
import Pipeline
import XCTest

/// `image --method pretrained` without `--model`: the reading picks the fixed Gr and the mix.
final class EstimatedStartUpscalerTests: XCTestCase {
    private func picture() -> RGBImage {
        var rng = SeededRandom(seed: 21)
        return RGBImage(width: 80, height: 64, pixels: (0..<(3 * 80 * 64)).map { _ in Float(rng.uniform(0.1, 0.9)) })
    }

    private func distance(_ a: RGBImage, _ b: RGBImage) -> Float { zip(a.pixels, b.pixels).map { abs($0 - $1) }.max()! }

    /// An unsure reading mixes the two fixed Gr's outputs by its weight, each averaged over the eight symmetries.
    func testAnUnsureReadingMixesTheBicubicTrainedGrIn() throws {
        let blind = try ModelStore.resolve(nil, scale: 2), bicubic = try ModelStore.resolve("fast-x2-bicubic", scale: 2)
        let upscaler = EstimatedStartUpscaler(model: blind)
        upscaler.estimate = BlurEstimate(covariance: (2, 0, 2), noBlurProbability: 0.65)
        upscaler.selfEnsembles = true
        let image = picture()
        let output = try upscaler.upscale(image)
        XCTAssertEqual(upscaler.start?.mix?.model.name, "fast-x2-bicubic")
        XCTAssertEqual(upscaler.name, "pretrained:fast-x2-g+dihedral+pretrained:fast-x2-bicubic+dihedral@0.25")
        XCTAssertEqual(upscaler.selfEnsemble, .dihedral)
        let expected = MixedUpscaler.mix(try SelfEnsembleUpscaler(PretrainedUpscaler(model: blind), ensemble: .dihedral).upscale(image),
                                         try SelfEnsembleUpscaler(PretrainedUpscaler(model: bicubic), ensemble: .dihedral).upscale(image),
                                         weight: 0.25)
        XCTAssertLessThan(distance(output, expected), 1e-5)
    }

    /// A sure "no blur" upscales with the bicubic-trained Gr alone, and the choice holds for the pictures after.
    func testNoBlurUpscalesWithTheBicubicTrainedGrAndKeepsTheChoice() throws {
        let upscaler = EstimatedStartUpscaler(model: try ModelStore.resolve(nil, scale: 2))
        upscaler.estimate = BlurEstimate(covariance: (0.5, 0, 0.5), noBlurProbability: 0.9)
        let image = picture()
        let output = try upscaler.upscale(image)
        XCTAssertEqual(upscaler.name, "pretrained:fast-x2-bicubic")
        XCTAssertNil(upscaler.start?.mix)
        XCTAssertNil(upscaler.selfEnsemble)
        XCTAssertLessThan(distance(output, try PretrainedUpscaler(model: try ModelStore.resolve("fast-x2-bicubic", scale: 2)).upscale(image)), 1e-6)
        upscaler.estimate = BlurEstimate(covariance: (4, 0, 4), noBlurProbability: 0.01)
        _ = try upscaler.upscale(image)
        XCTAssertEqual(upscaler.name, "pretrained:fast-x2-bicubic", "one reading per run")
    }

    /// Without a reading set, the shipped estimator reads the first picture.
    func testTheFirstPictureIsRead() throws {
        let upscaler = EstimatedStartUpscaler(model: try ModelStore.resolve(nil, scale: 2))
        let image = picture()
        _ = try upscaler.upscale(image)
        let reading = try XCTUnwrap(BlurEstimation.estimate(frames: [image], scale: 2))
        XCTAssertEqual(upscaler.estimate?.noBlurProbability, reading.noBlurProbability)
        XCTAssertEqual(upscaler.start?.model.name, BlurEstimation.fixedStart(upscaler.model, estimate: reading, coded: false).model.name)
    }
}
