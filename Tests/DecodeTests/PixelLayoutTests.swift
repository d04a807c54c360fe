import Decode
import XCTest

/// What the pixel-format facts say of FFmpeg's formats by name.
final class PixelLayoutTests: XCTestCase {
    func testSubsampledChromaIsToldApartFromFullChroma() {
        for name in ["yuv420p", "yuv422p", "yuv411p", "nv12", "yuvj420p", "yuv420p10le"] {
            XCTAssertTrue(PixelFormats.hasSubsampledChroma(named: name), name)
        }
        for name in ["yuv444p", "yuvj444p", "rgb24", "gbrp", "gray", "pal8", "no-such-format"] {
            XCTAssertFalse(PixelFormats.hasSubsampledChroma(named: name), name)
        }
    }

    func testAlphaIsKeptOnlyInAPlaneOfItsOwn() {
        XCTAssertTrue(PixelFormats.keepsAlpha(named: "rgba"))
        XCTAssertTrue(PixelFormats.keepsAlpha(named: "yuva420p"))
        XCTAssertFalse(PixelFormats.keepsAlpha(named: "pal8"), "a palette's transparency is not a plane")
        XCTAssertFalse(PixelFormats.keepsAlpha(named: "yuv420p"))
        XCTAssertTrue(PixelFormats.isPalette(named: "pal8"))
    }
}
