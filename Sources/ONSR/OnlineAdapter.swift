import Decode
import Engine
import Foundation

/// What an adaptation may do.
public struct AdaptationOptions: Codable, Sendable {
    public var steps = 100
    public var learningRateGr: Float = 1e-4
    /// nil: the strategy's own rate (`AdaptationStrategy.learningRateGd(scale:)`).
    public var learningRateGd: Float?
    public var learningRateDl: Float = 1e-4
    public var ganWeight: Float = 0.01
    /// When the step budget is spent, Gr's weights are blended back towards those it started from:
    /// start + blend · (adapted − start) (1: the adapted Gr as it is). An interpolation between the pretrained
    /// and the fine-tuned weights (as WiSE-FT does) keeps most of the gain where the fitted kernel is right and
    /// loses less where it is wrong: chosen on training-set crops (docs/onsr-study.md). nil: the strategy's own
    /// (`AdaptationStrategy.defaultBlend`).
    public var blend: Float?
    /// LR patches (32 x 32) and HR patches (32s x 32s) per step.
    public var patches = 10
    /// The GAN term needs Dl's 32 x 32 input; with other sizes (small tests) it is left out.
    public var patchSize = 32
    public var seed: UInt64 = 1
    public init() {}
}

/// One step's numbers, for progress callbacks and reports.
public struct AdaptationStep: Sendable {
    public let step: Int
    public let internalLoss: Float
    public let externalLoss: Float
    /// L_IB on the fixed held-aside patches: a no-reference signal of how well Gd(Gr(y)) explains the input.
    public let heldAsideInternalLoss: Float
}

/// Online SR adaptation of a pretrained Gr to the LR frames in front of it, with a learned degradation Gd.
/// Its strategy decides what each step trains; the steps it offers (`updateDegradation`,
/// `updateReconstruction`, `updateDiscriminator`) are the paper's Algorithm 1 pieces.
public final class OnlineAdapter {
    public let gr: RRDBNet
    public let gd: DegradationNet
    public let dl: Discriminator
    public let options: AdaptationOptions
    public let strategy: AdaptationStrategy
    let external: [RGBImage]
    /// Two-phase with the spectral or learned shape: the kernel Gr is fine-tuned through (set when Gd's phase
    /// ends, or from the first step with the blur estimator's kernel; nil while Gd's own kernel serves).
    public internal(set) var shapedKernel: BlurKernel?
    /// Two-phase with the spectral shape: the Gaussian `shapedKernel` samples (nil where Gd's own kernel serves).
    public internal(set) var spectralShape: SpectralBlur.Shape?
    /// Two-phase with the spectral kernel shape: how far the frames' quadrants agreed on the blur's direction
    /// (`SpectralBlur.Estimate.agreement`; 0 when the frames were too small to tell), set when Gd's phase ends.
    public internal(set) var spectralAgreement: Double?
    /// The optimisers of Gr, Gd and Dl, for strategies that combine the steps differently (the benchmark's).
    public let optimiserGr: Adam, optimiserGd: Adam, optimiserDl: Adam
    private var heldAside: Tensor?
    /// Gr(heldAside) and the fingerprint of the Gr weights that made it: reused while Gr does not change (the
    /// whole Gd phase of two-phase), whoever changes it (callers restore snapshots into `gr`).
    private var heldAsideReconstruction: (tensor: Tensor, weights: Double)?
    private var rng: SeededRandom
    /// Gr's weights when the adapter was made: what `blend` blends back towards.
    private let startWeights: [Tensor]
    /// The blend applied once the budget is spent: the options', else the strategy's.
    public let blend: Float
    public private(set) var stepsDone = 0
    /// λ in effect: Dl only takes patches of its own size.
    public var ganWeight: Float { options.patchSize == Discriminator.patchSize ? options.ganWeight : 0 }

