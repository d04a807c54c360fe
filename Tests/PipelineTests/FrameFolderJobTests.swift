import Pipeline
import XCTest

final class FrameFolderJobTests: XCTestCase {
    func testNaturalOrderCountsDigitRunsByValue() {
        let names = ["frame10.png", "frame2.png", "frame1.png", "frame02.png", "a.png", "frame1b.png", "frame100.png"]
        XCTAssertEqual(names.sorted { NaturalOrder.precedes($0, $1) },
                       ["a.png", "frame1.png", "frame1b.png", "frame02.png", "frame2.png", "frame10.png", "frame100.png"])
        XCTAssertFalse(NaturalOrder.precedes("x", "x"))
    }
}
