import Decode
import Pipeline
import TestSupport
import XCTest

final class FrameFolderJobTests: XCTestCase {
    func testNaturalOrderCountsDigitRunsByValue() {
        let names = ["frame10.png", "frame2.png", "frame1.png", "frame02.png", "a.png", "frame1b.png", "frame100.png"]
        XCTAssertEqual(names.sorted { NaturalOrder.precedes($0, $1) },
                       ["a.png", "frame1.png", "frame1b.png", "frame02.png", "frame2.png", "frame10.png", "frame100.png"])
        XCTAssertFalse(NaturalOrder.precedes("x", "x"))
    }

    /// A picture the caller already decoded is upscaled as given, not read from the file a second time.
    func testRunImageUpscalesThePictureTheCallerDecoded() throws {
        let folder = try TemporaryFolder("frame-folder-job")
        defer { folder.remove() }
        try ImageFile.writePNG(RGBImage(width: 8, height: 6), to: folder.file("in.png"))
        let job = FrameFolderJob(upscaler: InterpolationUpscaler(kernel: .bicubic, scale: 2, name: "bicubic"), overwrite: false)
        _ = try job.runImage(folder.file("in.png"), into: folder.file("read.png"))
        XCTAssertEqual(try ImageFile.read(path: folder.file("read.png")).image.width, 16)
        var given = try ImageFile.read(path: folder.file("in.png"))
        given.image = RGBImage(width: 5, height: 4)
        _ = try job.runImage(folder.file("in.png"), into: folder.file("given.png"), decoded: given)
        XCTAssertEqual(try ImageFile.read(path: folder.file("given.png")).image.width, 10, "the caller's decode, not a second read")
    }
}