    /// `gr` is adapted in place (pass a fresh copy to keep the pretrained weights). A warm start passes the
    /// Gd and Dl of an earlier adaptation.
    public init(gr: RRDBNet, external: [RGBImage], options: AdaptationOptions, strategy: AdaptationStrategy = TwoPhase(),
                gd: DegradationNet? = nil, dl: Discriminator? = nil) {
        self.gr = gr
        self.gd = gd ?? DegradationNet(scale: gr.scale)
        self.dl = dl ?? Discriminator(seed: options.seed)
        self.external = external
        self.options = options
        self.strategy = strategy
        rng = SeededRandom(seed: options.seed)
        blend = options.blend ?? strategy.defaultBlend
        startWeights = blend == 1 ? [] : gr.snapshot()
        optimiserGr = Adam(gr, learningRate: options.learningRateGr)
        optimiserGd = Adam(self.gd, learningRate: options.learningRateGd ?? strategy.learningRateGd(scale: gr.scale))
        optimiserDl = Adam(self.dl, learningRate: options.learningRateDl)
    }

    // MARK: Patches

    /// `count` random square patches of `size` from `images`, skipping flat ones (they carry no blur information).
    func patches(from images: [RGBImage], count: Int, size: Int) -> Tensor {
        let batch = Tensor(shape: [count, 3, size, size])
        let candidates = images.filter { $0.width >= size && $0.height >= size }
        precondition(!candidates.isEmpty, "frames and photos must be at least \(size) pixels on each side")
        for b in 0..<count {
            var patch: [Float] = []
            for attempt in 0..<10 {
                let image = candidates[rng.index(candidates.count)]
                patch = image.crop(top: rng.index(image.height - size + 1), left: rng.index(image.width - size + 1), height: size, width: size)
                let mean = patch.reduce(0, +) / Float(patch.count)
                let variance = patch.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(patch.count)
                if variance > 1e-3 || attempt == 9 { break }
            }
            patch.withUnsafeBufferPointer { (batch.data + b * 3 * size * size).update(from: $0.baseAddress!, count: 3 * size * size) }
        }
        return batch
    }

    /// Draws the held-aside patches from `frames` (replacing any earlier ones) and returns L_IB on them under
    /// the current Gr and Gd: how well the models explain these frames before any step on them.
    @discardableResult
    public func holdAside(frames: [RGBImage]) -> Float {
        heldAside = patches(from: frames, count: options.patches, size: options.patchSize)
        heldAsideReconstruction = nil
        return heldAsideInternalLoss()
    }

    /// L_IB on the held-aside patches (fixed at the first adaptation call).
    public func heldAsideInternalLoss() -> Float {
        guard let heldAside else { return .nan }
        let weights = fingerprint(gr)
        let reconstruction = heldAsideReconstruction.flatMap { $0.weights == weights ? $0.tensor : nil } ?? gr(heldAside)
        heldAsideReconstruction = (reconstruction, weights)
        return Loss.l1(gd(reconstruction), heldAside).loss
    }

    // MARK: Adaptation

    /// Runs `steps` (default: the options' step budget) of adaptation on `frames`.
    @discardableResult
    public func adapt(frames: [RGBImage], steps: Int? = nil, progress: (AdaptationStep) -> Void = { _ in }) -> [AdaptationStep] {
        let size = options.patchSize, s = gr.scale
        if heldAside == nil { heldAside = patches(from: frames, count: options.patches, size: size) }
        var history: [AdaptationStep] = []
        for _ in 0..<(steps ?? options.steps) {
            let y = patches(from: frames, count: options.patches, size: size)
            let xe = patches(from: external, count: options.patches, size: size * s)
            let (internalLoss, externalLoss) = strategy.step(self, y: y, xe: xe, frames: frames)
            stepsDone += 1
            if stepsDone == options.steps && blend != 1 {
                // Once, at the end of the budget: steps beyond it (warm steps) go on from the blended Gr.
                gr.blend(from: startWeights, to: gr.snapshot(), weight: blend)
                heldAsideReconstruction = nil
            }
            let record = AdaptationStep(step: stepsDone, internalLoss: internalLoss, externalLoss: externalLoss,
                                        heldAsideInternalLoss: heldAsideInternalLoss())
            history.append(record)
            progress(record)
        }
        return history
    }

