import Pipeline
import XCTest

/// Judging a stream that decoded fewer frames, or a shorter span, than its container states.
final class InputDamageTests: XCTestCase {
    /// An MP4 of 100 frames at 25 fps, 4 s.
    let mp4 = StreamShortfall(statedFrameCount: 100, statedDuration: 4, frameSeconds: 0.04)

    func testAllTheFramesOrAFewLessAreNoShortfall() {
        XCTAssertNil(mp4.judge(frames: 100, span: 4))
        XCTAssertNil(mp4.judge(frames: 98, span: 3.92), "two frames of margin (edit lists, rounding)")
    }

    func testACutFileFallsShortByItsFrameCount() {
        XCTAssertEqual(mp4.judge(frames: 60, span: 2.4), "the video ends after 60 of the 100 frames its container states")
    }

    /// AVI states one entry per tick of its rate and skips repeated frames: opencv-doc's tree.avi decodes 68 of its
    /// 444 stated frames, the last at 29.53 s of 29.60 s, and is whole.
    func testFewerFramesThatSpanTheStatedDurationAreNoShortfall() {
        let tree = StreamShortfall(statedFrameCount: 444, statedDuration: 29.6, frameSeconds: 1 / 15)
        XCTAssertNil(tree.judge(frames: 68, span: 29.53 + 1.0 / 15))
        XCTAssertNotNil(tree.judge(frames: 68, span: 10), "the same frames over a third of the time are a cut")
    }

    /// Without a frame count (Matroska, a trim window's start) the span alone is judged, against 2% or two frames.
    func testWithoutACountTheSpanIsJudged() {
        let mkv = StreamShortfall(statedFrameCount: nil, statedDuration: 10, frameSeconds: 0.04)
        XCTAssertNil(mkv.judge(frames: 250, span: 9.85))
        XCTAssertEqual(mkv.judge(frames: 200, span: 8), "the video ends after 8.00 s of the 10.00 s its container states")
        XCTAssertNotNil(mp4.judge(frames: nil, span: 2), "a trimmed read: the frame count is not used")
        XCTAssertNil(StreamShortfall(statedFrameCount: nil, statedDuration: nil, frameSeconds: 0.04).judge(frames: 1, span: 0.04),
                     "nothing stated, nothing to fall short of")
    }
}
