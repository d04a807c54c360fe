import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport
import Training
import XCTest

/// The consistency scan tells a kernel-conditioned Gr each scaled reading and scores what it restores.
final class ConsistencyScanTests: XCTestCase {
    func testTheErrorLeavesTheBorderOut() {
        let (h, w, border) = (8, 10, 2)
        var a = [Float](repeating: 0, count: 2 * h * w)
        let b = a
        // Large differences only on the border of both planes, and one of 0.5 inside the first.
        for plane in 0..<2 { for y in 0..<h { for x in 0..<w where y < border || y >= h - border || x < border || x >= w - border {
            a[plane * h * w + y * w + x] = 9
        } } }
        a[3 * w + 4] = 0.5
        let inside = Double(2 * (h - 2 * border) * (w - 2 * border))
        XCTAssertEqual(ConsistencyScan.meanAbsoluteError(a, b, height: h, width: w, border: border), 0.5 / inside, accuracy: 1e-12)
    }

    func testEachOffsetTellsItsOwnKernelAndScoresWhatItRestores() throws {
        let folder = try TemporaryFolder()
        let benchmark = Benchmark(photos: try TrainingPhotos.make(count: 2, width: 48, height: 40, in: folder), scale: 2,
                                  degradation: .blind, seed: 3)
        let upscaler = try PretrainedUpscaler(model: ModelStore.resolve("fast-x2-cond", scale: 2))
        let network = upscaler.network
        let reading = BlurEstimate(covariance: (yy: 2.0, yx: 0.4, xx: 1.2), noBlurProbability: 0.1)
        let offsets = [-0.3, 0, 0.3]
        let results = try ConsistencyScan.run(benchmark, upscaler: upscaler, offsets: offsets, border: 3) { _ in reading }
        XCTAssertEqual(results.count, 2)
        for (result, item) in zip(results, benchmark.cases) {
            XCTAssertEqual(result.consistency.count, 3)
            XCTAssertEqual(result.psnr.count, 3)
            XCTAssertTrue(result.consistency.allSatisfy { $0.isFinite && $0 > 0 })
            // Offset 0 restores as the network told the plain reading does, scored independently here.
            network.condition = BlurEstimation.condition(reading, scale: 2)
            let tiles = TiledInference(network: network, tile: 512, precision: .fp32)
            let output = RGBImage(width: item.hr.width, height: item.hr.height,
                                  pixels: tiles(Tensor(shape: [1, 3, item.lr.height, item.lr.width], values: item.lr.pixels)).values.map { min(max($0, 0), 1) })
            XCTAssertEqual(result.psnr[1], Quality.psnrY(output.pixels, item.hr.pixels, height: item.hr.height, width: item.hr.width, shave: 2),
                           accuracy: 1e-9)
            // A different told size restores differently and is blurred back by a different kernel.
            XCTAssertNotEqual(result.psnr[0], result.psnr[2])
            XCTAssertNotEqual(result.consistency[0], result.consistency[2])
            XCTAssertEqual(result.consistency[result.chosen], result.consistency.min())
            XCTAssertEqual(result.psnr[result.best], result.psnr.max())
        }
        XCTAssertTrue(ConsistencyScan.markdown(results).contains("mean over 2 cases"))
    }
}
