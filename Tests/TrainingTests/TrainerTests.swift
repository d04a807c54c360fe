import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import Training
import TestSupport
import XCTest

final class TrainerTests: XCTestCase {
    var folder: TemporaryFolder!
    var photos: PhotoSet!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-train")
        photos = try TrainingPhotos.make(count: 3, width: 104, height: 96, in: folder)
    }

    override func tearDown() { folder.remove() }

    func tinyOptions() -> TrainingOptions {
        var options = TrainingOptions()
        options.features = 4; options.blocks = 1; options.growth = 4
        options.steps = 6; options.batch = 2; options.patch = 16; options.learningRate = 1e-3
        return options
    }

    /// Three-frame batches of eight 32-pixel crops, bicubic-degraded so that frames can be compared exactly.
    func threeFrameOptions() -> TrainingOptions {
        var options = tinyOptions()
        options.degradation = .bicubic
        options.patch = 32
        options.batch = 8
        options.frames = 3
        return options
    }

    func weights(_ trainer: Trainer) -> [UInt32] { trainer.network.namedParameters().flatMap { $0.1.value.values.map(\.bitPattern) } }

    func testSameSeedSameLossesAndResumeIsExact() throws {
        for degradation in TrainingDegradation.allCases {
            var options = tinyOptions()
            options.degradation = degradation
            let first = try Trainer(options: options, photos: photos, validation: nil)
            let losses = (0..<6).map { _ in first.trainStep() }
            let second = try Trainer(options: options, photos: photos, validation: nil)
            XCTAssertEqual((0..<6).map { _ in second.trainStep() }, losses, "\(degradation): same seed, same losses")
            XCTAssertEqual(weights(first), weights(second))

            let interrupted = try Trainer(options: options, photos: photos, validation: nil)
            for _ in 0..<3 { interrupted.trainStep() }
            try interrupted.saveCheckpoint(to: folder.file("ckpt.safetensors"))
            let resumed = try Trainer(options: options, photos: photos, validation: nil)
            try resumed.resume(from: folder.file("ckpt.safetensors"))
            XCTAssertEqual(resumed.step, 3)
            XCTAssertEqual((0..<3).map { _ in resumed.trainStep() }, Array(losses[3...]), "\(degradation): resume replays the run")
            XCTAssertEqual(weights(resumed), weights(first))
        }
    }

    func testTooSmallPhotosAreAnErrorNotAHang() {
        var options = tinyOptions()
        options.patch = 96
        XCTAssertThrowsError(try Trainer(options: options, photos: photos, validation: nil)) { error in
            XCTAssertTrue("\(error)".contains("padded crop"), "\(error)")
        }
    }

    func testResumeRefusesOtherOptions() throws {
        let trainer = try Trainer(options: tinyOptions(), photos: photos, validation: nil)
        trainer.trainStep()
        try trainer.saveCheckpoint(to: folder.file("ckpt.safetensors"))
        var other = tinyOptions()
        other.seed = 9
        XCTAssertThrowsError(try Trainer(options: other, photos: photos, validation: nil).resume(from: folder.file("ckpt.safetensors")))
    }

    func testBatchesAreAlignedPairs() throws {
        // The LR patch must be the degraded HR patch itself: compare with degrading the HR patch directly
        // (away from the patch border, where the larger crop supplied real context).
        var options = tinyOptions()
        options.degradation = .bicubic
        options.patch = 32
        let trainer = try Trainer(options: options, photos: photos, validation: nil)
        let (lr, hr) = trainer.batch(at: 0)
        let direct = Degrade.bicubic(Array(UnsafeBufferPointer(start: hr.data, count: 3 * 32 * 32)), channels: 3, height: 32, width: 32, scale: 2)
        for c in 0..<3 { for y in 3..<13 { for x in 3..<13 {
            XCTAssertEqual(lr[(c * 16 + y) * 16 + x], direct[(c * 16 + y) * 16 + x], accuracy: 1e-5)
        } } }
    }

    /// `--frames 3`: stacked frames of one place, the HR side the middle frame's, aligned with the middle LR frame as in
    /// one-frame batches; some samples stand still (neighbours equal to the middle frame), most pan (both neighbours
    /// differ from it); the same step gives the same batch.
    func testMultiFrameBatchesStackAPanningShot() throws {
        let trainer = try Trainer(options: threeFrameOptions(), photos: photos, validation: nil)
        var (still, panning) = (0, 0)
        for step in 0..<5 {
            let (lr, hr) = trainer.batch(at: step)
            XCTAssertEqual(lr.shape, [8, 9, 16, 16])
            XCTAssertEqual(hr.shape, [8, 3, 32, 32])
            XCTAssertEqual(lr.values, trainer.batch(at: step).lr.values)
            for b in 0..<8 {
                let frame = { (f: Int) in Array(UnsafeBufferPointer(start: lr.data + (b * 9 + 3 * f) * 256, count: 768)) }
                let middleHR = Array(UnsafeBufferPointer(start: hr.data + b * 3 * 1024, count: 3 * 1024))
                let direct = Degrade.bicubic(middleHR, channels: 3, height: 32, width: 32, scale: 2)
                for c in 0..<3 { for y in 3..<13 { for x in 3..<13 {
                    XCTAssertEqual(frame(1)[(c * 16 + y) * 16 + x], direct[(c * 16 + y) * 16 + x], accuracy: 1e-5)
                } } }
                if frame(0) == frame(1) && frame(2) == frame(1) {
                    still += 1
                } else {
                    // A pan moves both neighbours, by the same step either way.
                    panning += 1
                    XCTAssertNotEqual(frame(0), frame(1))
                    XCTAssertNotEqual(frame(2), frame(1))
                }
            }
        }
        XCTAssertGreaterThan(still, 0)
        XCTAssertGreaterThan(panning, still)
    }

    /// `alignment`: a panning sample's neighbours come back motion-compensated, nearer the middle frame than without.
    func testAlignedBatchesCompensateThePan() throws {
        var options = threeFrameOptions()
        let plain = try Trainer(options: options, photos: photos, validation: nil)
        options.alignment = BlockAlignment()
        let aligned = try Trainer(options: options, photos: photos, validation: nil)
        var (before, after): (Float, Float) = (0, 0)
        for step in 0..<3 {
            let (a, b) = (plain.batch(at: step), aligned.batch(at: step))
            XCTAssertEqual(a.hr.values, b.hr.values)
            for sample in 0..<8 {
                let frame = { (lr: Tensor, f: Int) in Array(UnsafeBufferPointer(start: lr.data + (sample * 9 + 3 * f) * 256, count: 768)) }
                XCTAssertEqual(frame(a.lr, 1), frame(b.lr, 1), "the middle frame is untouched")
                for f in [0, 2] {
                    before += zip(frame(a.lr, f), frame(a.lr, 1)).map { abs($0 - $1) }.reduce(0, +)
                    after += zip(frame(b.lr, f), frame(b.lr, 1)).map { abs($0 - $1) }.reduce(0, +)
                }
            }
        }
        XCTAssertLessThan(after, before * 0.6, "\(after) against \(before)")
    }

    /// A multi-frame real run trains, validates and replays like a one-frame one.
    func testMultiFrameRealTrainingIsSeeded() throws {
        var options = tinyOptions()
        options.degradation = .real
        options.frames = 3
        let first = try Trainer(options: options, photos: photos, validation: photos)
        let losses = (0..<3).map { _ in first.trainStep() }
        let second = try Trainer(options: options, photos: photos, validation: photos)
        XCTAssertEqual((0..<3).map { _ in second.trainStep() }, losses)
        let score = try XCTUnwrap(first.validate())
        XCTAssertEqual(score.psnr, try XCTUnwrap(second.validate()).psnr)
        XCTAssertGreaterThan(score.bicubic, 15)
    }

    /// `--degradation real`: the same step gives the same batch (noise and codec round trips are seeded), the LR
    /// side differs from the blur-only one of the same step (the codec and noise acted on it) yet stays close to
    /// it (the compression is a degradation, not a new picture), and the HR side is untouched.
    func testRealBatchesAreSeededAndCompressed() throws {
        var options = tinyOptions()
        options.patch = 32
        options.batch = 4
        options.degradation = .real
        let real = try Trainer(options: options, photos: photos, validation: nil)
        options.degradation = .blur
        let blur = try Trainer(options: options, photos: photos, validation: nil)
        var changed = 0
        for step in 0..<6 {
            let (lr, hr) = real.batch(at: step)
            let again = real.batch(at: step)
            XCTAssertEqual(lr.values, again.lr.values, "step \(step) is reproducible")
            let plain = blur.batch(at: step)
            XCTAssertEqual(hr.values, plain.hr.values, "the HR side is the same crop")
            let difference = zip(lr.values, plain.lr.values).map { abs($0 - $1) }
            if difference.max()! > 1e-4 { changed += 1 }
            XCTAssertLessThan(difference.reduce(0, +) / Float(difference.count), 0.1, "step \(step): still the same picture")
        }
        XCTAssertGreaterThanOrEqual(changed, 4, "most batches are compressed (a tenth are left clean)")
    }

    /// `noBlurShare`: that share of a blur run's crops is bicubic-downscaled alone (the LR patch is its HR crop's
    /// bicubic downscale), the rest blurred as before; all of them at share 1.
    func testNoBlurShareDegradesThatShareByBicubicDownscalingAlone() throws {
        var options = tinyOptions()
        options.degradation = .blur
        options.patch = 32
        options.batch = 8
        func bicubicPatches(_ share: Double?, steps: Int) throws -> (bicubic: Int, of: Int) {
            options.noBlurShare = share
            let trainer = try Trainer(options: options, photos: photos, validation: nil)
            var count = 0
            for step in 0..<steps {
                let (lr, hr) = trainer.batch(at: step)
                for b in 0..<options.batch {
                    let direct = Degrade.bicubic(Array(hr.values[(b * 3 * 32 * 32)..<((b + 1) * 3 * 32 * 32)]), channels: 3, height: 32, width: 32, scale: 2)
                    let error = (0..<3).flatMap { c in (3..<13).flatMap { y in (3..<13).map { x in
                        abs(lr.values[b * 3 * 256 + (c * 16 + y) * 16 + x] - direct[(c * 16 + y) * 16 + x]) } } }.max()!
                    if error < 1e-4 { count += 1 }
                }
            }
            return (count, steps * options.batch)
        }
        let all = try bicubicPatches(1, steps: 2)
        XCTAssertEqual(all.bicubic, all.of)
        XCTAssertEqual(try bicubicPatches(nil, steps: 4).bicubic, 0, "blurred crops are not bicubic downscales")
        let half = try bicubicPatches(0.5, steps: 4)
        XCTAssertTrue((8...24).contains(half.bicubic), "about half of \(half.of): \(half.bicubic)")
    }

    /// `rescaleMax`: crops taken larger and shrunk back hold the photo's content more densely, so neighbouring HR
    /// pixels differ more than in plain crops of the same photos; the LR side is still that HR crop degraded, and
    /// batches stay reproducible.
    func testRescaledCropsAreDenserAndReproducible() throws {
        let large = try TemporaryFolder("onsr-train-large")
        defer { large.remove() }
        let photos = try TrainingPhotos.make(count: 2, width: 320, height: 320, in: large)
        var options = tinyOptions()
        options.patch = 32
        options.batch = 8
        options.degradation = .bicubic
        let plain = try Trainer(options: options, photos: photos, validation: nil)
        options.rescaleMax = 3
        let rescaled = try Trainer(options: options, photos: photos, validation: nil)
        XCTAssertEqual(rescaled.batch(at: 2).hr.values, rescaled.batch(at: 2).hr.values)
        func neighbourEnergy(_ trainer: Trainer) -> Double {
            var total = 0.0, count = 0
            for step in 0..<3 {
                let hr = trainer.batch(at: step).hr
                let (planes, h, w) = (hr.shape[0] * hr.shape[1], hr.shape[2], hr.shape[3])
                for plane in 0..<planes { for y in 0..<h { for x in 1..<w {
                    let d = Double(hr.values[(plane * h + y) * w + x] - hr.values[(plane * h + y) * w + x - 1])
                    total += d * d; count += 1
                } } }
            }
            return total / Double(count)
        }
        let (before, after) = (neighbourEnergy(plain), neighbourEnergy(rescaled))
        XCTAssertGreaterThan(after, before * 1.5, "shrunk crops should hold denser content (\(after) against \(before))")
        // The LR side is the HR side bicubic-downscaled, as without the option.
        let (lr, hr) = rescaled.batch(at: 1)
        let expected = Degrade.bicubic(Array(hr.values[0..<(3 * 32 * 32)]), channels: 3, height: 32, width: 32, scale: 2)
        let inner = (4..<12).flatMap { y in (4..<12).map { x in y * 16 + x } }
        let error = inner.map { abs(lr.values[$0] - expected[$0]) }.max()!
        XCTAssertLessThan(error, 0.02, "the LR patch is its own HR crop degraded")
    }

    /// `conditionNoise`: each LR patch brings its kernel's code as three constant planes after the picture, which is the
    /// blind run's picture (the noise has its own stream); without noise a patch's code is its kernel's exactly (a
    /// plausible size, a shape inside the unit disc), with noise it moves and the pictures stay.
    func testConditionedBatchesCarryEachKernelsCode() throws {
        var options = tinyOptions()
        options.batch = 4
        let blind = try Trainer(options: options, photos: photos, validation: nil).batch(at: 3)
        options.conditionNoise = 0
        let exact = try Trainer(options: options, photos: photos, validation: nil)
        XCTAssertEqual(exact.network.configuration.conditions, 3)
        let (lr, hr) = exact.batch(at: 3)
        XCTAssertEqual(lr.shape, [4, 6, 8, 8])
        XCTAssertEqual(hr.values, blind.hr.values)
        let plane = 64
        var codes: [[Float]] = []
        for b in 0..<4 {
            let (picture, blindPicture) = ((b * 6 * plane)..<((b * 6 + 3) * plane), (b * 3 * plane)..<((b + 1) * 3 * plane))
            XCTAssertEqual(Array(lr.values[picture]), Array(blind.lr.values[blindPicture]))
            let code = (0..<3).map { k in lr.values[(b * 6 + 3 + k) * plane] }
            for k in 0..<3 {
                let start = (b * 6 + 3 + k) * plane
                XCTAssertEqual(Set(lr.values[start..<(start + plane)]), [code[k]], "a constant plane")
            }
            let sizes: ClosedRange<Float> = log(0.5)...log(11)
            XCTAssertTrue(sizes.contains(code[0]), "log size \(code[0]) of a kernel of the blind range")
            XCTAssertLessThan(code[1] * code[1] + code[2] * code[2], 1, "the shape lies inside the unit disc")
            codes.append(code)
        }
        XCTAssertEqual(Set(codes.map { $0[0] }).count, 4, "every patch its own kernel")
        options.conditionNoise = 0.2
        let noisy = try Trainer(options: options, photos: photos, validation: nil).batch(at: 3).lr
        let pictures = (0..<4).flatMap { (b: Int) -> [Float] in Array(noisy.values[(b * 6 * plane)..<((b * 6 + 3) * plane)]) }
        XCTAssertEqual(pictures, blind.lr.values)
        XCTAssertNotEqual(noisy.values[3 * plane], codes[0][0], "the noise moves the code")
        XCTAssertEqual(noisy.values[3 * plane], codes[0][0], accuracy: 1, "by about its standard deviation")
    }
}
