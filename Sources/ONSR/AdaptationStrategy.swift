import Decode
import Engine
import Foundation

/// How an adaptation spends its steps: which network learns from which loss at each step. The product runs
/// `TwoPhase`; the paper's other variants and the controls are strategies of the benchmark (`Sources/Training`),
/// built from the same steps of `OnlineAdapter` (`updateDegradation`, `updateReconstruction`, ...).
public protocol AdaptationStrategy: Sendable {
    /// The name in method names and reports (`two-phase`).
    var name: String { get }
    /// Gd's learning rate at `scale` where the options leave it unset.
    func learningRateGd(scale: Int) -> Float
    /// One step on the LR patches `y` and the external HR patches `xe`, drawn by the adapter from `frames`
    /// and its external photos; returns L_IB and L_EB (NaN for a loss the step did not compute).
    func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float)
    /// Gr's blend towards its start where the options leave it unset (`AdaptationOptions.blend`).
    var defaultBlend: Float { get }
}

extension AdaptationStrategy {
    /// Halfway: chosen on training-set crops when Gr was fine-tuned through Gd's fitted size (docs/onsr-study.md,
    /// "Blending the adapted Gr back towards the pretrained one").
    public var defaultBlend: Float { 0.5 }
}

/// Where two-phase takes the shape of the kernel Gr is fine-tuned through.
public enum KernelShape: String, Codable, CaseIterable, Sendable {
    /// Gd's fitted kernel as it is.
    case fitted
    /// Gd's fitted size, the input spectrum's direction and elongation (`SpectralBlur`).
    case spectral
    /// The blur estimator's kernel (`KernelEstimator`), which also starts Gd; spectral where there is no estimate.
    case learned
}

/// The product's schedule: first Gd alone (L_IB + λ L_GAN through the fixed pretrained Gr, Dl trained beside
/// it), then Gr alone (L_EB) through that degradation, fixed: Gr never chases a moving degradation, Gd never a
/// moving Gr. Measured best of the paper's variants and ours on the shipped model (docs/onsr-study.md).
public struct TwoPhase: AdaptationStrategy {
    /// Steps of Gd's phase; nil: half the adaptation's budget, at most `longestDegradationPhase` (Gd converges
    /// in about 50 steps, after which every Gr step gains: docs/onsr-study.md, quality against steps).
    public var degradationPhase: Int?
    /// The kernel Gr is fine-tuned through once Gd's phase ends. `fitted`: Gd as fitted. `spectral`: a Gaussian
    /// of Gd's fitted size whose direction and elongation come from the input's power spectrum (`SpectralBlur`),
    /// since Gd fitted through the blind Gr comes out nearly round. `learned` (the default): the blur
    /// estimator's kernel, which sees the size as well; on the wide kernel range it closes 76% of the gap from
    /// the frozen-Gd control to the oracle against the spectral shape's 48% (x2, 100 steps, held-out photos;
    /// docs/onsr-study.md). Without an estimate it falls back to `spectral`.
    public var kernelShape = KernelShape.learned
    /// Spectral shape: where the spectrum's eigenvalue difference exceeds 0.8 of Gd's fitted size, raise the
    /// size to fit it instead of cutting the difference down (`SpectralBlur.shapedKernel(raiseSize:)`); nil: the
    /// scale's own choice (`raisesSize(scale:)`).
    public var elongationRaisesSize: Bool?

    /// The blur estimator's reading of the frames (made by the caller, who may also choose the starting Gr from
    /// it): where given, Gd starts at its kernel, and the learned shape fine-tunes Gr through it.
    public var estimate: BlurEstimate?
    /// The learned shape: the estimator's covariance is multiplied by this before Gr is fine-tuned through it.
    public var learnedSize = 1.0
    /// The learned shape: each Gr step's kernel has the estimate's covariance times a factor spread evenly over
    /// learnedSize - learnedSpread ... learnedSize (0: one kernel for all steps).
    public var learnedSpread = 0.4
    /// The spectral shape: each Gr step's kernel has the shaped covariance times a factor spread evenly over
    /// spectralSize - spectralSpread ... spectralSize (size 1 and spread 0: the shaped kernel for all steps).
    public var spectralSize = 1.0
    public var spectralSpread = 0.0

    /// Two-phase's Gd phase is at most this many steps long by default.
    public static let longestDegradationPhase = 50

    public init(degradationPhase: Int? = nil, kernelShape: KernelShape = .learned, elongationRaisesSize: Bool? = nil,
                estimate: BlurEstimate? = nil) {
        self.degradationPhase = degradationPhase
        self.kernelShape = kernelShape
        self.elongationRaisesSize = elongationRaisesSize
        self.estimate = estimate
    }

    public var name: String { "two-phase" }

    /// 0.75 where Gr is fine-tuned through the blur estimator's kernel (the learned shape with an estimate: x2 input
    /// that is not lossy-coded, whose start the bank chose), else 0.5. Evidence for 0.75 (`onsr-video eval --photos
    /// CROPS --methods fast-x2-g onsr:two-phase --checkpoints 0 200 --blends 0.5 0.75 1 --seed N`, the 11 training-set
    /// crops, seeds 1-3, 2026-11-30): mean gain over fast-x2-g +0.724 / +0.763 / +0.736 dB at blend 0.5 / 0.75 / 1,
    /// worst crop -0.21 / -0.10 / -0.52. The spectral shape (coded video, x4) keeps 0.5: at x4 it led on the same
    /// crops, and on the tuning clips' coded video 0.75 was no better (docs/onsr-study.md, "The blend with the bank").
    public var defaultBlend: Float { kernelShape == .learned && estimate != nil ? 0.75 : 0.5 }

