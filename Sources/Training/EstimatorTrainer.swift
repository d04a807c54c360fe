import Decode
import Engine
import Foundation
import ONSR
import Pipeline

/// Everything that defines a training run of the blur estimator; stored in checkpoints and the model file.
public struct EstimatorTrainingOptions: Codable, Sendable, Equatable {
    public var scale = 2
    public var features = 32
    public var steps = 4000
    public var batch = 24
    public var learningRate: Float = 5e-4
    /// Share of patches only bicubic-downscaled (the no-blur class); the others are blurred and subsampled.
    public var noBlurShare = 0.25
    /// Share of patches given Gaussian noise after the degradation, σ uniform up to `noiseLevel` (of the full
    /// range): sensor noise and grain add high frequencies a blur estimate must see past.
    public var noisyShare = 0.5
    public var noiseLevel = 0.02
    /// Share of batches put through one random codec round trip with noise (`RealDegradation`: H.264, MPEG-2 or
    /// MPEG-4 part 2 at archive and web quantisers) after the degradation: coded video's blocks and ringing read as
    /// sharpness to an estimator that never saw them (nil, as in files written before the option: none).
    public var codedShare: Double?
    /// Photos left out of training (`PhotoSet.leavingOut(every:)`), nil for none: part of the options so that a
    /// checkpoint resumes only on the same photos.
    public var holdOutEvery: Int?
    /// Largest factor the HR photo is shrunk by (antialiased bicubic) before a crop is degraded, drawn per patch
    /// from 1 up to it; nil (files written before the option) for none. The photos' own sharpness is part of
    /// what the estimator reads as "the kernel": 44 wallpapers of one resolution teach it one sharpness.
    public var rescaleMax: Double?
    /// Largest σ (of the full range) of Gaussian noise added to half of the HR crops *before* the blur, nil (files
    /// written before the option) for none. Camera photos carry grain in the scene itself, which the kernel then
    /// blurs, and the wallpapers trained on are nearly free of it; the guess that blurred grain is what makes some
    /// photos read sharper than they are did not hold (docs/onsr-study.md, "Grain in the scene before the blur"),
    /// so this is a study option.
    public var sourceNoiseLevel: Double?
    /// Train the fifth output, each patch's expected error on its log size (`KernelCode.logSizeSpread`), by the
    /// Laplace likelihood of the size's error (nil, files written before the option: no spread).
    public var sizeSpread: Bool?
    /// An estimator file whose weights start the run (nil: random ones); a four-output file starts a spread
    /// network with its spread row at zero weights and a spread of 0.12.
    public var startFrom: String?
    public var seed: UInt64 = 1

    public init() {}

    /// Kernel variances drawn: the benchmark's wide range (0.2-10 at x2, 0.4-20 at x4), which holds the blind one.
    public var variances: ClosedRange<Double> { scale >= 4 ? 0.4...20 : 0.2...10 }
    public var configuration: KernelEstimator.Configuration { .init(features: features, scale: scale, sizeSpread: sizeSpread ?? false) }

    /// The rate halves at 50% and again at 75% of the steps, as Gr's training does.
    public func learningRate(at step: Int) -> Float {
        learningRate * (step >= steps * 3 / 4 ? 0.25 : step >= steps / 2 ? 0.5 : 1)
    }
}

/// One training example's target: the kernel's code, or none for a bicubic-only patch.
public struct EstimatorTarget: Sendable {
    public let noBlur: Bool
    public let code: (logTrace: Double, u: Double, v: Double)

    public init(noBlur: Bool, code: (logTrace: Double, u: Double, v: Double)) {
        self.noBlur = noBlur
        self.code = code
    }
}

/// Trains `KernelEstimator` on crops of the external photos: each crop is blurred with a random Gaussian of the
/// wide range (isotropic in 30% of cases, taps jittered as the benchmark's) and subsampled, or only
/// bicubic-downscaled; half get Gaussian noise. Loss: L1 on (log trace, u, v) of the generating covariance for blurred patches, plus
/// binary cross-entropy on the no-blur logit for all. Each step's patches come from a generator seeded by
/// (seed, step), so a resumed run replays what an uninterrupted one would have done.
public final class EstimatorTrainer {
    public let options: EstimatorTrainingOptions
    public let network: KernelEstimator
    private let optimiser: Adam
    private let usable: [RGBImage]
    /// Photos trained on, after the hold-out.
    public let photoCount: Int
    public private(set) var step = 0
    private var trainingSeconds = 0.0

    /// HR crop side: the LR patch times the scale, plus the kernel's reach on each side.
    var cropSide: Int { KernelEstimator.patchSize * options.scale + 2 * margin }
    var margin: Int { 12 * options.scale }

