import Decode
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
}
