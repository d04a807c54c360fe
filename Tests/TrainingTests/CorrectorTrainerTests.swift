import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import Training
import TestSupport
import XCTest

final class CorrectorTrainerTests: XCTestCase {
    var folder: TemporaryFolder!
    var photos: PhotoSet!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-corrector")
        // The restorer reads 64-pixel LR windows cut from 80-pixel blurred ones: HR photos of 160 pixels or more.
        photos = try TrainingPhotos.make(count: 2, width: 170, height: 164, in: folder)
    }

    override func tearDown() { folder.remove() }

    func tinyOptions() -> CorrectorTrainingOptions {
        var options = CorrectorTrainingOptions()
        options.features = 4; options.steps = 4; options.batch = 2; options.learningRate = 1e-3
        return options
    }

    func weights(_ trainer: CorrectorTrainer) -> [UInt32] { trainer.network.namedParameters().flatMap { $0.1.value.values.map(\.bitPattern) } }

    func testSameSeedSameLossesAndResumeIsExact() throws {
        let options = tinyOptions()
        let first = try CorrectorTrainer(options: options, photos: photos)
        let losses = (0..<4).map { _ in first.trainStep() }
        let second = try CorrectorTrainer(options: options, photos: photos)
        XCTAssertEqual((0..<4).map { _ in second.trainStep() }, losses)
        XCTAssertEqual(weights(first), weights(second))

        let interrupted = try CorrectorTrainer(options: options, photos: photos)
        interrupted.trainStep(); interrupted.trainStep()
        let checkpoint = folder.file("c.checkpoint.safetensors")
        try interrupted.saveCheckpoint(to: checkpoint)
        let resumed = try CorrectorTrainer(options: options, photos: photos)
        try resumed.resume(from: checkpoint)
        XCTAssertEqual([resumed.trainStep(), resumed.trainStep()], Array(losses[2...]))
        XCTAssertEqual(weights(resumed), weights(first))

        var reseeded = options
        reseeded.seed = 2
        XCTAssertNotEqual(try CorrectorTrainer(options: reseeded, photos: photos).batch(at: 0).patches.values, first.batch(at: 0).patches.values)
    }

    /// The error put on the told kernel is centred and as wide as the option says: the corrections the network is
    /// taught (the told code's distance from the truth) have the drawn spread, either sign.
    func testTaughtCorrectionsHaveTheDrawnSpread() throws {
        var options = tinyOptions()
        options.batch = 48
        options.logSizeError = 0.5
        let targets = try CorrectorTrainer(options: options, photos: photos).batch(at: 0).targets.map(\.logTrace)
        let mean = targets.reduce(0, +) / Double(targets.count)
        let sd = (targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(targets.count - 1)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.25, "48 draws of N(0, 0.5): the mean lies within 3.5 standard errors")
        XCTAssertEqual(sd, 0.5, accuracy: 0.2)
        XCTAssertTrue(targets.contains { $0 > 0.2 } && targets.contains { $0 < -0.2 })
    }

    /// `downscaled` reads LR patches of the estimator's size, and `startFrom` starts from an estimator file's weights.
    func testDownscaledRunStartsFromAnEstimator() throws {
        var estimatorOptions = EstimatorTrainingOptions()
        estimatorOptions.features = 4; estimatorOptions.batch = 2
        let estimator = try EstimatorTrainer(options: estimatorOptions, photos: photos)
        estimator.trainStep()
        let file = folder.file("estimator.safetensors")
        try estimator.saveModel(to: file, record: [:])
        var options = tinyOptions()
        options.downscaled = true; options.startFrom = file
        let trainer = try CorrectorTrainer(options: options, photos: photos)
        XCTAssertEqual(weights(trainer), estimator.network.namedParameters().flatMap { $0.1.value.values.map(\.bitPattern) })
        XCTAssertEqual(trainer.batch(at: 0).patches.shape, [2, 3, KernelEstimator.patchSize, KernelEstimator.patchSize])
        XCTAssertEqual(try CorrectorTrainer(options: tinyOptions(), photos: photos).batch(at: 0).patches.shape,
                       [2, 3, 2 * KernelEstimator.patchSize, 2 * KernelEstimator.patchSize])
        let saved = folder.file("corrector.safetensors")
        trainer.trainStep()
        try trainer.saveModel(to: saved, record: [:])
        XCTAssertTrue(try KernelCorrector.load(path: saved).readsDownscaled)
    }

    func testLossGradientMatchesFiniteDifferences() {
        let targets: [(logTrace: Double, u: Double, v: Double)] = [(0.3, -0.1, 0.05), (-0.6, 0.2, 0)]
        let output = Tensor(shape: [2, KernelCode.outputs], values: [5, 0.1, 0.2, -0.3, -7, -0.2, 0.35, 0.4])
        let (loss, gradient) = CorrectorTrainer.loss(output, targets)
        XCTAssertEqual(loss, Float((0.2 + 0.3 + 0.35 + 0.4 + 0.15 + 0.4) / 2), accuracy: 1e-6)
        for i in 0..<output.count {
            let saved = output[i]
            output[i] = saved + 1e-3
            let plus = CorrectorTrainer.loss(output, targets).loss
            output[i] = saved - 1e-3
            let minus = CorrectorTrainer.loss(output, targets).loss
            output[i] = saved
            XCTAssertEqual(gradient[i], (plus - minus) / 2e-3, accuracy: 2e-3, "output \(i)")
        }
        XCTAssertEqual(gradient[KernelCode.noBlurLogit], 0, "output 0 is unused")
    }

    /// The written file is a corrector `KernelCorrector.load` reads back, with the same network and restorer.
    func testSavedModelLoadsAsACorrector() throws {
        let trainer = try CorrectorTrainer(options: tinyOptions(), photos: photos)
        trainer.trainStep()
        let file = folder.file("corrector.safetensors")
        try trainer.saveModel(to: file, record: ["seed": "1"])
        let corrector = try KernelCorrector.load(path: file)
        XCTAssertEqual(corrector.restorerName, "fast-x2-cond")
        let patches = trainer.batch(at: 1).patches
        XCTAssertEqual(corrector.network(patches).values, trainer.network(patches).values)
    }
}