    /// Whether the spectral shape raises Gd's size to fit the spectrum's elongation at `scale`: at x2, yes (on 28
    /// training-set crops it changed one crop, +0.52 dB: docs/onsr-study.md, "The kernel's direction from the input's
    /// spectrum"); at x4, no. The spectrum's difference is read in LR pixels and scaled by 16 to HR pixels, so a smooth
    /// photo whose content runs one way asks for far more blur than it has. On the 11 training-set crops at x4
    /// (`onsr-video eval --photos CROPS --scale 4 --methods pretrained onsr:two-phase --checkpoints 0 100 --blends 0.5
    /// --seed N [--elongation-raises-size false]`, seeds 1-3, 2026-11-30) raising moved plasma-Grey's kernel to a
    /// total variance of 17-19 (true 7.3 and 13.5 at seeds 3 and 1) and put it 1.1-3.2 dB below the unadapted model;
    /// without it the crops' mean gain at blend 0.5 is +0.34 / +0.18 / +0.27 dB against +0.20 / +0.03 / −0.10
    /// (docs/onsr-study.md, "x4 without the raise").
    public func raisesSize(scale: Int) -> Bool { elongationRaisesSize ?? (scale < 4) }

    /// 3e-3 at x2, 1e-3 at x4, where 3e-3 moved the larger Gd away from the true kernel (docs/onsr-study.md, x4):
    /// Gd learns alone against a fixed Gr.
    public func learningRateGd(scale: Int) -> Float { scale >= 4 ? 1e-3 : 3e-3 }

    /// With the learned shape Gr does not wait for Gd's fit, so Gd's phase takes this share of the budget only
    /// (Gd refines the estimator's kernel for the record and the degradation check; Gr gets the rest).
    public static let learnedDegradationShare = 10

    /// Steps of an adaptation with a budget of `steps` in which only Gd learns, fixed from the whole budget so
    /// that an adaptation taken in several calls splits the same way.
    public func degradationSteps(budget steps: Int) -> Int {
        if let degradationPhase { return degradationPhase }
        if kernelShape == .learned && estimate != nil { return max(1, steps / TwoPhase.learnedDegradationShare) }
        return max(1, min(TwoPhase.longestDegradationPhase, steps / 2))
    }

    public func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float) {
        if adapter.stepsDone == 0, let estimate {
            // Gd starts at the estimator's kernel and refines it; with the learned shape Gr is fine-tuned through
            // the estimator's kernel itself, which Gd fitted through the blind Gr would shrink (docs/onsr-study.md).
            let start = DegradationNet(scale: adapter.gr.scale)
            start.start(at: estimate.isNoBlur ? (0, 0, 0) : estimate.covariance)
            adapter.gd.restore(start.snapshot())
            if kernelShape == .learned {
                adapter.shapedKernel = estimate.isNoBlur ? start.subsamplingKernel() : estimate.scaled(by: learnedSize).kernel(scale: adapter.gr.scale)
            }
        }
        if adapter.stepsDone < degradationSteps(budget: adapter.options.steps) {
            let internalLoss = adapter.updateDegradation(y: y, xe: xe, gan: true)
            adapter.updateDiscriminator(real: y, xe: xe)
            return (internalLoss, .nan)
        }
        if (kernelShape == .spectral || (kernelShape == .learned && estimate == nil)) && adapter.spectralAgreement == nil {
            adapter.shapedKernel = spectrallyShapedKernel(adapter, frames: frames)
        }
        // A low-discrepancy walk over a size range: every stretch of steps covers it evenly.
        let position = (Double(adapter.stepsDone) * 0.618_033_988_75).truncatingRemainder(dividingBy: 1)
        if kernelShape == .learned, learnedSpread > 0, let estimate, !estimate.isNoBlur {
            let factor = learnedSize - learnedSpread * position
            return (.nan, adapter.updateReconstruction(xe: xe, through: estimate.scaled(by: factor).kernel(scale: adapter.gr.scale)))
        }
        if let shape = adapter.spectralShape, spectralSize != 1 || spectralSpread > 0 {
            let factor = spectralSize - spectralSpread * position
            return (.nan, adapter.updateReconstruction(xe: xe, through: shape.kernel(scale: adapter.gr.scale, factor: factor)))
        }
        return (.nan, adapter.updateReconstruction(xe: xe, through: adapter.shapedKernel))
    }

    /// Gd's fitted size in the direction and elongation the frames' spectrum shows, the elongation as far as the
    /// frames' quadrants agree on it; Gd's own kernel (nil) when they do not agree at all or the frames are too
    /// small for the spectrum. Records the agreement on the adapter.
    private func spectrallyShapedKernel(_ adapter: OnlineAdapter, frames: [RGBImage]) -> BlurKernel? {
        let scale = adapter.gr.scale
        let luma = frames.map { (values: $0.luma, height: $0.height, width: $0.width) }
        let spectral = SpectralBlur.estimate(luma: luma, scale: scale)
        adapter.spectralAgreement = spectral?.agreement ?? 0
        guard let spectral else { return nil }
        let confidence = SpectralBlur.confidence(agreement: spectral.agreement)
        guard confidence > 0 else { return nil }
        let fitted = KernelComparison.covariance(adapter.gd.subsamplingKernel())
        let shape = SpectralBlur.shape(trace: fitted.yy + fitted.xx, spectral: spectral.covariance,
                                       confidence: confidence, raiseSize: raisesSize(scale: scale))
        adapter.spectralShape = shape
        return shape.kernel(scale: scale)
    }
}
