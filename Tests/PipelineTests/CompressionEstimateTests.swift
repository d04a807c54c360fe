import Decode
import Engine
import ONSR
import Pipeline
import TestSupport
import XCTest

/// A scene's compression profile from its frames' coding.
final class CompressionEstimateTests: XCTestCase {
    func frame(quantiser: Double?, intra: Bool) -> TimedFrame {
        var frame = TimedFrame(image: RGBImage(width: 64, height: 64), pts: 0)
        frame.coding = FrameCoding(quantiser: quantiser.map { QuantiserReading(scale: .h264, mean: $0, range: $0...$0) }, intra: intra)
        return frame
    }

    func testProfileFromTheFramesCoding() throws {
        let frames = [frame(quantiser: 24, intra: true), frame(quantiser: 30, intra: false), frame(quantiser: nil, intra: false),
                      frame(quantiser: 30, intra: false)]
        let profile = try XCTUnwrap(CompressionEstimate.profile(source: SourceStream(codecName: "h264", pixelFormatName: "yuv420p"), frames: frames))
        XCTAssertEqual(profile.codec, .h264)
        XCTAssertEqual(profile.quantiser, 28, "the mean of the frames that carry one")
        XCTAssertEqual(profile.predictedShare, 0.75)
        XCTAssertTrue(profile.chromaSubsampled)
        XCTAssertEqual(profile.noiseSigma, 0, accuracy: 0.01, "black frames carry no noise")
        let full = CompressionEstimate.profile(source: SourceStream(codecName: "mpeg2video", pixelFormatName: "yuv444p"), frames: frames)
        XCTAssertEqual(full?.codec, .mpeg2)
        XCTAssertEqual(full?.chromaSubsampled, false)
        let fullRange444 = CompressionEstimate.profile(source: SourceStream(codecName: "mjpeg", pixelFormatName: "yuvj444p"), frames: frames)
        XCTAssertEqual(fullRange444?.chromaSubsampled, false, "Motion JPEG at 4:4:4 (a full-range format)")
        let fullRange420 = CompressionEstimate.profile(source: SourceStream(codecName: "mjpeg", pixelFormatName: "yuvj420p"), frames: frames)
        XCTAssertEqual(fullRange420?.chromaSubsampled, true)
    }

    /// A JPEG still: the quantiser from its table, 4:2:0 from its pixel format; a PNG has nothing to reproduce.
    func testProfileOfAStillPicture() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try ImageFile.writePNG(SyntheticShots.frame(shot: 1, t: 0, width: 64, height: 48), to: folder.file("p.png"))
        try Shell.ffmpeg(["-i", "p.png", "-q:v", "7", "-pix_fmt", "yuvj420p", "p.jpg"], in: folder.path)
        try Shell.ffmpeg(["-i", "p.png", "-q:v", "7", "-pix_fmt", "yuvj444p", "full.jpg"], in: folder.path)
        let jpeg = try XCTUnwrap(CompressionEstimate.profile(picture: ImageFile.read(path: folder.file("p.jpg")), path: folder.file("p.jpg")))
        XCTAssertEqual(jpeg.codec, .jpeg)
        XCTAssertEqual(jpeg.quantiser, 7, accuracy: 0.2)
        XCTAssertTrue(jpeg.chromaSubsampled)
        XCTAssertEqual(try CompressionEstimate.profile(picture: ImageFile.read(path: folder.file("full.jpg")), path: folder.file("full.jpg"))?.chromaSubsampled, false)
        XCTAssertNil(CompressionEstimate.profile(picture: try ImageFile.read(path: folder.file("p.png")), path: folder.file("p.png")))
    }

    func testNothingToReproduce() {
        let frames = [frame(quantiser: 30, intra: true)]
        XCTAssertNil(CompressionEstimate.profile(source: SourceStream(codecName: "ffv1", pixelFormatName: "yuv420p"), frames: frames),
                     "a codec the compressor does not know")
        XCTAssertNil(CompressionEstimate.profile(source: SourceStream(codecName: "h264", pixelFormatName: "yuv420p"),
                                                 frames: [frame(quantiser: nil, intra: true)]), "no quantiser exported")
        XCTAssertNil(CompressionEstimate.profile(source: nil, frames: frames), "pictures, not a video stream")
    }
}
