import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

/// The live scheduler on tiny networks: frames never wait, adapted models take over at cuts, and two-phase's
/// degradation check keeps the running model when the degradation did not change.
final class LiveSchedulerTests: XCTestCase {
    var fixture: TinyAdaptationFixture!
    var photos: PhotoSet { fixture.photos }
    var model: ModelInfo { fixture.model }

    override func setUpWithError() throws { fixture = try TinyAdaptationFixture("onsr-live") }

    override func tearDown() { fixture.remove() }

    func scheduler(refitTolerance: Float, favourAdaptation: Bool = false, blurEstimateWitness: Bool = false,
                   codecAware: Bool = true) throws -> LiveScheduler {
        let adaptation = TinyAdaptationFixture.adaptation
        var options = LiveOptions()
        options.steps = 4
        options.maxSwitchDelay = 1_000
        options.refitTolerance = refitTolerance
        // Most tests here drive the L_IB probe, as the file-mode scheduler's do; the estimator's witness has its own.
        options.blurEstimateWitness = blurEstimateWitness
        options.favourAdaptation = favourAdaptation
        options.codecAware = codecAware
        return try LiveScheduler(model: model, external: photos, adaptation: adaptation, options: options)
    }

    /// Feeds frames of `shot` until the background adaptation started at its first frame has finished, so that
    /// the test does not depend on the machine's speed.
    func feedUntilAdapted(_ live: LiveScheduler, shot: Int, from frame: inout Int, outputs: inout [TimedFrame],
                          coding: FrameCoding? = nil) throws {
        let finishedBefore = live.adaptSeconds
        var t = 0
        let deadline = Date().addingTimeInterval(60)
        repeat {
            let image = SyntheticShots.frame(shot: shot, t: t % 4)
            var timed = TimedFrame(image: image, pts: Int64(frame), seconds: Double(frame) / 10)
            timed.coding = coding
            let produced = try live.submit(timed)
            XCTAssertEqual(produced.count, 1, "every frame comes out at once, adapted or not")
            outputs += produced
            frame += 1
            t += 1
            usleep(2_000)
        } while live.adaptSeconds == finishedBefore && Date() < deadline
        XCTAssertGreaterThan(live.adaptSeconds, finishedBefore, "the background adaptation finished")
    }

    func testTheAdaptedModelTakesOverAtTheNextCut() throws {
        let live = try scheduler(refitTolerance: 0)
        var frame = 0, outputs: [TimedFrame] = []
        try feedUntilAdapted(live, shot: 0, from: &frame, outputs: &outputs)
        let cut = frame
        try feedUntilAdapted(live, shot: 1, from: &frame, outputs: &outputs)
        _ = try live.finish()
        XCTAssertEqual(outputs.map(\.pts), (0..<frame).map(Int64.init), "every frame, in order")
        XCTAssertEqual(live.switches.map(\.how), ["scene-cut"])
        XCTAssertEqual(live.switches.first?.tookOverAtFrame, cut)
        XCTAssertEqual(live.scenes.map(\.firstFrame), [0, cut])
        XCTAssertEqual(live.scenes.compactMap(\.adaptation?.kind), [.full, .warmShort],
                       "tolerance 0: the degradation counts as unchanged and the running model stays")
        XCTAssertEqual(live.scenes[1].adaptation?.steps, 1, "only the Gd probe ran")
        XCTAssertEqual(live.scenes[1].adaptation?.probe?.unchanged, true)
    }

    func testAChangedDegradationBringsASecondModel() throws {
        let live = try scheduler(refitTolerance: .infinity)
        var frame = 0, outputs: [TimedFrame] = []
        try feedUntilAdapted(live, shot: 0, from: &frame, outputs: &outputs)
        try feedUntilAdapted(live, shot: 1, from: &frame, outputs: &outputs)
        let secondCut = frame
        try feedUntilAdapted(live, shot: 2, from: &frame, outputs: &outputs)
        _ = try live.finish()
        XCTAssertEqual(live.scenes.compactMap(\.adaptation?.kind), [.full, .full, .full])
        XCTAssertEqual(live.scenes.compactMap(\.adaptation?.steps), [4, 4, 4])
        XCTAssertEqual(live.switches.map(\.tookOverAtFrame).last, secondCut)
        XCTAssertEqual(live.switches.count, 2, "the third scene's model is ready only after the stream ended")
    }

