import Decode
import ONSR
import Pipeline
import XCTest

/// How the blur estimate picks the starting Gr, and that the shipped estimator runs on frames.
final class BlurEstimationTests: XCTestCase {
    let sharp = BlurEstimate(covariance: (0.3, 0, 0.3), noBlurProbability: 0.95)
    let blurred = BlurEstimate(covariance: (3, 0.5, 2), noBlurProbability: 0.05)

    func testNoBlurStartsFromTheBicubicModelOnlyWhereTheUserLeftTheChoice() throws {
        let blind = try ModelStore.resolve(nil, scale: 2)
        XCTAssertEqual(BlurEstimation.startingModel(blind, chosenByUser: false, estimate: sharp).name, "fast-x2-bicubic")
        XCTAssertEqual(BlurEstimation.startingModel(blind, chosenByUser: true, estimate: sharp).name, blind.name, "--model wins")
        XCTAssertEqual(BlurEstimation.startingModel(blind, chosenByUser: false, estimate: blurred).name, blind.name)
        XCTAssertEqual(BlurEstimation.startingModel(blind, chosenByUser: false, estimate: nil).name, blind.name)
        // Another starting model the tool chose (compressed footage) is kept: the real model knows blur and codecs.
        let real = try ModelStore.resolve("fast-x2-real", scale: 2)
        XCTAssertEqual(BlurEstimation.startingModel(real, chosenByUser: false, estimate: sharp).name, "fast-x2-real")
        // Just under the threshold is not "no blur".
        XCTAssertFalse(BlurEstimate(covariance: (1, 0, 1), noBlurProbability: BlurEstimate.noBlurThreshold).isNoBlur)
    }

