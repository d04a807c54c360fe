import Decode
import Engine
import Foundation
import ONSR
import Pipeline

/// Everything that defines a training run of the kernel corrector; stored in checkpoints and the model file.
public struct CorrectorTrainingOptions: Codable, Sendable, Equatable {
    public var scale = 2
    public var features = 32
    public var steps = 3000
    public var batch = 16
    public var learningRate: Float = 5e-4
    /// Standard deviation of the error put on the true kernel's log size to make the estimate the restorer is told
    /// (a third of it on the shape): the blur estimator's own size error is 0.15-0.2 on training-set crops and up
    /// to 1.4 on soft photos, so the corrector is shown errors of either sign and of that reach.
    public var logSizeError = 0.3
    /// Share of patches given Gaussian noise after the degradation, σ uniform up to `noiseLevel`.
    public var noisyShare = 0.25
    public var noiseLevel = 0.01
    /// The kernel-conditioned Gr whose outputs are read (a shipped model's name or a file).
    public var restorer = "fast-x2-cond"
    /// Read the restorer's output bicubic-downscaled back to the input's size (`KernelCorrector.readsDownscaled`),
    /// where the blur estimator's features apply; nil (files written before the option): at full size.
    public var downscaled: Bool?
    /// A blur estimator file whose weights start the network (nil: random ones).
    public var startFrom: String?
    public var seed: UInt64 = 1

    public init() {}

    /// Kernel variances drawn: the benchmark's wide range, which holds the blind one.
    public var variances: ClosedRange<Double> { scale >= 4 ? 0.4...20 : 0.2...10 }

    /// The rate halves at 50% and again at 75% of the steps, as the estimator's does.
    public func learningRate(at step: Int) -> Float {
        learningRate * (step >= steps * 3 / 4 ? 0.25 : step >= steps / 2 ? 0.5 : 1)
    }
}

/// Trains `KernelCorrector`'s network on crops of the external photos: each crop is blurred with a random Gaussian
/// of the wide range and subsampled, the restorer is told the true kernel with an error on its code
/// (`CorrectorTrainingOptions.logSizeError`), and the network learns, from the restorer's output, the code's error
/// (L1 on the correction of log tr, u, v). Each step's patches come from a generator seeded by (seed, step), so a
/// resumed run replays what an uninterrupted one would have done.
public final class CorrectorTrainer {
    public let options: CorrectorTrainingOptions
    public let network: KernelEstimator
    public let restorer: RRDBNet
    public let restorerName: String
    private let optimiser: Adam
    private let usable: [RGBImage]
    public private(set) var step = 0
    private var trainingSeconds = 0.0

    /// LR side the restorer is run on: the HR patch's LR side plus `lrMargin` on each side, so that the patch
    /// read lies away from the restorer's borders.
    var lrSide: Int { KernelEstimator.patchSize + 2 * lrMargin }
    let lrMargin = 8
    /// HR crop side: `lrSide` times the scale plus the kernel's reach on each side (trimmed after the blur).
    var cropSide: Int { (lrSide + 2 * blurMargin) * options.scale }
    let blurMargin = 8

    public init(options: CorrectorTrainingOptions, photos: PhotoSet) throws {
        self.options = options
        network = KernelEstimator(.init(features: options.features, scale: options.scale), seed: options.seed)
        if let start = options.startFrom { try EstimatorTrainer.load(start, into: network) }
        let info = try ModelStore.resolve(options.restorer, scale: options.scale)
        guard info.configuration.conditions == KernelCode.conditions else {
            throw JobError(.usage, "\(info.name) is not kernel-conditioned: the corrector reads a conditioned Gr's output")
        }
        restorer = try ModelStore.load(info)
        restorerName = info.name
        optimiser = Adam(network, learningRate: options.learningRate, betas: (0.9, 0.99))
        let side = (KernelEstimator.patchSize + 32) * options.scale
        usable = photos.images.filter { $0.width >= side && $0.height >= side }
        guard !usable.isEmpty else { throw JobError(.dataError, "\(photos.folder): no photo is at least \(side)x\(side) pixels") }
    }