    public init(options: EstimatorTrainingOptions, photos: PhotoSet) throws {
        self.options = options
        network = KernelEstimator(options.configuration, seed: options.seed)
        if let start = options.startFrom { try EstimatorTrainer.load(start, into: network) }
        optimiser = Adam(network, learningRate: options.learningRate, betas: (0.9, 0.99))
        let side = KernelEstimator.patchSize * options.scale + 24 * options.scale
        let trained = options.holdOutEvery.map { photos.leavingOut(every: $0) } ?? photos
        guard !trained.images.isEmpty else { throw JobError(.noInput, "\(photos.folder): no photo left to train on") }
        photoCount = trained.images.count
        usable = trained.images.filter { $0.width >= side && $0.height >= side }
        guard !usable.isEmpty else { throw JobError(.dataError, "\(photos.folder): no photo is at least \(side)x\(side) pixels") }
    }

    /// The patches and targets of step `step`. Every random draw is made in order first; the degradations
    /// (the costly part at x4) then run in parallel, so the batch does not depend on the thread count.
    public func batch(at step: Int) -> (patches: Tensor, targets: [EstimatorTarget]) {
        let stepSeed = options.seed &* 0x2545_F491 &+ UInt64(step)
        var rng = SeededRandom(seed: stepSeed)
        let (s, big, p) = (options.scale, cropSide, KernelEstimator.patchSize)
        var work: [(crop: [Float], source: Int, kernel: BlurKernel?, noise: [Float], grain: (sigma: Float, seed: UInt64)?)] = []
        var targets: [EstimatorTarget] = []
        // The grain has its own stream, so that the option leaves every other draw (crops, kernels, classes) as it was.
        var grainDraws = SeededRandom(seed: stepSeed ^ 0x9E37_79B9_7F4A_7C15)
        for _ in 0..<options.batch {
            let image = usable[rng.index(usable.count)]
            let source = rescaledCropSide(big, of: image, rescaleMax: options.rescaleMax, rng: &rng)
            let crop = dihedral(image.crop(top: rng.index(image.height - source + 1), left: rng.index(image.width - source + 1), height: source, width: source),
                                size: source, transform: rng.index(8))
            var kernel: BlurKernel?
            if rng.uniform(0, 1) < options.noBlurShare {
                targets.append(EstimatorTarget(noBlur: true, code: (0, 0, 0)))
            } else {
                let lambda1 = rng.uniform(options.variances.lowerBound, options.variances.upperBound)
                let lambda2 = rng.uniform(0, 1) < 0.3 ? lambda1 : rng.uniform(options.variances.lowerBound, options.variances.upperBound)
                let theta = rng.uniform(-Double.pi, Double.pi)
                kernel = BlurKernel.gaussian(scale: s, lambda1: lambda1, lambda2: lambda2, theta: theta, noise: 0.25, rng: &rng)
                targets.append(EstimatorTarget(noBlur: false, code: KernelCode.encode(EstimatorTrainer.covariance(lambda1, lambda2, theta))))
            }
            var noise: [Float] = []
            if rng.uniform(0, 1) < options.noisyShare {
                let sigma = Float(rng.uniform(0, options.noiseLevel))
                noise = (0..<(3 * p * p)).map { _ in sigma * rng.normal() }
            }
            var grain: (sigma: Float, seed: UInt64)?
            if let level = options.sourceNoiseLevel, grainDraws.uniform(0, 1) < 0.5 {
                grain = (Float(grainDraws.uniform(0, level)), UInt64(grainDraws.index(Int(Int32.max))))
            }
            work.append((crop, source, kernel, noise, grain))
        }
        let coded = rng.uniform(0, 1) < (options.codedShare ?? 0)
        var patches = [[Float]](repeating: [], count: work.count)
        let (side, offset) = (big / s, margin / s)
        patches.withUnsafeMutableBufferPointer { results in
            Parallel.each(work.count) { i in
                let (original, source, kernel, noise, grain) = work[i]
                var crop = shrunk(original, from: source, to: big)
                if let grain {
                    var grainRNG = SeededRandom(seed: grain.seed)
                    for j in crop.indices { crop[j] += grain.sigma * grainRNG.normal() }
                }
                let low = kernel.map { Degrade.blurSubsample(crop, channels: 3, height: big, width: big, kernel: $0, scale: s) }
                    ?? Degrade.bicubic(crop, channels: 3, height: big, width: big, scale: s)
                var patch = RGBImage(width: side, height: side, pixels: low).crop(top: offset, left: offset, height: p, width: p)
                for j in noise.indices { patch[j] += noise[j] }
                results[i] = patch
            }
        }
        if coded { patches = RealDegradation.compress(patches, side: p, rng: &rng) }
        return (KernelEstimator.patchTensor(patches), targets)
    }

    /// Σ = R(θ) diag(λ1, λ2) R(θ)ᵀ as (σyy, σyx, σxx), θ measured as `BlurKernel.gaussian` measures it.
    static func covariance(_ lambda1: Double, _ lambda2: Double, _ theta: Double) -> (yy: Double, yx: Double, xx: Double) {
        let (c, s) = (cos(theta), sin(theta))
        return (s * s * lambda1 + c * c * lambda2, c * s * (lambda1 - lambda2), c * c * lambda1 + s * s * lambda2)
    }