    /// Favouring the adaptation changes only how frames are scheduled on the cores: the same frames come out.
    func testFavouringTheAdaptationKeepsEveryFrameTheSame() throws {
        var runs: [(outputs: [TimedFrame], cut: Int)] = []
        for favour in [false, true] {
            let live = try scheduler(refitTolerance: 0, favourAdaptation: favour)
            final class Run: @unchecked Sendable { var frame = 0, cut = 0, outputs: [TimedFrame] = [], failure: Error? }
            let run = Run(), done = DispatchSemaphore(value: 0)
            // On a thread of its own: favouring lowers the upscaling thread's priority for good.
            let feeder = Thread {
                do {
                    try self.feedUntilAdapted(live, shot: 0, from: &run.frame, outputs: &run.outputs)
                    run.cut = run.frame
                    try self.feedUntilAdapted(live, shot: 1, from: &run.frame, outputs: &run.outputs)
                    _ = try live.finish()
                } catch { run.failure = error }
                done.signal()
            }
            feeder.start()
            done.wait()
            XCTAssertNil(run.failure)
            XCTAssertEqual(live.switches.map(\.how), ["scene-cut"])
            XCTAssertEqual(live.switches.first?.tookOverAtFrame, run.cut)
            runs.append((run.outputs, run.cut))
        }
        // The first shot's frames, upscaled by the pretrained model while the adaptation ran.
        let shared = min(runs[0].cut, runs[1].cut)
        XCTAssertGreaterThan(shared, 0)
        for i in 0..<shared {
            XCTAssertEqual(runs[0].outputs[i].image.pixels, runs[1].outputs[i].image.pixels, "frame \(i)")
        }
    }

    /// A fresh adaptation is set up as in file mode (`SceneSetup`): on H.264 input the input's compression is reproduced
    /// and Gr is fine-tuned through the spectral shape; on uncoded input through the blur estimator's kernel, read from
    /// the scene's first frames (on their luma, the source being 4:2:0). `--no-codec-aware` keeps the shape and
    /// reproduces no compression.
    func testAFreshAdaptationReproducesTheInputsCodecAndReadsItsBlur() throws {
        let sampled = (0..<LiveOptions().sampleFrames).map { SyntheticShots.frame(shot: 0, t: $0 % 4) }
        let reading = try XCTUnwrap(BlurEstimation.estimate(frames: sampled, scale: model.configuration.scale, subsampledChroma: true))
        let coding = FrameCoding(quantiser: QuantiserReading(scale: .h264, mean: 30, range: 30...30), intra: false)
        for (codec, codecAware) in [("h264", true), ("ffv1", true), ("h264", false)] {
            let live = try scheduler(refitTolerance: 0, codecAware: codecAware)
            live.prepare(for: SourceStream(codecName: codec, pixelFormatName: "yuv420p"))
            XCTAssertEqual(live.wantsFrameCoding, codecAware, "the decoder is asked for the quantisers")
            var frame = 0, outputs: [TimedFrame] = []
            try feedUntilAdapted(live, shot: 0, from: &frame, outputs: &outputs, coding: coding)
            _ = try live.finish()
            let scene = try XCTUnwrap(live.scenes.first)
            XCTAssertEqual(scene.adaptation?.kind, .full)
            XCTAssertEqual(scene.blurEstimate, reading, "\(codec): the reading of the scene's first frames")
            if codec == "h264" && !codecAware {
                XCTAssertEqual(scene.kernelShape, .spectral)
                XCTAssertNil(scene.compression, "blur-only, as asked")
            } else if codec == "h264" {
                XCTAssertEqual(scene.kernelShape, .spectral, "coded frames read too sharp")
                XCTAssertEqual(scene.compression?.codec, .h264)
                XCTAssertEqual(scene.compression?.quantiser, 30)
                XCTAssertEqual(scene.compression?.predictedShare, 1)
            } else {
                XCTAssertEqual(scene.kernelShape, .learned)
                XCTAssertNil(scene.compression, "FFV1 is lossless: nothing to reproduce")
            }
        }
    }

    /// A changed reading of the blur at a cut means a changed degradation, whatever the probe finds, as in file mode:
    /// with the probe told to find every degradation unchanged (tolerance 0), the second shot still gets its own
    /// adaptation (with the witness off, `testTheAdaptedModelTakesOverAtTheNextCut`, it keeps the first one's).
    func testAChangedBlurReadingAtACutBringsAFullAdaptation() throws {
        let readings = try [0, 1].map { shot in
            try XCTUnwrap(BlurEstimation.estimate(frames: (0..<8).map { SyntheticShots.frame(shot: shot, t: $0 % 4) }, scale: 2))
        }
        XCTAssertTrue(readings[1].differs(from: readings[0], scale: 2).differs, "the fixture's two shots read as different blurs")
        let live = try scheduler(refitTolerance: 0, blurEstimateWitness: true)
        var frame = 0, outputs: [TimedFrame] = []
        try feedUntilAdapted(live, shot: 0, from: &frame, outputs: &outputs)
        try feedUntilAdapted(live, shot: 1, from: &frame, outputs: &outputs)
        _ = try live.finish()
        XCTAssertEqual(live.scenes.compactMap(\.adaptation?.kind), [.full, .full])
        XCTAssertEqual(live.scenes[1].adaptation?.probe?.unchanged, false)
        XCTAssertEqual(live.scenes.map(\.blurEstimate), readings)
    }
}
