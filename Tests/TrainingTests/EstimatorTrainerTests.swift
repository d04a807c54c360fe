import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import Training
import TestSupport
import XCTest

final class EstimatorTrainerTests: XCTestCase {
    var folder: TemporaryFolder!
    var photos: PhotoSet!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-estimator")
        photos = try TrainingPhotos.make(count: 2, width: 160, height: 150, in: folder)
    }

    override func tearDown() { folder.remove() }

    func tinyOptions() -> EstimatorTrainingOptions {
        var options = EstimatorTrainingOptions()
        options.features = 4; options.steps = 6; options.batch = 4; options.learningRate = 1e-3
        return options
    }

    /// Trainers with batch 8 on `photos`: one with the tiny options, and two alike with `vary` applied (the second
    /// checks that the variation is reproducible).
    func plainAndVaried(_ photos: PhotoSet, _ vary: (inout EstimatorTrainingOptions) -> Void) throws
        -> (plain: EstimatorTrainer, varied: EstimatorTrainer, again: EstimatorTrainer) {
        var options = tinyOptions()
        options.batch = 8
        let plain = try EstimatorTrainer(options: options, photos: photos)
        vary(&options)
        return (plain, try EstimatorTrainer(options: options, photos: photos), try EstimatorTrainer(options: options, photos: photos))
    }

    /// Step `step`'s patches from the plain and the varied trainer, after checking that the variation kept the
    /// classes and kernels drawn and that its twin reproduces the varied batch exactly.
    func sameDrawBatches(_ trainers: (plain: EstimatorTrainer, varied: EstimatorTrainer, again: EstimatorTrainer), step: Int,
                         file: StaticString = #filePath, line: UInt = #line) -> (plain: [Float], varied: [Float]) {
        let (a, targetsA) = trainers.plain.batch(at: step)
        let (b, targetsB) = trainers.varied.batch(at: step)
        XCTAssertEqual(targetsA.map(\.noBlur), targetsB.map(\.noBlur), file: file, line: line)
        XCTAssertEqual(targetsA.map(\.code.logTrace), targetsB.map(\.code.logTrace), file: file, line: line)
        XCTAssertEqual(b.values, trainers.again.batch(at: step).patches.values, "the variation is reproducible", file: file, line: line)
        return (a.values, b.values)
    }

    func weights(_ trainer: EstimatorTrainer) -> [UInt32] { trainer.network.namedParameters().flatMap { $0.1.value.values.map(\.bitPattern) } }

    func testSameSeedSameLossesAndResumeIsExact() throws {
        let options = tinyOptions()
        let first = try EstimatorTrainer(options: options, photos: photos)
        let losses = (0..<6).map { _ in first.trainStep() }
        let second = try EstimatorTrainer(options: options, photos: photos)
        XCTAssertEqual((0..<6).map { _ in second.trainStep() }, losses)
        XCTAssertEqual(weights(first), weights(second))

        let interrupted = try EstimatorTrainer(options: options, photos: photos)
        for _ in 0..<3 { interrupted.trainStep() }
        try interrupted.saveCheckpoint(to: folder.file("ckpt.safetensors"))
        let resumed = try EstimatorTrainer(options: options, photos: photos)
        try resumed.resume(from: folder.file("ckpt.safetensors"))
        XCTAssertEqual(resumed.step, 3)
        XCTAssertEqual((0..<3).map { _ in resumed.trainStep() }, Array(losses[3...]))
        XCTAssertEqual(weights(resumed), weights(first))

        // The written estimator loads back as the product loads the shipped one, with the same outputs.
        try first.saveModel(to: folder.file("estimator.safetensors"), record: [:])
        let loaded = try ModelStore.loadEstimator(path: folder.file("estimator.safetensors"), scale: 2)
        let input = first.batch(at: 0).patches
        XCTAssertEqual(loaded(input).values, first.network(input).values)
        XCTAssertThrowsError(try ModelStore.loadEstimator(path: folder.file("estimator.safetensors"), scale: 4))
    }

    /// Holding photos out is part of the run: a checkpoint made on other photos does not resume.
    func testHeldOutPhotosAreLeftOutAndBindTheCheckpoint() throws {
        var options = tinyOptions()
        options.holdOutEvery = 2
        let heldOut = try EstimatorTrainer(options: options, photos: photos)
        XCTAssertEqual(heldOut.photoCount, 1)
        heldOut.trainStep()
        try heldOut.saveCheckpoint(to: folder.file("held.safetensors"))
        let allPhotos = try EstimatorTrainer(options: tinyOptions(), photos: photos)
        XCTAssertEqual(allPhotos.photoCount, 2)
        XCTAssertThrowsError(try allPhotos.resume(from: folder.file("held.safetensors")))
    }

    func testBatchesMixBothClassesWithValidTargets() throws {
        var options = tinyOptions()
        options.batch = 64
        let trainer = try EstimatorTrainer(options: options, photos: photos)
        let (patches, targets) = trainer.batch(at: 0)
        XCTAssertEqual(patches.shape, [64, 3, KernelEstimator.patchSize, KernelEstimator.patchSize])
        let noBlur = targets.filter(\.noBlur).count
        XCTAssertTrue((6...30).contains(noBlur), "about a quarter of 64 should be bicubic-only, got \(noBlur)")
        for target in targets where !target.noBlur {
            // Wide range: each eigenvalue in 0.2...10, so the trace lies in 0.4...20 and the shape in the disc.
            XCTAssertTrue((log(0.4)...log(20)).contains(target.code.logTrace), "\(target.code)")
            XCTAssertLessThanOrEqual(target.code.u * target.code.u + target.code.v * target.code.v, 1 + 1e-9)
        }
    }

    /// Coded batches are the same patches put through a codec round trip: the targets do not change, the pixels do,
    /// and the round trip is as reproducible as the rest of the batch.
    func testCodedBatchesAreReproducibleAndDifferFromCleanOnes() throws {
        let trainers = try plainAndVaried(photos) { $0.codedShare = 1 }
        var differing = 0
        for step in 0..<4 {
            let (a, b) = sameDrawBatches(trainers, step: step)
            let change = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            if change > 0.05 { differing += 1 }
        }
        // A tenth of the drawn profiles leave a batch uncompressed, so not every step need differ.
        XCTAssertGreaterThanOrEqual(differing, 3, "coded batches should differ from the clean ones")
    }

    /// Shrinking the HR photo before the crop is degraded raises the frequencies a patch holds: on the same photos,
    /// rescaled batches have larger differences between neighbouring pixels (patches are normalised to unit
    /// deviation, so this is their sharpness, not their contrast), and they stay reproducible.
    func testRescaledCropsAreSharperAndReproducible() throws {
        let large = try TemporaryFolder("onsr-estimator-large")
        defer { large.remove() }
        let photos = try TrainingPhotos.make(count: 2, width: 320, height: 320, in: large)
        let (plain, rescaled, again) = try plainAndVaried(photos) { $0.rescaleMax = 2 }
        XCTAssertEqual(rescaled.batch(at: 1).patches.values, again.batch(at: 1).patches.values)
        let (before, after) = (neighbourEnergy(plain), neighbourEnergy(rescaled))
        XCTAssertGreaterThan(after, before * 1.2, "rescaled patches should hold higher frequencies (\(after) against \(before))")
    }

    /// Grain added to the HR crop before the blur: the classes, kernels and crops stay those of the run without it
    /// (the grain has its own random stream), about half the patches change, the blurred grain adds fine detail,
    /// and batches stay reproducible.
    func testSourceNoiseKeepsTheOtherDrawsAndAddsFineDetail() throws {
        // Gentle ramps, so that what the grain adds is not drowned by the stripes of the shared photos.
        let smooth = try TemporaryFolder("onsr-estimator-smooth")
        defer { smooth.remove() }
        for i in 0..<2 {
            var image = RGBImage(width: 160, height: 150)
            for c in 0..<3 { for y in 0..<150 { for x in 0..<160 { image[c, y, x] = 0.3 + 0.4 * Float(x + y * i) / 310 } } }
            try ImageFile.writePNG(image, to: smooth.file("ramp\(i).png"))
        }
        let trainers = try plainAndVaried(try PhotoSet(folder: smooth.path)) { $0.sourceNoiseLevel = 0.1 }
        var changed = 0, total = 0
        for step in 0..<3 {
            let (a, b) = sameDrawBatches(trainers, step: step)
            let size = 3 * KernelEstimator.patchSize * KernelEstimator.patchSize
            for n in 0..<(a.count / size) {
                total += 1
                if a[(n * size)..<((n + 1) * size)] != b[(n * size)..<((n + 1) * size)] { changed += 1 }
            }
        }
        XCTAssertTrue((total / 5)...(total * 4 / 5) ~= changed, "about half the patches should carry grain (\(changed) of \(total))")
        let (before, after) = (neighbourEnergy(trainers.plain), neighbourEnergy(trainers.varied))
        XCTAssertGreaterThan(after, before * 2, "grained patches should hold higher frequencies (\(after) against \(before))")
    }

    /// Mean squared difference between horizontally neighbouring values of the first three steps' patches (which are
    /// normalised to unit deviation, so this measures their sharpness, not their contrast).
    func neighbourEnergy(_ trainer: EstimatorTrainer) -> Double {
        var total = 0.0, count = 0
        for step in 0..<3 {
            let patches = trainer.batch(at: step).patches
            let (n, c, h, w) = (patches.shape[0], patches.shape[1], patches.shape[2], patches.shape[3])
            for plane in 0..<(n * c) { for y in 0..<h { for x in 1..<w {
                let d = Double(patches.values[(plane * h + y) * w + x] - patches.values[(plane * h + y) * w + x - 1])
                total += d * d; count += 1
            } } }
        }
        return total / Double(count)
    }

    func testLossGradientMatchesFiniteDifferences() {
        let targets = [EstimatorTarget(noBlur: true, code: (0, 0, 0)), EstimatorTarget(noBlur: false, code: (1.5, 0.3, -0.2))]
        let output = Tensor(shape: [2, KernelCode.outputs], values: [0.3, -0.4, 0.9, 0.1, -1.2, 1.1, 0.45, -0.5])
        let (_, gradient) = EstimatorTrainer.loss(output, targets)
        // The bicubic-only patch has no kernel: its kernel outputs get no gradient.
        for k in 1..<KernelCode.outputs { XCTAssertEqual(gradient[k], 0) }
        for i in 0..<output.count {
            let saved = output[i]
            output[i] = saved + 1e-3
            let plus = EstimatorTrainer.loss(output, targets).loss
            output[i] = saved - 1e-3
            let minus = EstimatorTrainer.loss(output, targets).loss
            output[i] = saved
            XCTAssertEqual(gradient[i], (plus - minus) / 2e-3, accuracy: 2e-3, "output \(i)")
        }
    }

    /// The spread's gradient is the Laplace likelihood's with the size's error held fixed, so the size output's
    /// gradient stays the plain L1 one; a bicubic-only patch gives the spread none.
    func testSpreadLossGradient() {
        let targets = [EstimatorTarget(noBlur: true, code: (0, 0, 0)), EstimatorTarget(noBlur: false, code: (1.5, 0.3, -0.2))]
        let output = Tensor(shape: [2, KernelCode.outputs + 1], values: [0.3, -0.4, 0.9, 0.1, 0.5, -1.2, 1.1, 0.45, -0.5, -1.0])
        let (_, gradient) = EstimatorTrainer.loss(output, targets)
        XCTAssertEqual(gradient[KernelCode.logSizeSpread], 0)
        XCTAssertEqual(gradient[5 + KernelCode.logTrace], -0.5, "sign(1.1 - 1.5) / 2")
        let spread = 5 + KernelCode.logSizeSpread, saved = output[spread]
        output[spread] = saved + 1e-3
        let plus = EstimatorTrainer.loss(output, targets).loss
        output[spread] = saved - 1e-3
        let minus = EstimatorTrainer.loss(output, targets).loss
        output[spread] = saved
        XCTAssertEqual(gradient[spread], (plus - minus) / 2e-3, accuracy: 2e-3)
        XCTAssertEqual(gradient[spread], (1 - 0.4 * exp(1)) / 2, accuracy: 1e-5)
        // Past the clamp the loss no longer moves with s, so neither may its gradient.
        output[spread] = 9
        XCTAssertEqual(EstimatorTrainer.loss(output, targets).gradient[spread], 0)
        output[spread] = saved
    }

    /// A spread run started from a four-output file keeps that file's weights and outputs, and its spread starts
    /// flat at 0.12.
    func testSpreadRunStartsFromAFourOutputEstimator() throws {
        let plain = try EstimatorTrainer(options: tinyOptions(), photos: photos)
        plain.trainStep()
        let file = folder.file("plain.safetensors")
        try plain.saveModel(to: file, record: [:])
        var options = tinyOptions()
        options.sizeSpread = true; options.startFrom = file
        let spread = try EstimatorTrainer(options: options, photos: photos)
        let patches = plain.batch(at: 3).patches
        let (a, b) = (plain.network(patches), spread.network(patches))
        for n in 0..<patches.shape[0] {
            for k in 0..<KernelCode.outputs { XCTAssertEqual(b[n * 5 + k], a[n * 4 + k], accuracy: 1e-6) }
            XCTAssertEqual(b[n * 5 + KernelCode.logSizeSpread], Float(log(0.12)), accuracy: 1e-6)
        }
        XCTAssertEqual(try ModelStore.loadEstimator(path: file, scale: 2).configuration.sizeSpread, false)
        spread.trainStep()
        let spreadFile = folder.file("spread.safetensors")
        try spread.saveModel(to: spreadFile, record: [:])
        XCTAssertEqual(try ModelStore.loadEstimator(path: spreadFile, scale: 2).configuration.sizeSpread, true)
    }
}
