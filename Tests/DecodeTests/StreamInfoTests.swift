import Decode
import Foundation
import TestSupport
import XCTest

final class StreamInfoTests: XCTestCase {
    /// FFmpeg's descriptors decide what counts as lossy: the block-transform codecs of web and archive video and
    /// JPEG are, lossless and uncompressed ones are not, and a name FFmpeg does not know is not.
    func testLossyCodecsAreTheOnesFFmpegMarksLossy() {
        for name in ["h264", "hevc", "vp9", "av1", "mpeg2video", "mpeg4", "mjpeg", "webp"] {
            XCTAssertTrue(CodecFacts.isLossy(name), name)
        }
        for name in ["ffv1", "png", "rawvideo", "huffyuv", "utvideo", "no-such-codec", ""] {
            XCTAssertFalse(CodecFacts.isLossy(name), name)
        }
    }

    /// AVI repeats a frame by an empty index entry, which FFmpeg's demuxer skips, and its header counts those entries
    /// as frames (opencv-doc's tree.avi: 444 stated, 68 decode). The stated count is the index's length where the index
    /// reaches the end; a file cut short has lost its index (it sits at the end) and keeps the header's count.
    func testAnAVIStatesTheFramesItsIndexHolds() throws {
        let folder = try TemporaryFolder("onsr-avi")
        defer { folder.remove() }
        // Frames 0-2, 10-12, ... of 60: 18 frames over 53 ticks of 1/15 s.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=4", "-vf", "select=lt(mod(n\\,10)\\,3)",
                          "-fps_mode", "passthrough", "-c:v", "mpeg4", "repeats.avi"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=4", "-c:v", "mpeg4", "plain.avi"], in: folder.path)
        let header = try Shell.ffprobe(["-v", "error", "-show_entries", "stream=nb_frames", "-of", "csv=p=0", "repeats.avi"], in: folder.path)
        XCTAssertEqual(Int(header.trimmingCharacters(in: .whitespacesAndNewlines)), 53, "the header counts the empty entries")
        XCTAssertEqual(try Demuxer(path: folder.file("repeats.avi")).streams[0].statedFrameCount, 18)
        XCTAssertEqual(try Demuxer(path: folder.file("plain.avi")).streams[0].statedFrameCount, 60)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: folder.file("repeats.avi")))
        try bytes.prefix(bytes.count * 6 / 10).write(to: URL(fileURLWithPath: folder.file("cut.avi")))
        XCTAssertEqual(try Demuxer(path: folder.file("cut.avi")).streams[0].statedFrameCount, 53)
    }
}
