import Decode
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

/// What `StartingModel` reads from a video's first frames before it chooses the model to start from.
final class StartingModelTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-starting-model") }
    override func tearDown() { folder.remove() }

    func probe(_ name: String) throws -> VideoProbe {
        try XCTUnwrap(StartingModel.probe(folder.file(name), format: nil), name)
    }

    /// x264 at a fixed QP: the codec and that QP; the chroma layout from the stream's pixel format; three frames
    /// kept for the blur estimate, in RGB at the stream's size.
    func testTheProbeReadsTheCodingAndTheChromaLayout() throws {
        for (pixelFormat, subsampled) in [("yuv420p", true), ("yuv444p", false)] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "12", "-c:v", "libx264", "-qp", "27",
                              "-pix_fmt", pixelFormat, "\(pixelFormat).mp4"], in: folder.path)
            let probed = try probe("\(pixelFormat).mp4")
            XCTAssertEqual(probed.compression?.codec, .h264)
            XCTAssertEqual(try XCTUnwrap(probed.compression?.quantiser), 27, accuracy: 1, "x264 -qp 27 (P and B frames may step from it)")
            XCTAssertEqual(probed.hasSubsampledChroma, subsampled, pixelFormat)
            XCTAssertEqual(probed.frames.count, 3)
            XCTAssertEqual(probed.frames.first.map { [$0.width, $0.height] }, [96, 64])
        }
    }

    /// FFV1 exports no quantiser (no compression to reproduce); its 4:2:0 still counts as subsampled, RGB does not.
    func testLosslessInputHasNoCompressionReading() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "2", "-c:v", "ffv1", "-pix_fmt", "yuv420p",
                          "a.mkv"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "2", "-c:v", "ffv1", "-pix_fmt", "bgr0",
                          "b.mkv"], in: folder.path)
        let yuv = try probe("a.mkv"), rgb = try probe("b.mkv")
        XCTAssertNil(yuv.compression)
        XCTAssertTrue(yuv.hasSubsampledChroma)
        XCTAssertFalse(rgb.hasSubsampledChroma)
        XCTAssertEqual(yuv.frames.count, 2, "a clip shorter than the probe keeps what it has")
    }

    /// The decision keeps its evidence: the quantiser, and the blur estimate where the quantiser did not decide alone.
    func testTheDecisionKeepsWhatItRestsOn() throws {
        for qscale in [5, 10] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25,gblur=sigma=1.5", "-frames:v", "10", "-c:v", "mpeg2video",
                              "-qscale:v", String(qscale), "m\(qscale).mkv"], in: folder.path)
        }
        let heavy = try XCTUnwrap(StartingModel.decision(forVideo: folder.file("m10.mkv"), format: nil, scale: 2))
        XCTAssertEqual(heavy.model, "fast-x2-real")
        XCTAssertEqual(heavy.codec, "mpeg2")
        XCTAssertEqual(try XCTUnwrap(heavy.quantiser), 10, accuracy: 0.01)
        XCTAssertNil(heavy.noBlurProbability, "qscale 10 decides without the estimator")
        let read = try XCTUnwrap(StartingModel.decision(forVideo: folder.file("m5.mkv"), format: nil, scale: 2))
        XCTAssertEqual(try XCTUnwrap(read.quantiser), 5, accuracy: 0.01)
        XCTAssertLessThan(try XCTUnwrap(read.noBlurProbability), BlurEstimate.noBlurThreshold, "the blurred clip reads as blurred")
        XCTAssertGreaterThan(try XCTUnwrap(read.blurTrace), 0)
        XCTAssertEqual(read.model, "fast-x2-real", "so qscale 5 hands it to the real model")
    }

    /// Nothing to read: no probe, so the default model stays.
    func testAnUnreadableFileHasNoProbe() throws {
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: folder.file("x.mp4")))
        XCTAssertNil(StartingModel.probe(folder.file("x.mp4"), format: nil))
        XCTAssertNil(StartingModel.choice(forVideo: folder.file("x.mp4"), format: nil, scale: 2))
        XCTAssertNil(StartingModel.decision(forVideo: folder.file("x.mp4"), format: nil, scale: 2))
    }
}
