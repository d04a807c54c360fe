import Decode
import Pipeline
import XCTest

/// Frames of another size are fitted into the stream's with their displayed shape kept, centred on black.
final class FrameRefitTests: XCTestCase {
    func testTheDisplayedShapeIsKept() {
        let wide = FrameRefit(width: 160, height: 90, sampleAspectRatio: Rational(1, 1))
        // 4:3 into 16:9: full height, bars left and right.
        XCTAssertTrue(wide.fittedSize(sourceWidth: 128, sourceHeight: 96, sourceAspect: 1) == (120, 90))
        // 2.39:1 into 16:9: full width, bars above and below.
        XCTAssertTrue(wide.fittedSize(sourceWidth: 239, sourceHeight: 100, sourceAspect: 1) == (160, 67))
        // PAL DV's 720x576 with 16:15 pixels is 4:3 on screen.
        XCTAssertTrue(wide.fittedSize(sourceWidth: 720, sourceHeight: 576, sourceAspect: 16.0 / 15) == (120, 90))
        // The same shape fills the frame, whatever its size.
        XCTAssertTrue(wide.fittedSize(sourceWidth: 1920, sourceHeight: 1080, sourceAspect: 1) == (160, 90))
        // Into anamorphic PAL (720x576 shown 16:9, pixels 64:45): a square-pixel 16:9 picture fills it.
        let anamorphic = FrameRefit(width: 720, height: 576, sampleAspectRatio: Rational(64, 45))
        XCTAssertTrue(anamorphic.fittedSize(sourceWidth: 1280, sourceHeight: 720, sourceAspect: 1) == (720, 576))
        XCTAssertTrue(anamorphic.fittedSize(sourceWidth: 640, sourceHeight: 480, sourceAspect: 1) == (540, 576))
    }

    func testAPictureIsCentredOnBlack() {
        var refit = FrameRefit(width: 16, height: 9, sampleAspectRatio: Rational(0, 1))
        let grey = RGBImage(width: 8, height: 6, pixels: [Float](repeating: 0.5, count: 3 * 8 * 6))
        let fitted = refit(grey, sampleAspectRatio: Rational(0, 1))
        XCTAssertEqual(fitted.width, 16)
        XCTAssertEqual(fitted.height, 9)
        // 8x6 is 4:3: 12x9 in the middle of 16x9, two black columns each side.
        for channel in 0..<3 {
            for y in 0..<9 {
                for x in 0..<16 {
                    let value = fitted.pixels[channel * 144 + y * 16 + x]
                    if x < 2 || x >= 14 { XCTAssertEqual(value, 0, "bar at \(x),\(y)") } else { XCTAssertEqual(value, 0.5, accuracy: 1e-5, "picture at \(x),\(y)") }
                }
            }
        }
    }
}