    /// The fixed Gr a picture gets where the tool picks it: the bicubic-trained one for no blur, the blind one for a
    /// blur (never the kernel-conditioned one), the two mixed across the band, the bicubic share capped on a JPEG.
    func testTheReadingPicksTheFixedGrWithoutTheConditionedOne() throws {
        let blind = try ModelStore.resolve(nil, scale: 2)
        XCTAssertEqual(BlurEstimation.fixedStart(blind, estimate: sharp, coded: false).model.name, "fast-x2-bicubic")
        XCTAssertNil(BlurEstimation.fixedStart(blind, estimate: sharp, coded: false).mix)
        XCTAssertEqual(BlurEstimation.fixedStart(blind, estimate: blurred, coded: false).model.name, blind.name)
        XCTAssertNil(BlurEstimation.fixedStart(blind, estimate: blurred, coded: false).mix)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: blurred).mix?.model.name, "fast-x2-cond",
                       "where ONSR adapts, the conditioned Gr is mixed in")
        let unsure = BlurEstimation.fixedStart(blind, estimate: BlurEstimate(covariance: (2, 0, 2), noBlurProbability: 0.75), coded: false)
        XCTAssertEqual(unsure.model.name, blind.name)
        XCTAssertEqual(unsure.mix?.model.name, "fast-x2-bicubic")
        XCTAssertEqual(Double(unsure.mix?.weight ?? 0), 0.75, accuracy: 1e-6)
        let coded = BlurEstimation.fixedStart(blind, estimate: sharp, coded: true)
        XCTAssertEqual(coded.model.name, blind.name)
        XCTAssertEqual(Double(coded.mix?.weight ?? 0), BlurEstimation.codedShareCap, accuracy: 1e-6)
        XCTAssertEqual(BlurEstimation.fixedStart(blind, estimate: nil, coded: false).model.name, blind.name)
        let x4 = try ModelStore.resolve(nil, scale: 4)
        XCTAssertEqual(BlurEstimation.fixedStart(x4, estimate: sharp, coded: false).model.name, x4.name, "no x4 bicubic-trained Gr")
    }

    func testAnUnsureEstimateMixesTheBicubicModelIntoTheAdaptedBlindOne() throws {
        let blind = try ModelStore.resolve(nil, scale: 2)
        func start(_ probability: Double, chosenByUser: Bool = false) -> BlurEstimation.Start {
            // A thin kernel, which keeps the default blind Gr whatever the bank holds (the bank has its own test).
            BlurEstimation.pictureStart(blind, chosenByUser: chosenByUser, estimate: BlurEstimate(covariance: (4.7, 0, 0.3), noBlurProbability: probability))
        }
        // Sure either way: one model adapted, the estimate as read (a blurred picture mixes in the kernel-conditioned
        // Gr, which has its own test).
        XCTAssertEqual(start(0.05).mix?.model.name, "fast-x2-cond")
        XCTAssertEqual(start(0.05).model.name, blind.name)
        XCTAssertNil(start(0.95).mix)
        XCTAssertEqual(start(0.95).model.name, "fast-x2-bicubic")
        XCTAssertEqual(start(0.95).estimate?.isNoBlur, true)
        // Unsure, even above the hard call's threshold: the blind Gr, fine-tuned as if blurred, and the bicubic mix.
        let unsure = start(0.75)
        XCTAssertEqual(unsure.model.name, blind.name)
        XCTAssertEqual(unsure.estimate?.isNoBlur, false)
        XCTAssertEqual(unsure.estimate?.trace, 5)
        XCTAssertEqual(unsure.mix?.model.name, "fast-x2-bicubic")
        XCTAssertEqual(Double(try XCTUnwrap(unsure.mix?.weight)), 0.75, accuracy: 1e-6)
        XCTAssertEqual(Double(try XCTUnwrap(start(0.65).mix?.weight)), 0.25, accuracy: 1e-6)
        // A model the user named is adapted as the estimate calls it, with no mix.
        XCTAssertNil(start(0.75, chosenByUser: true).mix)
        XCTAssertEqual(start(0.75, chosenByUser: true).estimate?.isNoBlur, true)
        XCTAssertNil(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: nil).mix)
        // A coded picture's reading of "no blur" is never trusted fully: the blind Gr keeps a share.
        let coded = BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: sharp, coded: true)
        XCTAssertEqual(coded.model.name, blind.name)
        XCTAssertEqual(coded.estimate?.isNoBlur, false)
        XCTAssertEqual(Double(try XCTUnwrap(coded.mix?.weight)), BlurEstimation.codedShareCap, accuracy: 1e-6)
        XCTAssertNil(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: blurred, coded: true).mix)
    }

    func testMildMiddlingAndStrongBlurStartFromTheirModelsExceptOnCodedPictures() throws {
        let blind = try ModelStore.resolve(nil, scale: 2)
        let mild = BlurEstimate(covariance: (1, 0.2, 1.2), noBlurProbability: 0.1)
        XCTAssertLessThan(mild.trace, BlurEstimation.mildTrace)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: mild).model.name, "fast-x2-mild")
        // Between the two: the middling-blur model, unless the kernel is thinner across than that model's range.
        XCTAssertGreaterThanOrEqual(blurred.sampledMinorVariance(scale: 2), BlurEstimation.midMinorVariance)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: blurred).model.name, "fast-x2-mid")
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: blurred, coded: true).model.name, blind.name)
        let thin = BlurEstimate(covariance: (4.5, 0, 0.3), noBlurProbability: 0.05)
        XCTAssertTrue((BlurEstimation.mildTrace...BlurEstimation.strongTrace).contains(thin.sampledTrace(scale: 2)))
        XCTAssertLessThan(thin.sampledMinorVariance(scale: 2), BlurEstimation.midMinorVariance)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: thin).model.name, blind.name, "thin kernel")
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: mild, coded: true).model.name, blind.name)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: true, estimate: mild).model.name, blind.name, "--model wins")
        let strong = BlurEstimate(covariance: (7, 1, 6), noBlurProbability: 0.01)
        XCTAssertGreaterThan(strong.trace, BlurEstimation.strongTrace)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: strong).model.name, "fast-x2-strong")
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: strong, coded: true).model.name, blind.name)
        // Unsure of any blur and the blur it reads is mild: the mild model, adapted, with the bicubic-trained one mixed in.
        let unsure = BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: BlurEstimate(covariance: mild.covariance, noBlurProbability: 0.7))
        XCTAssertEqual(unsure.model.name, "fast-x2-mild")
        XCTAssertEqual(unsure.mix?.model.name, "fast-x2-bicubic")
    }

    /// A 120 x 100 picture of blocks, `offset` pixels along.
    private func pattern(offset: Int) -> RGBImage {
        var image = RGBImage(width: 120, height: 100)
        for y in 0..<100 { for x in 0..<120 { for c in 0..<3 { image[c, y, x] = Float(((x + offset) / 6 + y / 9 + c) % 3) / 2 } } }
        return image
    }

    func testShippedEstimatorReadsFrames() throws {
        let image = pattern(offset: 0)
        let estimate = try XCTUnwrap(BlurEstimation.estimate(frames: [image], scale: 2))
        XCTAssertTrue((0...1).contains(estimate.noBlurProbability))
        XCTAssertGreaterThan(estimate.trace, 0)
        XCTAssertNil(BlurEstimation.estimate(frames: [RGBImage(width: 40, height: 40)], scale: 2), "smaller than one patch")
        XCTAssertNil(BlurEstimation.estimate(frames: [image], scale: 3), "no estimator for x3")
    }

    /// A picture read as blurred, not lossy-coded, gets part of its output from the kernel-conditioned Gr; not a coded
    /// one (the estimator misreads it), not one the user chose the model for, not an unsure one (the bicubic mix's band),
    /// not one read past the conditioned model's range.
    func testABlurredCleanPictureMixesInTheKernelConditionedGr() throws {
        let blind = try ModelStore.resolve(nil, scale: 2)
        let start = BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: blurred)
        XCTAssertEqual(start.mix?.model.name, "fast-x2-cond")
        XCTAssertEqual(start.mix?.weight, BlurEstimation.conditionedShare)
        XCTAssertEqual(start.model.name, "fast-x2-mid", "the adapted start is the bank's as before")
        XCTAssertNil(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: blurred, coded: true).mix)
        XCTAssertNil(BlurEstimation.pictureStart(blind, chosenByUser: true, estimate: blurred).mix)
        let strong = BlurEstimate(covariance: (yy: 6, yx: 0, xx: 6), noBlurProbability: 0.01)
        XCTAssertGreaterThan(strong.sampledTrace(scale: 2), BlurEstimation.strongTrace)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: strong).model.name, "fast-x2-strong")
        XCTAssertNil(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: strong).mix, "past the conditioned model's range")
        let unsure = BlurEstimate(covariance: blurred.covariance, noBlurProbability: 0.7)
        XCTAssertEqual(BlurEstimation.pictureStart(blind, chosenByUser: false, estimate: unsure).mix?.model.name, "fast-x2-bicubic")
        XCTAssertNil(BlurEstimation.pictureStart(try ModelStore.resolve(nil, scale: 4), chosenByUser: false, estimate: blurred).mix,
                     "no x4 model is told the kernel")
    }

    /// A kernel-conditioned Gr is told the estimator's reading of the first picture it upscales (as `KernelCode` codes
    /// the reading's sampled kernel), keeps it for the pictures after, and keeps a condition its caller set.
    func testAKernelConditionedGrIsToldTheEstimatorsReading() throws {
        let model = try ModelStore.resolve("fast-x2-cond", scale: 2)
        XCTAssertEqual(model.configuration.conditions, 3)
        let picture = pattern(offset: 0)
        let reading = try XCTUnwrap(BlurEstimation.estimate(frames: [picture], scale: 2))
        let upscaler = try PretrainedUpscaler(model: model)
        XCTAssertNil(upscaler.network.condition)
        let first = try upscaler.upscale(picture)
        XCTAssertEqual(upscaler.network.condition, BlurEstimation.condition(reading, scale: 2))
        XCTAssertEqual(upscaler.network.condition?[0] ?? 0, Float(log(reading.sampledTrace(scale: 2))), accuracy: 1e-5)
        _ = try upscaler.upscale(pattern(offset: 5))
        XCTAssertEqual(upscaler.network.condition, BlurEstimation.condition(reading, scale: 2), "one reading per run")
        // Told another blur, the same picture comes out otherwise.
        let told = try PretrainedUpscaler(model: model)
        told.network.condition = BlurEstimation.condition(reading.scaled(by: 2), scale: 2)
        let other = try told.upscale(picture)
        XCTAssertEqual(told.network.condition, BlurEstimation.condition(reading.scaled(by: 2), scale: 2))
        XCTAssertGreaterThan(zip(first.pixels, other.pixels).map { abs($0 - $1) }.max()!, 1e-3)
        // Nothing reads a blur per scene in video ONSR: it refuses the model.
        XCTAssertThrowsError(try ModelStore.requireBlind(model, for: "ONSR on video")) { XCTAssertEqual(($0 as? JobError)?.kind, .usage) }
        XCTAssertNoThrow(try ModelStore.requireBlind(try ModelStore.resolve(nil, scale: 2), for: "ONSR on video"))
    }
}