    /// The HR patches the network reads at step `step` and the corrections it should read from them.
    public func batch(at step: Int) -> (patches: Tensor, targets: [(logTrace: Double, u: Double, v: Double)]) {
        var rng = SeededRandom(seed: options.seed &* 0x2545_F491 &+ UInt64(step))
        let (s, big, lr) = (options.scale, cropSide, lrSide)
        var work: [(crop: [Float], kernel: BlurKernel, noise: [Float])] = []
        var told: [[Float]] = []
        var targets: [(logTrace: Double, u: Double, v: Double)] = []
        for _ in 0..<options.batch {
            let image = usable[rng.index(usable.count)]
            let crop = dihedral(image.crop(top: rng.index(image.height - big + 1), left: rng.index(image.width - big + 1), height: big, width: big),
                                size: big, transform: rng.index(8))
            let lambda1 = rng.uniform(options.variances.lowerBound, options.variances.upperBound)
            let lambda2 = rng.uniform(0, 1) < 0.3 ? lambda1 : rng.uniform(options.variances.lowerBound, options.variances.upperBound)
            let theta = rng.uniform(-Double.pi, Double.pi)
            let kernel = BlurKernel.gaussian(scale: s, lambda1: lambda1, lambda2: lambda2, theta: theta, noise: 0.25, rng: &rng)
            let truth = KernelCode.encode(EstimatorTrainer.covariance(lambda1, lambda2, theta))
            let e = options.logSizeError
            let wrong = KernelCode.decode(logTrace: truth.logTrace + e * Double(rng.normal()), u: truth.u + e / 3 * Double(rng.normal()),
                                          v: truth.v + e / 3 * Double(rng.normal()))
            let estimate = BlurEstimate(covariance: wrong, noBlurProbability: 0)
            told.append(BlurEstimation.condition(estimate, scale: s))
            let start = KernelCode.encode(wrong)
            targets.append((truth.logTrace - start.logTrace, truth.u - start.u, truth.v - start.v))
            var noise: [Float] = []
            if rng.uniform(0, 1) < options.noisyShare {
                let sigma = Float(rng.uniform(0, options.noiseLevel))
                noise = (0..<(3 * lr * lr)).map { _ in sigma * rng.normal() }
            }
            work.append((crop, kernel, noise))
        }
        let planes = KernelCode.conditions
        let input = Tensor(shape: [work.count, 3 + planes, lr, lr])
        let area = lr * lr
        Parallel.each(work.count) { i in
            let (crop, kernel, noise) = work[i]
            let low = Degrade.blurSubsample(crop, channels: 3, height: big, width: big, kernel: kernel, scale: s)
            var patch = RGBImage(width: big / s, height: big / s, pixels: low).crop(top: blurMargin, left: blurMargin, height: lr, width: lr)
            for j in noise.indices { patch[j] += noise[j] }
            let base = input.data + i * (3 + planes) * area
            for j in 0..<(3 * area) { base[j] = patch[j] }
            for k in 0..<planes { (base + (3 + k) * area).update(repeating: told[i][k], count: area) }
        }
        let restored = restorer(input)
        let hr = lr * s
        var patches = [[Float]](repeating: [], count: work.count)
        let downscaled = options.downscaled ?? false
        patches.withUnsafeMutableBufferPointer { results in
            Parallel.each(work.count) { i in
                let whole = (0..<(3 * hr * hr)).map { min(max(restored[i * 3 * hr * hr + $0], 0), 1) }
                // As `KernelCorrector.correction` reads a picture: the whole output downscaled, then the patch cut.
                let image = downscaled ? RGBImage(width: lr, height: lr, pixels: Degrade.bicubic(whole, channels: 3, height: hr, width: hr, scale: s))
                    : RGBImage(width: hr, height: hr, pixels: whole)
                let offset = downscaled ? lrMargin : lrMargin * s
                let side = KernelCorrector.patchSide(scale: s, downscaled: downscaled)
                results[i] = image.crop(top: offset, left: offset, height: side, width: side)
            }
        }
        return (KernelEstimator.patchTensor(patches, side: KernelCorrector.patchSide(scale: s, downscaled: downscaled)), targets)
    }

    /// L1 on the three corrections and its gradient (mean over the batch); output 0 is unused.
    public static func loss(_ output: Tensor, _ targets: [(logTrace: Double, u: Double, v: Double)]) -> (loss: Float, gradient: Tensor) {
        let n = Float(targets.count)
        let gradient = Tensor(shape: output.shape)
        let total = targets.indices.reduce(Float(0)) { $0 + KernelCode.l1(output, row: $1, wanted: targets[$1], count: n, gradient: gradient) }
        return (total / n, gradient)
    }

    /// One optimisation step; returns the loss.
    @discardableResult
    public func trainStep() -> Float {
        let watch = DispatchTime.now().uptimeNanoseconds
        let (patches, targets) = batch(at: step)
        optimiser.learningRate = options.learningRate(at: step)
        optimiser.zeroGrad()
        let (loss, gradient) = CorrectorTrainer.loss(network.forward(patches, saving: true), targets)
        network.backward(gradient)
        optimiser.step()
        step += 1
        trainingSeconds += Double(DispatchTime.now().uptimeNanoseconds - watch) / 1e9
        return loss
    }

    public var seconds: Double { trainingSeconds }

    /// Writes parameters, optimiser state and progress, atomically.
    public func saveCheckpoint(to path: String) throws {
        try TrainingCheckpoint.write(network: network, optimiser: optimiser, step: step, seconds: trainingSeconds, options: options, to: path)
    }

    /// Continues from a checkpoint made with the same options.
    public func resume(from path: String) throws {
        (step, trainingSeconds) = try TrainingCheckpoint.read(from: path, network: network, optimiser: optimiser, options: options)
    }

    /// Writes the trained corrector: parameters (f32) with the architecture, the restorer's name and the record.
    public func saveModel(to path: String, record: [String: String]) throws {
        var metadata = record
        metadata["kind"] = "kernel-corrector"
        metadata["features"] = String(options.features)
        metadata["scale"] = String(options.scale)
        metadata["restorer"] = restorerName
        metadata["reads"] = options.downscaled == true ? "downscaled" : "full"
        metadata["steps"] = String(step)
        metadata["train_seconds"] = String(format: "%.0f", trainingSeconds)
        metadata["options"] = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        try TrainingCheckpoint.writeAtomically(SafeTensors.parameters(of: network), to: path, metadata: metadata)
    }
}
