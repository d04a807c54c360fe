import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

final class SceneSchedulerTests: XCTestCase {
    var fixture: TinyAdaptationFixture!
    var photos: PhotoSet { fixture.photos }
    var model: ModelInfo { fixture.model }

    override func setUpWithError() throws { fixture = try TinyAdaptationFixture("onsr-scheduler") }

    override func tearDown() { fixture.remove() }

    func scheduler(_ policy: AdaptPolicy, steps: Int = 2, warmSteps: Int = 0, lookAhead: Int = 4,
                   refitTolerance: Float? = nil, sceneThreshold: Float? = nil, selfEnsembles: Bool = false) throws -> SceneScheduler {
        var options = ScheduleOptions()
        options.policy = policy
        options.selfEnsembles = selfEnsembles
        if let sceneThreshold { options.sceneThreshold = sceneThreshold }
        if let refitTolerance { options.refitTolerance = refitTolerance }
        // These tests drive the L_IB probe; the estimator's witness is tested through the CLI on real footage.
        options.blurEstimateWitness = false
        options.steps = steps
        options.warmSteps = warmSteps
        options.lookAhead = lookAhead
        let adaptation = TinyAdaptationFixture.adaptation
        return try SceneScheduler(model: model, external: photos, adaptation: adaptation, options: options)
    }

    /// Runs `frames` through the scheduler; returns the outputs in order. The summary the end of the stream
    /// returns must be what the scheduler recorded.
    func run(_ scheduler: SceneScheduler, _ frames: [RGBImage]) throws -> [TimedFrame] {
        var outputs: [TimedFrame] = []
        for (i, image) in frames.enumerated() {
            outputs += try scheduler.submit(TimedFrame(image: image, pts: Int64(i * 10), seconds: Double(i) / 10))
            XCTAssertLessThanOrEqual(i + 1 - outputs.count, 4, "no more than the look-ahead is held")
        }
        let end = try scheduler.finish()
        XCTAssertEqual(end.summary.scenes.map(\.firstFrame), scheduler.scenes.map(\.firstFrame))
        XCTAssertEqual(end.summary.scenes.compactMap(\.adaptation?.kind), scheduler.scenes.compactMap(\.adaptation?.kind))
        XCTAssertEqual(end.summary.adaptSeconds, scheduler.adaptSeconds)
        return outputs + end.frames
    }

    func threeShots(length: Int = 6) -> [RGBImage] {
        (0..<(3 * length)).map { SyntheticShots.frame(shot: $0 / length, t: $0 % length) }
    }

    func testPerSceneAdaptsOncePerSceneAtItsFirstFrame() throws {
        let scheduler = try self.scheduler(.perScene)
        let outputs = try run(scheduler, threeShots())
        XCTAssertEqual(outputs.map(\.pts), (0..<18).map { Int64($0 * 10) }, "every frame, in order, with its timestamp")
        XCTAssertEqual(outputs[0].image.width, 128)
        XCTAssertEqual(scheduler.scenes.map(\.firstFrame), [0, 6, 12])
        XCTAssertEqual(scheduler.scenes.map(\.lastFrame), [5, 11, 17])
        XCTAssertEqual(scheduler.scenes.compactMap(\.adaptation).map(\.frame), [0, 6, 12])
        XCTAssertEqual(scheduler.scenes.map(\.laterAdaptations), [0, 0, 0])
        XCTAssertEqual(scheduler.scenes[0].adaptation?.kind, .full)
        XCTAssertNotEqual(scheduler.scenes[1].adaptation?.kind, .full, "later scenes warm-start")
        XCTAssertGreaterThan(scheduler.adaptSeconds, 0)
    }

    /// With `selfEnsembles`, the pretrained Gr (policy none) averages over all eight symmetries, as the self-ensemble
    /// upscaler over the same model does; an adapted Gr over the half turn alone: its output is the mean of its single
    /// pass on the frame and, turned back, on the frame's half turn, with the same weights (one scene, adapted on its
    /// first frame alone).
    func testSelfEnsembleAveragesOverTheSymmetriesTheScenesGrKeeps() throws {
        func assertClose(_ a: RGBImage, _ b: RGBImage, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(a.width, b.width, file: file, line: line)
            XCTAssertLessThan(zip(a.pixels, b.pixels).map { abs($0 - $1) }.max() ?? .infinity, 1e-4, message, file: file, line: line)
        }
        let frame = SyntheticShots.frame(shot: 1, t: 0)
        let reference = SelfEnsembleUpscaler(try PretrainedUpscaler(model: model), ensemble: .dihedral)
        assertClose(try run(try scheduler(.none, selfEnsembles: true), [frame])[0].image, try reference.upscale(frame), "pretrained: all eight")

        let turn = FrameSymmetry(code: 3)
        let single = try run(try scheduler(.perScene, lookAhead: 1, sceneThreshold: 1), [frame, turn.apply(frame)])
        XCTAssertEqual(single.count, 2)
        let ensembled = try run(try scheduler(.perScene, lookAhead: 1, sceneThreshold: 1, selfEnsembles: true), [frame])[0].image
        var expected = single[0].image
        let back = turn.invert(single[1].image)
        for i in expected.pixels.indices { expected.pixels[i] = (expected.pixels[i] + back.pixels[i]) / 2 }
        assertClose(ensembled, expected, "adapted: the half turn")
        XCTAssertGreaterThan(zip(ensembled.pixels, single[0].image.pixels).map { abs($0 - $1) }.max() ?? 0, 1e-3, "the ensemble changed the output")
    }

