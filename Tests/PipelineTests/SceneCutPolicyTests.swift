import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

/// The scene-cut decision both schedulers share, driven directly on tiny networks. The refit tolerance forces
/// each branch: 0 counts any refit as "unchanged", 2 counts every refit that does not double the loss as a change.
final class SceneCutPolicyTests: XCTestCase {
    var fixture: TinyAdaptationFixture!

    override func setUpWithError() throws { fixture = try TinyAdaptationFixture("onsr-cut") }
    override func tearDown() { fixture.remove() }

    /// Gr adapted on scene 0 and the adapter that did it; `pretrained` is Gr before.
    func adaptedFirstScene() throws -> (gr: RRDBNet, pretrained: [Tensor], previous: OnlineAdapter, settings: AdaptationOptions) {
        let gr = try ModelStore.load(fixture.model)
        let pretrained = gr.snapshot()
        var settings = TinyAdaptationFixture.adaptation
        settings.steps = 4
        let previous = OnlineAdapter(gr: gr, external: fixture.photos.images, options: settings)
        gr.setTrainable(true)
        previous.adapt(frames: (0..<3).map { SyntheticShots.frame(shot: 0, t: $0) })
        gr.setTrainable(false)
        return (gr, pretrained, previous, settings)
    }

    func values(_ tensors: [Tensor]) -> [Float] { tensors.flatMap(\.values) }

    func testUnchangedDegradationKeepsThePreviousModelsExactly() throws {
        let (gr, pretrained, previous, settings) = try adaptedFirstScene()
        let adaptedGr = gr.snapshot(), oldGd = previous.gd.snapshot()
        let outcome = SceneCutPolicy(steps: 4, refitTolerance: 0).decide(
            frames: (0..<3).map { SyntheticShots.frame(shot: 1, t: $0) }, index: 7, gr: gr, pretrained: pretrained,
            previous: previous, makeAdapter: { OnlineAdapter(gr: gr, external: self.fixture.photos.images, options: settings, gd: $0, dl: $1) })
        XCTAssertTrue(outcome.completed)
        XCTAssertEqual(outcome.record.kind, .warmShort)
        XCTAssertEqual(outcome.record.frame, 7)
        XCTAssertEqual(outcome.record.steps, 1, "the probe: a quarter of the steps")
        let probe = try XCTUnwrap(outcome.record.probe)
        XCTAssertTrue(probe.unchanged)
        XCTAssertNotNil(probe.kernelSimilarity, "both schedulers record the kernels' similarity")
        XCTAssertEqual(values(gr.snapshot()), values(adaptedGr), "the previous scene's Gr, exactly")
        XCTAssertEqual(values(outcome.adapter.gd.snapshot()), values(oldGd), "the previous scene's Gd, exactly")
    }

    func testChangedDegradationAdaptsInFullFromThePretrainedGr() throws {
        let (gr, pretrained, previous, settings) = try adaptedFirstScene()
        let adaptedGr = gr.snapshot()
        var reported: [Int] = []
        let outcome = SceneCutPolicy(steps: 4, refitTolerance: 2).decide(
            frames: (0..<3).map { SyntheticShots.frame(shot: 2, t: $0) }, index: 9, gr: gr, pretrained: pretrained,
            previous: previous, makeAdapter: { OnlineAdapter(gr: gr, external: self.fixture.photos.images, options: settings, gd: $0, dl: $1) },
            progress: { reported.append($0.step) })
        XCTAssertTrue(outcome.completed)
        XCTAssertEqual(outcome.record.kind, .full)
        XCTAssertEqual(outcome.record.steps, 4)
        XCTAssertEqual(outcome.record.probe?.unchanged, false)
        XCTAssertEqual(reported, [1, 1, 2, 3, 4], "the probe's step, then the full adaptation's")
        XCTAssertFalse(outcome.adapter === previous, "a fresh adapter")
        XCTAssertNotEqual(values(gr.snapshot()), values(adaptedGr))
        XCTAssertNotEqual(values(gr.snapshot()), values(pretrained), "adapted from the pretrained Gr")
        XCTAssertFalse(gr.namedParameters().contains { $0.1.requiresGrad }, "Gr left frozen")
    }

    func testStoppingEndsTheAdaptationIncomplete() throws {
        let (gr, pretrained, previous, settings) = try adaptedFirstScene()
        var asked = 0
        let outcome = SceneCutPolicy(steps: 4, refitTolerance: 2).decide(
            frames: [SyntheticShots.frame(shot: 2, t: 0)], index: 3, gr: gr, pretrained: pretrained, previous: previous,
            makeAdapter: { OnlineAdapter(gr: gr, external: self.fixture.photos.images, options: settings, gd: $0, dl: $1) },
            shouldStop: { asked += 1; return asked > 3 })
        XCTAssertFalse(outcome.completed)
        XCTAssertEqual(outcome.record.kind, .full)
        XCTAssertEqual(outcome.record.steps, 2, "the probe's step and two of the full adaptation's, then the stop")
    }
}
