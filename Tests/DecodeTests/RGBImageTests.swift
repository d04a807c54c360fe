import Decode
import XCTest

/// The planar RGB picture's derived values.
final class RGBImageTests: XCTestCase {
    func testLumaInEveryChannelCopiesTheBT601LumaIntoRGAndB() {
        var image = RGBImage(width: 2, height: 1)
        image[0, 0, 0] = 1; image[1, 0, 0] = 0; image[2, 0, 0] = 0
        image[0, 0, 1] = 0.2; image[1, 0, 1] = 0.4; image[2, 0, 1] = 1
        let grey = image.lumaInEveryChannel
        XCTAssertEqual(grey.width, 2)
        XCTAssertEqual(grey.height, 1)
        for c in 0..<3 {
            XCTAssertEqual(grey[c, 0, 0], 0.299, accuracy: 1e-6)
            XCTAssertEqual(grey[c, 0, 1], 0.299 * 0.2 + 0.587 * 0.4 + 0.114, accuracy: 1e-6)
        }
    }
}
