import Engine
import TestSupport
import XCTest

final class TiledInferenceTests: XCTestCase {
    func testTiledEqualsWholeImageOn300x200() {
        for scale in [2, 4] {
            let net = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: scale), seed: 5)
            let image = GradientCheck.random([1, 3, 200, 300], seed: 6, scale: 0.5)
            for i in 0..<image.count { image[i] += 0.5 }
            let whole = net(image)
            let tiled = TiledInference(network: net, tile: 64)
            XCTAssertGreaterThan(tiled.margin, 0)
            let result = tiled(image)
            XCTAssertEqual(result.shape, whole.shape)
            var worst: Float = 0
            for i in 0..<whole.count { worst = max(worst, abs(result[i] - whole[i])) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "x\(scale): tiles must not change the result")
            // Too little context is visibly different, so the margin is what makes tiling exact.
            let cramped = TiledInference(network: net, tile: 64, margin: 2)(image)
            var cramp: Float = 0
            for i in 0..<whole.count { cramp = max(cramp, abs(cramped[i] - whole[i])) }
            XCTAssertGreaterThan(cramp, 1e-4)
        }
    }
}
