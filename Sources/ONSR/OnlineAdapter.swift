import Decode
import Engine
import Foundation

/// The paper's variants, for ablations, plus two controls.
public enum AdaptationVariant: String, Codable, CaseIterable, Sendable {
    /// Separate optimisation: Gd from L_IB + λ L_GAN, Gr from L_EB, Dl from the GAN loss (Algorithm 1).
    case onsr
    /// As ONSR without the GAN term.
    case ibEbsr = "ib-ebsr"
    /// Internal branch only: Gr and Gd both from L_IB.
    case ibsr
    /// Gr and Gd together from L_IB + L_EB + λ L_GAN (joint optimisation).
    case joint
    /// First Gd alone (L_IB + λ L_GAN through the fixed pretrained Gr) for `degradationWarmup` steps, then Gr
    /// alone (L_EB) through that Gd, fixed: Gr never chases a moving degradation, Gd never a moving Gr.
    case twoPhase = "two-phase"
    /// External branch only, Gd fixed at its initial Gaussian.
    case frozenGd = "frozen-gd"
    /// External branch only, with the true kernel as the degradation (benchmarks only).
    case oracleGd = "oracle-gd"
}

/// What an adaptation may do.
public struct AdaptationOptions: Codable, Sendable {
    /// Two-phase measured best on the shipped model (docs/onsr-study.md).
    public var variant = AdaptationVariant.twoPhase
    public var steps = 100
    public var learningRateGr: Float = 1e-4
    /// nil: the variant's own rate (two-phase, whose Gd learns alone against a fixed Gr: 3e-3 at x2, 1e-3 at x4;
    /// 1e-4 otherwise).
    public var learningRateGd: Float?
    public var learningRateDl: Float = 1e-4
    public var ganWeight: Float = 0.01
    /// Steps at the start of each adaptation in which only Gd (and Dl) learn, with Gr fixed, so that Gr is then
    /// fine-tuned on a degradation fitted to the input instead of chasing a moving guess. 0: none for the
    /// separate-optimisation variants; for two-phase half of the adaptation's steps, at most 50 (Gd converges in
    /// about 50 steps, after which every Gr step gains: docs/onsr-study.md, quality against steps).
    public var degradationWarmup = 0
    /// Two-phase's Gd phase is at most this many steps long by default.
    public static let longestDegradationPhase = 50

    /// The Gd learning rate in effect for a scale.
    /// Two-phase: 3e-3 at x2, 1e-3 at x4, where 3e-3 moved the larger Gd away from the true kernel
    /// (docs/onsr-study.md, x4).
    public func effectiveLearningRateGd(scale: Int) -> Float {
        learningRateGd ?? (variant == .twoPhase ? (scale >= 4 ? 1e-3 : 3e-3) : 1e-4)
    }
    /// Two-phase: the kernel Gr is fine-tuned through once Gd's phase ends. `fitted`: Gd as fitted. `spectral`: a
    /// Gaussian of Gd's fitted size whose direction and elongation come from the input's power spectrum
    /// (`SpectralBlur`), since Gd fitted through the blind Gr comes out nearly round. Spectral measured better
    /// on held-out photos (+0.34 against +0.15 dB at x2, 100 steps, blend 0.5; docs/onsr-study.md).
    public var kernelShape = KernelShape.spectral
    /// Spectral shape: where the spectrum's eigenvalue difference exceeds 0.8 of Gd's fitted size, raise the
    /// size to fit it instead of cutting the difference down (`SpectralBlur.shapedKernel(raiseSize:)`).
    public var elongationRaisesSize = true
    /// When the step budget is spent, Gr's weights are blended back towards those it started from:
    /// start + blend · (adapted − start) (1: the adapted Gr as it is). An interpolation between the pretrained
    /// and the fine-tuned weights (as WiSE-FT does) keeps most of the gain where the fitted kernel is right and
    /// loses less where it is wrong: chosen on training-set crops (docs/onsr-study.md).
    public var blend: Float = 0.5
    /// LR patches (32 x 32) and HR patches (32s x 32s) per step.
    public var patches = 10
    /// The GAN term needs Dl's 32 x 32 input; with other sizes (small tests) it is left out.
    public var patchSize = 32
    public var seed: UInt64 = 1
    public init() {}
}

