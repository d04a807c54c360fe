import Decode
import XCTest

/// Which outputs are many files, and which of those can be written elsewhere and moved: the job's choice between an
/// atomic move and writing in place rests on it.
final class MuxerTests: XCTestCase {
    func testPlaylistsAndSegmentsAreWrittenBesideTheirOutput() {
        for (name, format) in [("out.m3u8", nil), ("out.mpd", nil), ("out%03d.ts", "segment"), ("out%03d.mkv", "ssegment")] as [(String, String?)] {
            XCTAssertTrue(Muxer.writesManyFiles(name: name, formatName: format), name)
            XCTAssertTrue(Muxer.writesSegmentsBeside(name: name, formatName: format), name)
        }
    }

    func testTeeAndSmoothStreamingAreManyFilesElsewhere() {
        for format in ["tee", "smoothstreaming"] {
            XCTAssertTrue(Muxer.writesManyFiles(name: "out", formatName: format), format)
            XCTAssertFalse(Muxer.writesSegmentsBeside(name: "out", formatName: format), format)
        }
    }

    func testOneFileContainersAreNeither() {
        for name in ["out.mp4", "out.mkv", "out.ts", "frames_%04d.png"] {
            XCTAssertFalse(Muxer.writesManyFiles(name: name, formatName: nil), name)
            XCTAssertFalse(Muxer.writesSegmentsBeside(name: name, formatName: nil), name)
        }
    }
}
