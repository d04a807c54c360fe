import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

/// The paper's separate optimisation built from the adapter's steps: Gd from L_IB + λ L_GAN, Gr from L_EB.
private struct SeparateSteps: AdaptationStrategy {
    var name: String { "separate" }
    func learningRateGd(scale: Int) -> Float { 1e-4 }
    func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float) {
        let internalLoss = adapter.updateDegradation(y: y, xe: xe, gan: true)
        let externalLoss = adapter.updateReconstruction(xe: xe)
        adapter.updateDiscriminator(real: y, xe: xe)
        return (internalLoss, externalLoss)
    }
}

final class OnlineAdapterTests: XCTestCase {
    var folder: TemporaryFolder!
    var photos: PhotoSet!
    var frame: RGBImage!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-adapt")
        for i in 0..<2 {
            var image = RGBImage(width: 96, height: 96)
            for y in 0..<96 { for x in 0..<96 {
                image[0, y, x] = 0.5 + 0.35 * sinf(Float(x) * 0.4 + Float(i))
                image[1, y, x] = 0.5 + 0.35 * cosf(Float(y) * 0.3)
                image[2, y, x] = Float((x / 5 + y / 7 + i) % 2) * 0.7 + 0.15
            } }
            try ImageFile.writePNG(image, to: folder.file("p\(i).png"))
        }
        photos = try PhotoSet(folder: folder.path)
        // The input frame: a photo blurred and subsampled with a known kernel.
        var rng = SeededRandom(seed: 5)
        let kernel = BlurKernel.gaussian(scale: 2, lambda1: 2, lambda2: 0.7, theta: 0.5, rng: &rng)
        let source = photos.images[0]
        frame = RGBImage(width: 48, height: 48,
                         pixels: Degrade.blurSubsample(source.pixels, channels: 3, height: 96, width: 96, kernel: kernel, scale: 2))
    }

    override func tearDown() { folder.remove() }

    func tinyGr() -> RRDBNet { RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 7) }

    func options(steps: Int) -> AdaptationOptions {
        var options = AdaptationOptions()
        options.steps = steps
        options.patches = 4
        options.patchSize = 16
        options.learningRateGr = 2e-3
        options.learningRateGd = 2e-3
        return options
    }

    func mean(_ values: ArraySlice<Float>) -> Float { values.reduce(0, +) / Float(values.count) }

    func testInternalAndExternalLossesFall() {
        let adapter = OnlineAdapter(gr: tinyGr(), external: photos.images, options: options(steps: 40), strategy: SeparateSteps())
        let history = adapter.adapt(frames: [frame])
        XCTAssertEqual(history.count, 40)
        let external = history.map(\.externalLoss), held = history.map(\.heldAsideInternalLoss)
        XCTAssertLessThan(mean(external.suffix(8)), mean(external.prefix(8)), "L_EB falls")
        XCTAssertLessThan(mean(held.suffix(8)), mean(held.prefix(8)), "L_IB on the held-aside patches falls")
        for i in 0..<3 { XCTAssertEqual(adapter.gd.normalisedKernel(i).reduce(0, +), 1, accuracy: 1e-4) }
    }

    func testGrChangesOnlyThroughTheExternalBranch() {
        // With Gr's learning rate at zero the internal branch and the GAN still run and change Gd, but Gr must
        // not move at all: its only update is the external branch's optimiser.
        var frozen = options(steps: 5)
        frozen.learningRateGr = 0
        let gr = tinyGr()
        let before = gr.namedParameters().flatMap { $0.1.value.values }
        let adapter = OnlineAdapter(gr: gr, external: photos.images, options: frozen, strategy: SeparateSteps())
        let kernelBefore = adapter.gd.normalisedKernel(2)
        adapter.adapt(frames: [frame])
        XCTAssertEqual(gr.namedParameters().flatMap { $0.1.value.values }, before)
        XCTAssertNotEqual(adapter.gd.normalisedKernel(2), kernelBefore, "Gd did learn")
        // And with Gd's learning rate at zero and no GAN, Gd stays at its initial Gaussian while Gr learns.
        var fixedGd = options(steps: 5)
        fixedGd.learningRateGd = 0
        fixedGd.ganWeight = 0
        let second = OnlineAdapter(gr: tinyGr(), external: photos.images, options: fixedGd, strategy: SeparateSteps())
        let initial = second.gd.normalisedKernel(1)
        second.adapt(frames: [frame])
        for (a, b) in zip(second.gd.normalisedKernel(1), initial) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertNotEqual(second.gr.namedParameters().flatMap { $0.1.value.values }, before)
    }

    func testTwoPhaseMovesOnlyGdThenOnlyGr() {
        var settings = options(steps: 6)
        settings.learningRateGd = nil
        XCTAssertEqual(TwoPhase().learningRateGd(scale: 2), 3e-3)
        XCTAssertEqual(TwoPhase().learningRateGd(scale: 4), 1e-3, "x4: the rate measured not to diverge")
        XCTAssertEqual(OnlineAdapter(gr: tinyGr(), external: photos.images, options: settings).optimiserGd.learningRate, 3e-3)
        // By default the first half of the steps is the Gd phase.
        let split = OnlineAdapter(gr: tinyGr(), external: photos.images, options: settings).adapt(frames: [frame])
        XCTAssertEqual(split.map { $0.externalLoss.isNaN }, [true, true, true, false, false, false])
        XCTAssertEqual(split.map { $0.internalLoss.isNaN }, [false, false, false, true, true, true])
        let gr = tinyGr()
        let adapter = OnlineAdapter(gr: gr, external: photos.images, options: settings, strategy: TwoPhase(degradationPhase: 3))
        let grBefore = gr.namedParameters().flatMap { $0.1.value.values }
        let gdBefore = adapter.gd.normalisedKernel(1)
        let first = adapter.adapt(frames: [frame], steps: 3)
        XCTAssertEqual(gr.namedParameters().flatMap { $0.1.value.values }, grBefore, "Gd phase: Gr fixed")
        XCTAssertNotEqual(adapter.gd.normalisedKernel(1), gdBefore, "Gd phase: Gd learns")
        XCTAssertTrue(first.allSatisfy { $0.externalLoss.isNaN && $0.internalLoss.isFinite })
        let gdAfterPhase = adapter.gd.normalisedKernel(1)
        let second = adapter.adapt(frames: [frame], steps: 3)
        XCTAssertEqual(adapter.gd.normalisedKernel(1), gdAfterPhase, "Gr phase: Gd fixed")
        XCTAssertNotEqual(gr.namedParameters().flatMap { $0.1.value.values }, grBefore, "Gr phase: Gr learns")
        XCTAssertTrue(second.allSatisfy { $0.externalLoss.isFinite })
    }

    func testTwoPhasesGdPhaseIsAtMost50StepsByDefault() {
        let adapter = OnlineAdapter(gr: tinyGr(), external: photos.images, options: options(steps: 120))
        let history = adapter.adapt(frames: [frame], steps: 51)
        XCTAssertTrue(history.prefix(50).allSatisfy { $0.externalLoss.isNaN }, "steps 1-50: Gd only")
        XCTAssertTrue(history[50].externalLoss.isFinite, "step 51: Gr")
    }

    func testTheSpectralShapeRaisesGdsSizeAtX2OnlyUnlessTold() {
        XCTAssertTrue(TwoPhase().raisesSize(scale: 2))
        XCTAssertFalse(TwoPhase().raisesSize(scale: 4), "x4: the spectrum's elongation, scaled by 16, read a smooth crop's content as blur")
        XCTAssertTrue(TwoPhase(elongationRaisesSize: true).raisesSize(scale: 4))
        XCTAssertFalse(TwoPhase(elongationRaisesSize: false).raisesSize(scale: 2))
    }

    func testSpectralShapeKeepsGdsSizeAndTakesTheSpectrumsDirection() throws {
        // Noise blurred along one direction: the quadrants agree, so the spectrum's elongation is used in full.
        var rng = SeededRandom(seed: 9)
        let noise = (0..<(256 * 256)).map { _ in Float(rng.uniform(0.2, 0.8)) }
        let kernel = BlurKernel.gaussian(scale: 2, lambda1: 5, lambda2: 1.5, theta: 0.7, rng: &rng)
        let blurred = RGBImage(width: 128, height: 128, pixels: Degrade.blurSubsample(noise + noise + noise, channels: 3, height: 256,
                                                                                     width: 256, kernel: kernel, scale: 2))
        let settings = options(steps: 4)
        let adapter = OnlineAdapter(gr: tinyGr(), external: photos.images, options: settings, strategy: TwoPhase(kernelShape: .spectral))
        adapter.adapt(frames: [blurred], steps: 2)
        XCTAssertNil(adapter.shapedKernel, "shaped only when the Gr phase starts")
        let fitted = KernelComparison.covariance(adapter.gd.subsamplingKernel())
        adapter.adapt(frames: [blurred], steps: 2)
        XCTAssertGreaterThan(adapter.spectralAgreement ?? 0, 0.9)
        let shaped = try XCTUnwrap(adapter.shapedKernel)
        XCTAssertEqual(adapter.spectralShape?.kernel(scale: 2), shaped, "the shape recorded is the one Gr is fine-tuned through")
        let covariance = KernelComparison.covariance(shaped)
        // The 11 x 11 array cuts the Gaussian's tails off, a few percent of its variance at this size.
        XCTAssertEqual(covariance.yy + covariance.xx, fitted.yy + fitted.xx, accuracy: 0.1 * (fitted.yy + fitted.xx))
        let angle = { (c: (yy: Double, yx: Double, xx: Double)) in 0.5 * atan2(2 * c.yx, c.xx - c.yy) }
        XCTAssertEqual(angle(covariance), 0.7, accuracy: 0.15, "the long axis is the blur's")
        // Too small to tell (one tile per quadrant at most): Gd's own kernel.
        let small = OnlineAdapter(gr: tinyGr(), external: photos.images, options: settings)
        small.adapt(frames: [RGBImage(width: 40, height: 40, pixels: Array(blurred.pixels.prefix(3 * 40 * 40)))])
        XCTAssertEqual(small.spectralAgreement, 0)
        XCTAssertNil(small.shapedKernel)
        XCTAssertNil(small.spectralShape)
        let plain = OnlineAdapter(gr: tinyGr(), external: photos.images, options: settings, strategy: TwoPhase(kernelShape: .fitted))
        plain.adapt(frames: [blurred])
        XCTAssertNil(plain.shapedKernel, "fitted: Gr is fine-tuned through Gd itself")
        XCTAssertNil(plain.spectralAgreement)
    }

    func testLearnedShapeStartsGdAtTheEstimateAndFineTunesGrThroughIt() throws {
        let estimate = BlurEstimate(covariance: (yy: 3.0, yx: 1.0, xx: 1.5), noBlurProbability: 0.1)
        let adapter = OnlineAdapter(gr: tinyGr(), external: photos.images, options: options(steps: 4),
                                    strategy: TwoPhase(degradationPhase: 2, kernelShape: .learned, estimate: estimate))
        let gdOnly = OnlineAdapter(gr: tinyGr(), external: photos.images, options: options(steps: 0),
                                   strategy: TwoPhase(kernelShape: .learned, estimate: estimate))
        // Before any step Gd is the default Gaussian; the first step starts it at the estimate.
        adapter.adapt(frames: [frame], steps: 1)
        let shaped = try XCTUnwrap(adapter.shapedKernel, "the estimate's kernel serves from the first step")
        XCTAssertEqual(shaped, estimate.kernel(scale: 2))
        let gd = KernelComparison.covariance(adapter.gd.subsamplingKernel())
        XCTAssertEqual(gd.yy, 3.0, accuracy: 0.4, "one Gd step from the estimate stays near it")
        XCTAssertEqual(gd.xx, 1.5, accuracy: 0.4)
        adapter.adapt(frames: [frame], steps: 3)
        XCTAssertEqual(adapter.shapedKernel, shaped, "Gd's refinement does not replace the estimate's kernel")
        XCTAssertNil(adapter.spectralAgreement, "no spectral estimate is made")
        XCTAssertNil(gdOnly.shapedKernel)

        // "No extra blur": Gr is fine-tuned through the bicubic downscaling alone.
        let sharp = OnlineAdapter(gr: tinyGr(), external: photos.images, options: options(steps: 2),
                                  strategy: TwoPhase(kernelShape: .learned, estimate: BlurEstimate(covariance: (2, 0, 2), noBlurProbability: 0.9)))
        sharp.adapt(frames: [frame], steps: 1)
        let bicubicOnly = DegradationNet(scale: 2)
        bicubicOnly.start(at: (0, 0, 0))
        XCTAssertEqual(sharp.shapedKernel, bicubicOnly.subsamplingKernel())
        // Without an estimate the learned shape falls back to the spectral one.
        let fallback = OnlineAdapter(gr: tinyGr(), external: photos.images, options: options(steps: 4), strategy: TwoPhase(kernelShape: .learned))
        fallback.adapt(frames: [frame])
        XCTAssertNotNil(fallback.spectralAgreement)
    }

    func testBlendHappensOnceWhenTheBudgetIsSpent() {
        func weights(_ network: RRDBNet) -> [Float] { network.namedParameters().flatMap { $0.1.value.values } }
        // The reference: no blend in the adapter, the blend done by hand after step 4, then one warm step.
        var plain = options(steps: 4)
        plain.blend = 1
        let referenceGr = tinyGr()
        let start = referenceGr.snapshot()
        let reference = OnlineAdapter(gr: referenceGr, external: photos.images, options: plain)
        reference.adapt(frames: [frame])
        let adapted = weights(referenceGr)
        referenceGr.blend(from: start, to: referenceGr.snapshot(), weight: 0.5)
        let blendedByHand = weights(referenceGr)
        reference.adapt(frames: [frame], steps: 1)
        // The same run with blend 0.5, taken in two calls: blended exactly once, at step 4.
        var halfway = plain
        halfway.blend = 0.5
        let gr = tinyGr()
        let adapter = OnlineAdapter(gr: gr, external: photos.images, options: halfway)
        adapter.adapt(frames: [frame], steps: 3)
        adapter.adapt(frames: [frame], steps: 1)
        XCTAssertEqual(weights(gr), blendedByHand)
        XCTAssertNotEqual(weights(gr), adapted)
        adapter.adapt(frames: [frame], steps: 1)
        XCTAssertEqual(weights(gr), weights(referenceGr), "a warm step past the budget is not blended again")
    }

    /// Unset, the blend is the strategy's: 0.75 only where Gr is fine-tuned through the estimator's kernel.
    func testUnsetBlendIsTheStrategysAndTheOptionsOverrideIt() {
        let estimate = BlurEstimate(covariance: (2, 0.3, 1.5), noBlurProbability: 0.1)
        var unset = options(steps: 4)
        unset.blend = nil
        func blend(_ strategy: AdaptationStrategy, _ settings: AdaptationOptions) -> Float {
            OnlineAdapter(gr: tinyGr(), external: photos.images, options: settings, strategy: strategy).blend
        }
        XCTAssertEqual(blend(TwoPhase(kernelShape: .learned, estimate: estimate), unset), 0.75)
        XCTAssertEqual(blend(TwoPhase(kernelShape: .learned), unset), 0.5, "no estimate: the spectral fallback's blend")
        XCTAssertEqual(blend(TwoPhase(kernelShape: .spectral, estimate: estimate), unset), 0.5)
        var chosen = unset
        chosen.blend = 1
        XCTAssertEqual(blend(TwoPhase(kernelShape: .learned, estimate: estimate), chosen), 1)
    }
}