    /// Copies an estimator file's weights into `network`; the spread row, where the file has none, starts at zero
    /// weights and a bias of log 0.12 (about the size error on the training-set crops).
    static func load(_ path: String, into network: KernelEstimator) throws {
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors.read(path: path).tensors } catch { throw JobError(.dataError, "\(error)") }
        for (name, parameter) in network.namedParameters() {
            guard let source = tensors[name] else { throw JobError(.dataError, "\(path): no \(name); not a blur estimator") }
            let target = parameter.value
            if source.shape == target.shape {
                for i in 0..<target.count { target[i] = source[i] }
            } else if name.hasPrefix("head."), source.count < target.count, Array(source.shape.dropFirst()) == Array(target.shape.dropFirst()) {
                // head rows are outputs (weight: out x in), so the four shared rows come first.
                target.zero()
                for i in 0..<source.count { target[i] = source[i] }
                if name == "head.bias" { target[KernelCode.logSizeSpread] = log(0.12) }
            } else {
                throw JobError(.dataError, "\(path): \(name) is \(source.shape), the network's is \(target.shape)")
            }
        }
    }

    /// The loss of `output` against `targets` and its gradient (mean over the batch). With a fifth output (the spread
    /// s), blurred patches add the Laplace negative log-likelihood of the size's error e, e·exp(−s) + s, with e held
    /// fixed: the spread learns how far the size is off where it reads, and the size is trained as before.
    public static func loss(_ output: Tensor, _ targets: [EstimatorTarget]) -> (loss: Float, gradient: Tensor) {
        let k = output.shape[1], n = Float(targets.count)
        precondition(k == KernelCode.outputs || k == KernelCode.outputs + 1, "the estimator has 4 or 5 outputs")
        let gradient = Tensor(shape: output.shape)
        var total: Float = 0
        for (i, target) in targets.enumerated() {
            let logit = output[i * k + KernelCode.noBlurLogit]
            let label: Float = target.noBlur ? 1 : 0
            let probability = 1 / (1 + exp(-logit))
            total += max(logit, 0) - logit * label + log(1 + exp(-abs(logit)))
            gradient[i * k + KernelCode.noBlurLogit] = (probability - label) / n
            guard !target.noBlur else { continue }
            total += KernelCode.l1(output, row: i, wanted: target.code, count: n, gradient: gradient)
            if k > KernelCode.outputs {
                let error = abs(output[i * k + KernelCode.logTrace] - Float(target.code.logTrace))
                // Clamped so that exp cannot overflow; the loss is flat in s outside the clamp, and so is its gradient.
                let raw = output[i * k + KernelCode.logSizeSpread], spread = min(max(raw, -8), 8)
                total += error * exp(-spread) + spread
                gradient[i * k + KernelCode.logSizeSpread] = spread == raw ? (1 - error * exp(-spread)) / n : 0
            }
        }
        return (total / n, gradient)
    }

    /// One optimisation step; returns the loss.
    @discardableResult
    public func trainStep() -> Float {
        let watch = DispatchTime.now().uptimeNanoseconds
        let (patches, targets) = batch(at: step)
        optimiser.learningRate = options.learningRate(at: step)
        optimiser.zeroGrad()
        let (loss, gradient) = EstimatorTrainer.loss(network.forward(patches, saving: true), targets)
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

    /// Writes the trained estimator: parameters (f32) with the architecture and training record.
    public func saveModel(to path: String, record: [String: String]) throws {
        var metadata = record
        metadata["kind"] = "kernel-estimator"
        metadata["features"] = String(options.features)
        metadata["scale"] = String(options.scale)
        metadata["patch"] = String(KernelEstimator.patchSize)
        metadata["steps"] = String(step)
        metadata["train_seconds"] = String(format: "%.0f", trainingSeconds)
        metadata["options"] = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        try TrainingCheckpoint.writeAtomically(SafeTensors.parameters(of: network), to: path, metadata: metadata)
    }
}

extension KernelCode {
    /// L1 between row `row` of `output`'s three code outputs (log tr, u, v) and `wanted`; writes their gradient of the
    /// batch mean (sign / `count`) into `gradient` and returns the row's loss. Shared by the estimator's and the
    /// corrector's training, whose targets are a code and a code's error.
    static func l1(_ output: Tensor, row: Int, wanted: (logTrace: Double, u: Double, v: Double), count: Float, gradient: Tensor) -> Float {
        let k = output.shape[1]
        var total: Float = 0
        for (index, value) in [(logTrace, wanted.logTrace), (shapeU, wanted.u), (shapeV, wanted.v)] {
            let difference = output[row * k + index] - Float(value)
            total += abs(difference)
            gradient[row * k + index] = (difference > 0 ? 1 : difference < 0 ? -1 : 0) / count
        }
        return total
    }
}
