import Decode
import Foundation
import TestSupport
import XCTest

/// The JPEG quantiser read from the file's table equals the one FFmpeg's encoder was given.
final class JPEGQuantiserTests: XCTestCase {
    func testQscaleOfFFmpegJPEGsIsTheEncoders() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=48x32", "-frames:v", "1", "g.png"], in: folder.path)
        for qscale in [2, 5, 12, 24] {
            try Shell.ffmpeg(["-i", "g.png", "-q:v", "\(qscale)", "q\(qscale).jpg"], in: folder.path)
            let read = try XCTUnwrap(JPEGQuantiser.qscale(path: folder.file("q\(qscale).jpg")))
            // The encoder rounds each table entry down, so the reading sits at most a step's rounding below.
            XCTAssertEqual(read, Double(qscale), accuracy: 0.2, "qscale \(qscale)")
        }
        XCTAssertNil(JPEGQuantiser.qscale(path: folder.file("g.png")), "not a JPEG")
    }

    /// A libjpeg-style table (Annex K's luma table at quality 50, 16-bit precision here) maps to the qscale whose
    /// table has the same mean AC step; damaged files have none.
    func testOtherTablesAndDamagedFiles() {
        let annexK = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                      14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                      49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
        var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00]  // SOI, an APP0 of two bytes
        bytes += [0xFF, 0xDB, 0x00, UInt8(2 + 1 + 128), 0x10] + annexK.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        bytes += [0xFF, 0xDA, 0x00, 0x02]
        let meanStep = Double(annexK.reduce(0, +) - annexK[0]) / 63
        XCTAssertEqual(JPEGQuantiser.qscale(jpeg: bytes) ?? 0, 8 * meanStep / (2106.0 / 63), accuracy: 1e-9)
        XCTAssertNil(JPEGQuantiser.qscale(jpeg: Array(bytes.prefix(20))), "cut inside the table")
        XCTAssertNil(JPEGQuantiser.qscale(jpeg: [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]), "a scan before any table")
        XCTAssertNil(JPEGQuantiser.qscale(jpeg: []))
    }
}
