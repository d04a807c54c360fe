import Decode
import XCTest

/// Which outputs are many files, and which of those can be written elsewhere and moved: the job's choice between an
/// atomic move and writing in place rests on it.
final class MuxerTests: XCTestCase {
    func testPlaylistsAndSegmentsAreWrittenBesideTheirOutput() {
        for (name, format) in [("out.m3u8", nil), ("out.mpd", nil), ("out%03d.ts", "segment"), ("out%03d.mkv", "ssegment")] as [(String, String?)] {
            XCTAssertEqual(Muxer.fileLayout(name: name, formatName: format), .segmentsBeside, name)
        }
    }

    func testTeeAndSmoothStreamingAreManyFilesElsewhere() {
        for format in ["tee", "smoothstreaming"] {
            XCTAssertEqual(Muxer.fileLayout(name: "out", formatName: format), .elsewhere, format)
        }
    }

    func testOneFileContainersAreNeither() {
        for name in ["out.mp4", "out.mkv", "out.ts", "frames_%04d.png"] {
            XCTAssertEqual(Muxer.fileLayout(name: name, formatName: nil), .oneFile, name)
        }
    }
}
