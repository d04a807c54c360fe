import Pipeline
import XCTest

final class OutputSizeTests: XCTestCase {
    /// Both sides as asked; one side asked, the other keeps the shape on an even number; none, the model's size.
    func testTheSizeFollowsWhatWasAskedAndKeepsTheShape() {
        XCTAssertTrue(OutputSize().isNative)
        XCTAssertTrue(OutputSize().resolved(scaledWidth: 2560, scaledHeight: 1440) == (2560, 1440))
        XCTAssertTrue(OutputSize(height: 1080).resolved(scaledWidth: 2560, scaledHeight: 1440) == (1920, 1080))
        XCTAssertTrue(OutputSize(width: 1920).resolved(scaledWidth: 2560, scaledHeight: 1440) == (1920, 1080))
        XCTAssertTrue(OutputSize(width: 300).resolved(scaledWidth: 320, scaledHeight: 240) == (300, 226), "225 rounds to an even 226")
        XCTAssertTrue(OutputSize(width: 640, height: 480).resolved(scaledWidth: 1440, scaledHeight: 1056) == (640, 480))
    }
}
