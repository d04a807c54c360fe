import Pipeline
import XCTest

final class TrimWindowTests: XCTestCase {
    /// `--start` and `--duration` take seconds or FFmpeg's `[HH:]MM:SS[.fff]`; anything else is refused.
    func testTimesAreSecondsOrClockTimes() {
        let accepted: [(String, Double)] = [("90", 90), ("12.5", 12.5), ("0", 0), ("1:30", 90), ("01:02:03.5", 3723.5),
                                            ("90:00", 5400), ("0:00:00.040", 0.04)]
        for (text, seconds) in accepted {
            XCTAssertEqual(TimeArgument.seconds(text) ?? -1, seconds, accuracy: 1e-9, text)
        }
        for text in ["", "abc", "-1", "1:75", "1:60:00", "1::2", ":30", "1:2:3:4", "1:-2", "inf", "nan", "1:٣0"] {
            XCTAssertNil(TimeArgument.seconds(text), text)
        }
    }

    /// The frames a window should hold follow the shorter of the window and what is left of the input.
    func testExpectedFramesFollowTheWindowAndTheInput() {
        XCTAssertEqual(TrimWindow(start: 1, duration: 2).expectedFrames(statedDuration: 4, frameRate: 25), 50)
        XCTAssertEqual(TrimWindow(start: 3, duration: 2).expectedFrames(statedDuration: 4, frameRate: 25), 25)
        XCTAssertEqual(TrimWindow(start: 1).expectedFrames(statedDuration: 4, frameRate: 25), 75)
        XCTAssertEqual(TrimWindow(start: 1, duration: 2).expectedFrames(statedDuration: nil, frameRate: 25), 50)
        XCTAssertNil(TrimWindow(start: 1).expectedFrames(statedDuration: nil, frameRate: 25))
        XCTAssertTrue(TrimWindow().isWhole)
        XCTAssertFalse(TrimWindow(duration: 5).isWhole)
        XCTAssertEqual(TrimWindow.describe(12.5), "12.5 s")
        XCTAssertEqual(TrimWindow.describe(4), "4 s")
    }
}
