import Decode
import Foundation
import Pipeline
import XCTest

/// Synthetic shots with motion inside them, for cut detection and the scheduler.
enum SyntheticShots {
    /// Frame `t` of shot `shot` (0, 1 or 2): three different contents, each moving a little from frame to frame.
    static func frame(shot: Int, t: Int, width: Int = 64, height: Int = 48) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width {
            let (fx, fy) = (Float(x + t), Float(y))
            let value: (Float, Float, Float)
            switch shot {
            case 0: value = (0.5 + 0.4 * sinf(fx * 0.35), 0.4 + 0.3 * cosf(fy * 0.2), 0.3)
            case 1: value = ((x + t) / 6 % 2 == (y / 6) % 2 ? 0.85 : 0.15, 0.6, 0.2 + 0.6 * Float(y) / Float(height))
            default:
                let r = sqrtf((fx - 32) * (fx - 32) + (fy - 24) * (fy - 24))
                value = (0.2, 0.25 + 0.2 * sinf(r * 0.6), 0.7 + 0.2 * cosf(r * 0.3))
            }
            image[0, y, x] = value.0; image[1, y, x] = value.1; image[2, y, x] = value.2
        } }
        return image
    }
}

final class SceneDetectorTests: XCTestCase {
    func testHardCutsAreFoundAtExactlyTheRightFrames() {
        var detector = SceneDetector()
        var starts: [Int: SceneStart] = [:]
        for i in 0..<36 {
            if let start = detector.observe(FrameSignature(of: SyntheticShots.frame(shot: i / 12, t: i % 12))) { starts[i] = start }
        }
        XCTAssertEqual(starts, [0: .first, 12: .cut, 24: .cut])
    }

    func testAFadeToBlackStartsANewSceneButNotAtEveryFrame() {
        var detector = SceneDetector()
        var starts: [Int] = []
        for i in 0..<40 {
            var image = SyntheticShots.frame(shot: 0, t: i)
            let gain = max(0, 1 - Float(i) / 30)
            for j in 0..<image.pixels.count { image.pixels[j] *= gain }
            if detector.observe(FrameSignature(of: image)) != nil { starts.append(i) }
        }
        XCTAssertEqual(starts.first, 0)
        XCTAssertGreaterThanOrEqual(starts.count, 2, "the fade is noticed: \(starts)")
        XCTAssertLessThanOrEqual(starts.count, 5, "a fade is not a cut at every frame: \(starts)")
    }

    func testLongScenesAreSplitForRefresh() {
        var detector = SceneDetector(maxSceneLength: 10)
        var starts: [Int: SceneStart] = [:]
        for i in 0..<25 {
            if let start = detector.observe(FrameSignature(of: SyntheticShots.frame(shot: 1, t: i % 2))) { starts[i] = start }
        }
        XCTAssertEqual(starts, [0: .first, 10: .refresh, 20: .refresh])
    }

    func testDistanceIsZeroForTheSameFrameAndLargeForAnotherShot() {
        let a = FrameSignature(of: SyntheticShots.frame(shot: 0, t: 0))
        XCTAssertEqual(a.distance(to: a), 0)
        XCTAssertLessThan(a.distance(to: FrameSignature(of: SyntheticShots.frame(shot: 0, t: 1))), 0.15)
        XCTAssertGreaterThan(a.distance(to: FrameSignature(of: SyntheticShots.frame(shot: 2, t: 0))), 0.3)
        XCTAssertEqual(a.histogram.reduce(0, +), 1, accuracy: 1e-5)
    }
}
