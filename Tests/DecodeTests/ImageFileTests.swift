import Decode
import TestSupport
import XCTest

final class ImageFileTests: XCTestCase {
    func gradient(width: Int, height: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                image[0, y, x] = Float(x) / Float(width - 1)
                image[1, y, x] = Float(y) / Float(height - 1)
                image[2, y, x] = Float((x * 7 + y * 13) % 97) / 96
            }
        }
        return image
    }

    func testPNGRoundTripsAt8And16Bits() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let image = gradient(width: 37, height: 21)
        for depth in [8, 16] {
            let path = folder.file("g\(depth).png")
            try ImageFile.writePNG(image, to: path, bitDepth: depth)
            let back = try ImageFile.read(path: path)
            XCTAssertEqual(back.bitDepth, depth)
            XCTAssertEqual(back.image.width, 37)
            let tolerance: Float = depth == 8 ? 0.5 / 255 + 1e-6 : 0.5 / 65535 + 1e-6
            let worst = zip(back.image.pixels, image.pixels).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, tolerance, "depth \(depth)")
        }
    }

    func testPNGMatchesFFmpegsOwnDecode() throws {
        // ffmpeg writes the raw RGB of our PNG; it must equal what we decoded.
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try ImageFile.writePNG(gradient(width: 8, height: 4), to: folder.file("g.png"))
        try Shell.ffmpeg(["-i", "g.png", "-f", "rawvideo", "-pix_fmt", "rgb24", "g.rgb"], in: folder.path)
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.file("g.rgb"))))
        let decoded = try ImageFile.read(path: folder.file("g.png")).image
        for y in 0..<4 { for x in 0..<8 { for c in 0..<3 {
            XCTAssertEqual(Int((decoded[c, y, x] * 255).rounded()), Int(raw[(y * 8 + x) * 3 + c]))
        } } }
    }

    /// The codec is kept, so that `image` can tell a JPEG (lossy blocks) from a PNG.
    func testCodecNameTellsJPEGFromPNG() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try ImageFile.writePNG(gradient(width: 32, height: 16), to: folder.file("g.png"))
        try Shell.ffmpeg(["-i", "g.png", "-q:v", "3", "g.jpg"], in: folder.path)
        let png = try ImageFile.read(path: folder.file("g.png")), jpeg = try ImageFile.read(path: folder.file("g.jpg"))
        XCTAssertEqual(png.codecName, "png")
        XCTAssertFalse(png.isLossyCoded)
        XCTAssertEqual(jpeg.codecName, "mjpeg")
        XCTAssertTrue(jpeg.isLossyCoded)
    }

    func testNonImageIsAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.file("x.png"), contents: Data("nope".utf8)))
        XCTAssertThrowsError(try ImageFile.read(path: folder.file("x.png")))
    }
}
