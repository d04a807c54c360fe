import Decode
import Engine
import Foundation
import ONSR
import Training
import XCTest

/// The benchmark's adaptation schedules run on tiny networks and train what each one says.
final class StudyStrategiesTests: XCTestCase {
    let photos: [RGBImage] = (0..<2).map { i in
        var image = RGBImage(width: 64, height: 64)
        for y in 0..<64 { for x in 0..<64 {
            image[0, y, x] = 0.5 + 0.35 * sinf(Float(x) * 0.4 + Float(i))
            image[1, y, x] = 0.5 + 0.35 * cosf(Float(y) * 0.3)
            image[2, y, x] = Float((x / 5 + y / 7 + i) % 2) * 0.7 + 0.15
        } }
        return image
    }

    var options: AdaptationOptions {
        var options = AdaptationOptions()
        options.steps = 2
        options.patches = 4
        options.patchSize = 16
        options.learningRateGr = 2e-3
        return options
    }

    func weights(_ network: ParameterContainer) -> [Float] { network.namedParameters().flatMap { $0.1.value.values } }

    func testEveryVariantRunsAndTrainsWhatItSays() {
        var rng = SeededRandom(seed: 1)
        let trueKernel = BlurKernel.gaussian(scale: 2, lambda1: 1, lambda2: 1, theta: 0, rng: &rng)
        let frame = RGBImage(width: 32, height: 32, pixels: Degrade.blurSubsample(photos[0].pixels, channels: 3, height: 64, width: 64,
                                                                                  kernel: trueKernel, scale: 2))
        // Which networks each schedule moves in two steps (two-phase: its Gd phase is the first step).
        let moves: [StudyVariant: (gr: Bool, gd: Bool)] = [
            .onsr: (true, true), .ibEbsr: (true, true), .ibsr: (true, true), .joint: (true, true),
            .twoPhase: (true, true), .frozenGd: (true, false), .oracleGd: (true, false),
        ]
        for variant in StudyVariant.allCases {
            let gr = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 7)
            let strategy = variant.strategy(StudyVariant.Settings(), trueKernel: trueKernel)
            XCTAssertEqual(strategy.name, variant.rawValue)
            let adapter = OnlineAdapter(gr: gr, external: photos, options: options, strategy: strategy)
            let (grBefore, gdBefore) = (weights(gr), weights(adapter.gd))
            let history = adapter.adapt(frames: [frame])
            XCTAssertEqual(history.count, 2, variant.rawValue)
            XCTAssertTrue(history.allSatisfy { $0.heldAsideInternalLoss.isFinite }, variant.rawValue)
            XCTAssertEqual(weights(gr) != grBefore, moves[variant]!.gr, "\(variant.rawValue): Gr")
            XCTAssertEqual(weights(adapter.gd) != gdBefore, moves[variant]!.gd, "\(variant.rawValue): Gd")
        }
    }

    func testThePapersVariantsTrainGdAtTheUsualRateAndTwoPhaseAtItsOwn() {
        let gr = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 7)
        for variant in StudyVariant.allCases {
            let adapter = OnlineAdapter(gr: gr, external: photos, options: options,
                                        strategy: variant.strategy(StudyVariant.Settings(), trueKernel: nil))
            XCTAssertEqual(adapter.optimiserGd.learningRate, variant == .twoPhase ? 3e-3 : 1e-4, variant.rawValue)
        }
    }
}
