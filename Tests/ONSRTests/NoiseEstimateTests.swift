import Decode
import Engine
import ONSR
import XCTest

/// The flat-region noise estimator on synthetic noise of known σ over a picture with gradients, edges and a
/// textured quarter.
final class NoiseEstimateTests: XCTestCase {
    /// 256 x 256: a smooth two-way gradient, discs with hard edges, and a striped quarter (texture).
    static func scene() -> RGBImage {
        var image = RGBImage(width: 256, height: 256)
        for y in 0..<256 {
            for x in 0..<256 {
                var v = 0.2 + 0.5 * Float(x) / 255 * Float(y + 64) / 320
                for (cx, cy, r) in [(60, 70, 30), (180, 90, 40), (120, 200, 25)] where (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r {
                    v = 0.9 - v * 0.5
                }
                if x >= 192 && y >= 192 { v += 0.15 * Float((x / 3 + y / 5) % 2) }
                for c in 0..<3 { image[c, y, x] = v * [1, 0.9, 0.8][c] }
            }
        }
        return image
    }

    func testWithinTwentyPercentOfTheTrueSigma() throws {
        let clean = NoiseEstimateTests.scene()
        XCTAssertLessThan(try XCTUnwrap(NoiseEstimate.sigma(of: clean)), 0.5, "a clean picture has (almost) no noise")
        for sigma in [2.0, 4, 6, 8, 10] {
            var rng = SeededRandom(seed: UInt64(sigma * 10))
            var noisy = clean
            // The same noise on every channel, so that the luma carries σ exactly (not averaged down).
            for i in 0..<noisy.planeSize {
                let n = Float(sigma / 255) * rng.normal()
                for c in 0..<3 { noisy.pixels[c * noisy.planeSize + i] += n }
            }
            let estimate = try XCTUnwrap(NoiseEstimate.sigma(of: noisy))
            XCTAssertEqual(estimate, sigma, accuracy: 0.2 * sigma, "σ \(sigma)")
        }
    }

    func testTooSmallPicturesHaveNoEstimate() {
        XCTAssertNil(NoiseEstimate.sigma(of: RGBImage(width: 12, height: 40)))
    }
}