    /// Gd <- L_IB (+ λ L_GAN): Gr runs forward only, Dl is not trained here.
    public func updateDegradation(y: Tensor, xe: Tensor, gan: Bool) -> Float {
        optimiserGd.zeroGrad()
        let reconstructed = gr(y)
        let (loss, grad) = Loss.l1(gd.forward(reconstructed, saving: true), y)
        gd.backward(grad)
        if gan && ganWeight > 0 {
            dl.setTrainable(false)
            let fake = gd.forward(xe, saving: true)
            let (_, gradLogits) = Loss.bceWithLogits(dl.forward(fake, saving: true), label: 1)
            for i in 0..<gradLogits.count { gradLogits[i] *= ganWeight }
            if let gradFake = dl.backward(gradLogits, needInputGrad: true) { gd.backward(gradFake) }
            dl.setTrainable(true)
        }
        optimiserGd.step()
        gd.renormalise()
        return loss
    }

    /// Each HR patch of the batch blurred with `kernel`, then subsampled.
    private func blurSubsample(_ xe: Tensor, kernel: BlurKernel) -> Tensor {
        let (n, c, h, w) = xe.nchw
        let s = gr.scale
        let lr = Tensor(shape: [n, c, h / s, w / s])
        for b in 0..<n {
            let planes = Array(UnsafeBufferPointer(start: xe.data + b * c * h * w, count: c * h * w))
            let low = Degrade.blurSubsample(planes, channels: c, height: h, width: w, kernel: kernel, scale: s)
            low.withUnsafeBufferPointer { (lr.data + b * c * (h / s) * (w / s)).update(from: $0.baseAddress!, count: low.count) }
        }
        return lr
    }

    /// The input's noise and compression, applied after D in the external branch: L_EB = |x_e - Gr(C(D(x_e) + n))|,
    /// so that Gr learns to undo this input's codec as well as its blur (nil: the paper's blur-only model).
    public var compression: PatchCompressor?
    /// External-branch steps whose compression failed and ran blur-only.
    public private(set) var compressionFailures = 0

    /// Gr <- L_EB = |x_e - Gr(D(x_e))|, D being `kernel` (blur, then subsample) or, when nil, Gd's current
    /// degradation: Gd runs forward only. With `compression`, C(D(x_e) + n).
    public func updateReconstruction(xe: Tensor, through kernel: BlurKernel? = nil) -> Float {
        optimiserGr.zeroGrad()
        var lr = kernel.map { blurSubsample(xe, kernel: $0) } ?? gd(xe)
        if let compression {
            // The profile was tried once when it was made (`CompressionEstimate`); a later failure of the same
            // round trip leaves this step blur-only and is counted.
            if let compressed = try? compression(lr) { lr = compressed } else { compressionFailures += 1 }
        }
        let (loss, grad) = Loss.l1(gr.forward(lr, saving: true), xe)
        gr.backward(grad)
        stepGr()
        return loss
    }

    /// Applies Gr's accumulated gradients (Adam) and forgets what was computed with the old weights.
    public func stepGr() {
        optimiserGr.step()
        heldAsideReconstruction = nil
    }

    /// A position-weighted sum of every weight: a fraction of a millisecond against a Gr forward pass.
    private func fingerprint(_ network: ParameterContainer) -> Double {
        var total = 0.0
        for (index, (_, parameter)) in network.namedParameters().enumerated() {
            let values = parameter.value
            var sum = 0.0
            for i in 0..<values.count { sum += Double(values.data[i]) * Double(1 + i % 31) }
            total += sum * Double(index + 1)
        }
        return total
    }

    /// Dl <- BCE(Dl(y), real) + BCE(Dl(Gd(x_e)), fake); nothing where the GAN term is off (`ganWeight` 0).
    public func updateDiscriminator(real: Tensor, xe: Tensor) {
        guard ganWeight > 0 else { return }
        optimiserDl.zeroGrad()
        let fake = gd(xe)
        for (batch, label) in [(real, Float(1)), (fake, Float(0))] {
            let (_, grad) = Loss.bceWithLogits(dl.forward(batch, saving: true), label: label)
            dl.backward(grad)
        }
        optimiserDl.step()
    }
}