/// Where two-phase takes the shape of the kernel Gr is fine-tuned through.
public enum KernelShape: String, Codable, CaseIterable, Sendable {
    /// Gd's fitted kernel as it is.
    case fitted
    /// Gd's fitted size, the input spectrum's direction and elongation (`SpectralBlur`).
    case spectral
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
public final class OnlineAdapter {
    public let gr: RRDBNet
    public let gd: DegradationNet
    public let dl: Discriminator
    public let options: AdaptationOptions
    let external: [RGBImage]
    /// The true kernel, for the oracle control only.
    public var oracleKernel: BlurKernel?
    /// Two-phase with the spectral shape: the kernel Gr is fine-tuned through (set when Gd's phase ends; nil
    /// while Gd's own kernel serves).
    public private(set) var shapedKernel: BlurKernel?
    /// Two-phase with the spectral kernel shape: how far the frames' quadrants agreed on the blur's direction
    /// (`SpectralBlur.Estimate.agreement`; 0 when the frames were too small to tell), set when Gd's phase ends.
    public private(set) var spectralAgreement: Double?
    private let optimiserGr: Adam, optimiserGd: Adam, optimiserDl: Adam
    private var heldAside: Tensor?
    /// Gr(heldAside) and the fingerprint of the Gr weights that made it: reused while Gr does not change (the
    /// whole Gd phase of two-phase), whoever changes it (callers restore snapshots into `gr`).
    private var heldAsideReconstruction: (tensor: Tensor, weights: Double)?
    private var rng: SeededRandom
    /// Gr's weights when the adapter was made: what `options.blend` blends back towards.
    private let startWeights: [Tensor]
    public private(set) var stepsDone = 0
    /// Steps from the adapter's first in which only Gd learns (two-phase, or `degradationWarmup`), fixed from
    /// the whole budget `options.steps` so that an adaptation taken in several calls splits the same way.
    private let gdPhaseEnd: Int
    /// λ in effect: Dl only takes patches of its own size.
    private var ganWeight: Float { options.patchSize == Discriminator.patchSize ? options.ganWeight : 0 }

