import Decode
import TestSupport
import XCTest

/// The quantiser each decoded frame reports equals what the encoder was told to use.
final class QuantiserTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-quantiser") }
    override func tearDown() { folder.remove() }

    /// Every frame's reading, in decoding order.
    func readings(_ file: String, export: Bool = true) throws -> [QuantiserReading?] {
        var result: [QuantiserReading?] = []
        try forEachDecodedFrame(of: folder.file(file), exportQuantisers: export) { result.append($0.quantiser) }
        return result
    }

    func testH264AtAFixedQP() throws {
        // Constant QP with the I/P/B offsets and adaptive quantisation off: every block of every frame is 30.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "12", "-c:v", "libx264",
                          "-x264-params", "qp=30:ipratio=1:pbratio=1:aq-mode=0", "h264.mkv"], in: folder.path)
        let read = try readings("h264.mkv")
        XCTAssertEqual(read.count, 12)
        for reading in read {
            XCTAssertEqual(reading?.scale, .h264)
            XCTAssertEqual(reading?.mean, 30)
            XCTAssertEqual(reading?.range, 30...30)
        }
        XCTAssertTrue(try readings("h264.mkv", export: false).allSatisfy { $0 == nil }, "nothing is exported unless asked")
    }

    func testMPEGFamilyAtFixedQuantiserScales() throws {
        for (codec, q) in [("mpeg2video", 4), ("mpeg2video", 8), ("mpeg4", 5)] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "12", "-c:v", codec,
                              "-qscale:v", String(q), "m\(q).mkv"], in: folder.path)
            let read = try readings("m\(q).mkv")
            XCTAssertEqual(read.count, 12)
            // FFmpeg's MPEG-2 decoder attaches none to the last frame, which comes out at the flush.
            XCTAssertGreaterThanOrEqual(read.compactMap { $0 }.count, 11, codec)
            for reading in read.compactMap({ $0 }) {
                XCTAssertEqual(reading.scale, .mpeg2)
                XCTAssertEqual(reading.mean, Double(q), "\(codec) qscale \(q)")
            }
        }
    }
}