    /// A scene's blur is read on its frames' luma where the source stores chroma subsampled (4:2:0), on their colours
    /// where it does not: the 4:2:0 reading of colour frames is the full-chroma reading of their luma.
    func testTheBlurIsReadOnLumaWhereTheSourceSubsamplesChroma() throws {
        func reading(_ frames: [RGBImage], format: String) throws -> BlurEstimate {
            let scheduler = try self.scheduler(.perScene, steps: 1)
            scheduler.prepare(for: SourceStream(codecName: "ffv1", pixelFormatName: format))
            _ = try run(scheduler, frames)
            return try XCTUnwrap(scheduler.scenes.first?.blurEstimate)
        }
        let colour = (0..<3).map { SyntheticShots.frame(shot: 0, t: $0) }
        let fromColours = try reading(colour, format: "yuv444p")
        let from420 = try reading(colour, format: "yuv420p")
        let fromLuma = try reading(colour.map(\.lumaInEveryChannel), format: "yuv444p")
        XCTAssertEqual(from420.trace, fromLuma.trace, accuracy: 1e-3 * fromLuma.trace)
        XCTAssertEqual(from420.noBlurProbability, fromLuma.noBlurProbability, accuracy: 1e-3)
        XCTAssertGreaterThan(abs(from420.trace - fromColours.trace), 1e-2 * fromColours.trace, "the colour reading differs")
    }

    func testWeightsStayFixedWithinASceneUnlessWarmStepsAsk() throws {
        let still = SyntheticShots.frame(shot: 2, t: 0)
        let fixed = try run(try scheduler(.perScene), [still, still, still])
        XCTAssertEqual(fixed[1].image, fixed[2].image, "same input, same weights, same output")
        let warm = try run(try scheduler(.perScene, warmSteps: 1), [still, still, still])
        XCTAssertNotEqual(warm[1].image, warm[2].image, "warm steps change the weights between frames")
    }

    func testPerFrameAdaptsEveryFrameAndNoneNever() throws {
        let perFrame = try scheduler(.perFrame, steps: 1)
        _ = try run(perFrame, threeShots(length: 3))
        XCTAssertEqual(perFrame.scenes.map(\.laterAdaptations), [2, 2, 2])
        let none = try scheduler(.none)
        let outputs = try run(none, threeShots(length: 3))
        XCTAssertEqual(outputs.count, 9)
        XCTAssertEqual(none.scenes.count, 3)
        XCTAssertTrue(none.scenes.allSatisfy { $0.adaptation == nil })
        XCTAssertEqual(none.adaptSeconds, 0)
    }

    func testAReturningShotReusesItsCachedModel() throws {
        let shots = [0, 1, 0].flatMap { shot in (0..<4).map { SyntheticShots.frame(shot: shot, t: $0) } }
        let scheduler = try self.scheduler(.perScene)
        _ = try run(scheduler, shots)
        XCTAssertEqual(scheduler.scenes.map(\.firstFrame), [0, 4, 8])
        XCTAssertEqual(scheduler.scenes[2].adaptation?.kind, .cached)
        XCTAssertEqual(scheduler.scenes[2].adaptation?.steps, 0)
    }

    func testAnUnchangedDegradationKeepsThePreviousScenesModelsExactly() throws {
        // Tolerance 0: every refit counts as "unchanged", so each later scene must be upscaled by exactly the
        // first scene's adapted Gr, as if the video had been adapted once.
        let kept = try scheduler(.perScene, steps: 4, refitTolerance: 0)
        let keptOutputs = try run(kept, threeShots())
        let once = try run(try scheduler(.once, steps: 4), threeShots())
        XCTAssertEqual(kept.scenes.compactMap(\.adaptation?.kind), [.full, .warmShort, .warmShort])
        XCTAssertEqual(kept.scenes.compactMap(\.adaptation?.steps), [4, 1, 1], "only the Gd probe ran")
        XCTAssertEqual(kept.scenes[2].adaptation?.probe?.unchanged, true)
        XCTAssertEqual(keptOutputs.map(\.image), once.map(\.image))
    }

    func testAChangedDegradationAdaptsAgainWithFullSteps() throws {
        let changed = try scheduler(.perScene, steps: 4, refitTolerance: .infinity)
        let outputs = try run(changed, threeShots())
        XCTAssertEqual(changed.scenes.compactMap(\.adaptation?.kind), [.full, .full, .full])
        XCTAssertEqual(changed.scenes.compactMap(\.adaptation?.steps), [4, 4, 4])
        XCTAssertEqual(changed.scenes[1].adaptation?.probe?.unchanged, false, "the probe decided")
        let once = try run(try scheduler(.once, steps: 4), threeShots())
        XCTAssertEqual(outputs[0].image, once[0].image, "the first scene is adapted the same way")
        XCTAssertNotEqual(outputs[6].image, once[6].image, "the second scene has its own Gr")
    }
}