    /// `gr` is adapted in place (pass a fresh copy to keep the pretrained weights). A warm start passes the
    /// Gd and Dl of an earlier adaptation.
    public init(gr: RRDBNet, external: [RGBImage], options: AdaptationOptions, gd: DegradationNet? = nil, dl: Discriminator? = nil) {
        self.gr = gr
        self.gd = gd ?? DegradationNet(scale: gr.scale)
        self.dl = dl ?? Discriminator(seed: options.seed)
        self.external = external
        self.options = options
        rng = SeededRandom(seed: options.seed)
        startWeights = options.blend == 1 ? [] : gr.snapshot()
        optimiserGr = Adam(gr, learningRate: options.learningRateGr)
        optimiserGd = Adam(self.gd, learningRate: options.effectiveLearningRateGd(scale: gr.scale))
        optimiserDl = Adam(self.dl, learningRate: options.learningRateDl)
        gdPhaseEnd = options.degradationWarmup > 0 ? options.degradationWarmup
            : (options.variant == .twoPhase ? max(1, min(AdaptationOptions.longestDegradationPhase, options.steps / 2)) : 0)
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
            var internalLoss: Float = .nan, externalLoss: Float = .nan
            switch options.variant {
            case .onsr, .ibEbsr:
                internalLoss = updateDegradation(y: y, xe: xe, gan: options.variant == .onsr)
                if stepsDone >= gdPhaseEnd { externalLoss = updateReconstruction(xe: xe) }
                if options.variant == .onsr && ganWeight > 0 { updateDiscriminator(real: y, xe: xe) }
            case .frozenGd, .oracleGd:
                externalLoss = updateReconstruction(xe: xe)
            case .twoPhase:
                if stepsDone < gdPhaseEnd {
                    internalLoss = updateDegradation(y: y, xe: xe, gan: true)
                    if ganWeight > 0 { updateDiscriminator(real: y, xe: xe) }
                } else {
                    if options.kernelShape == .spectral && spectralAgreement == nil {
                        shapedKernel = spectrallyShapedKernel(frames: frames)
                    }
                    externalLoss = updateReconstruction(xe: xe)
                }
            case .ibsr:
                internalLoss = jointInternalStep(y: y)
            case .joint:
                internalLoss = jointStep(y: y, xe: xe)
            }
            stepsDone += 1
            if stepsDone == options.steps && options.blend != 1 {
                // Once, at the end of the budget: steps beyond it (warm steps) go on from the blended Gr.
                gr.blend(from: startWeights, to: gr.snapshot(), weight: options.blend)
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
    private func updateDegradation(y: Tensor, xe: Tensor, gan: Bool) -> Float {
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

    /// The LR versions of external HR patches: Gd's (current) degradation, the true kernel for the oracle, or
    /// the spectrally shaped kernel once two-phase has made it.
    private func degradeExternal(_ xe: Tensor) -> Tensor {
        if let kernel = options.variant == .oracleGd ? oracleKernel : shapedKernel {
            return blurSubsample(xe, kernel: kernel)
        }
        return gd(xe)
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

    /// Gd's fitted size in the direction and elongation the frames' spectrum shows, the elongation as far as the
    /// frames' quadrants agree on it; Gd's own kernel (nil) when they do not agree at all or the frames are too
    /// small for the spectrum.
    private func spectrallyShapedKernel(frames: [RGBImage]) -> BlurKernel? {
        let luma = frames.map { (values: $0.luma, height: $0.height, width: $0.width) }
        let spectral = SpectralBlur.estimate(luma: luma, scale: gr.scale)
        spectralAgreement = spectral?.agreement ?? 0
        guard let spectral else { return nil }
        let confidence = SpectralBlur.confidence(agreement: spectral.agreement)
        guard confidence > 0 else { return nil }
        let fitted = KernelComparison.covariance(gd.subsamplingKernel())
        return SpectralBlur.shapedKernel(trace: fitted.yy + fitted.xx, spectral: spectral.covariance, scale: gr.scale,
                                         confidence: confidence, raiseSize: options.elongationRaisesSize)
    }

    /// Gr <- L_EB = |x_e - Gr(Gd(x_e))|: Gd runs forward only.
    private func updateReconstruction(xe: Tensor) -> Float {
        optimiserGr.zeroGrad()
        let (loss, grad) = Loss.l1(gr.forward(degradeExternal(xe), saving: true), xe)
        gr.backward(grad)
        stepReconstruction()
        return loss
    }

    private func stepReconstruction() {
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

    /// Dl <- BCE(Dl(y), real) + BCE(Dl(Gd(x_e)), fake).
    private func updateDiscriminator(real: Tensor, xe: Tensor) {
        optimiserDl.zeroGrad()
        let fake = gd(xe)
        for (batch, label) in [(real, Float(1)), (fake, Float(0))] {
            let (_, grad) = Loss.bceWithLogits(dl.forward(batch, saving: true), label: label)
            dl.backward(grad)
        }
        optimiserDl.step()
    }

    /// IBSR: Gr and Gd both from L_IB = |y - Gd(Gr(y))|.
    private func jointInternalStep(y: Tensor) -> Float {
        optimiserGr.zeroGrad(); optimiserGd.zeroGrad()
        let reconstructed = gr.forward(y, saving: true)
        let (loss, grad) = Loss.l1(gd.forward(reconstructed, saving: true), y)
        if let gradReconstructed = gd.backward(grad, needInputGrad: true) { gr.backward(gradReconstructed) }
        stepReconstruction(); optimiserGd.step()
        gd.renormalise()
        return loss
    }

    /// Joint: one update of Gr and Gd from the summed gradients of L_IB, L_EB and λ L_GAN.
    private func jointStep(y: Tensor, xe: Tensor) -> Float {
        optimiserGr.zeroGrad(); optimiserGd.zeroGrad()
        let reconstructed = gr.forward(y, saving: true)
        let (loss, grad) = Loss.l1(gd.forward(reconstructed, saving: true), y)
        if let gradReconstructed = gd.backward(grad, needInputGrad: true) { gr.backward(gradReconstructed) }
        let lr = gd.forward(xe, saving: true)
        let (_, gradSR) = Loss.l1(gr.forward(lr, saving: true), xe)
        if let gradLR = gr.backward(gradSR, needInputGrad: true) { gd.backward(gradLR) }
        if ganWeight > 0 {
            dl.setTrainable(false)
            let (_, gradLogits) = Loss.bceWithLogits(dl.forward(gd.forward(xe, saving: true), saving: true), label: 1)
            for i in 0..<gradLogits.count { gradLogits[i] *= ganWeight }
            if let gradFake = dl.backward(gradLogits, needInputGrad: true) { gd.backward(gradFake) }
            dl.setTrainable(true)
        }
        stepReconstruction(); optimiserGd.step()
        gd.renormalise()
        if ganWeight > 0 { updateDiscriminator(real: y, xe: xe) }
        return loss
    }
}
