import Decode
import Engine
import Foundation
import ONSR

/// The adaptation schedules `onsr-video eval` compares (`--methods onsr:VARIANT`): the product's two-phase,
/// the paper's variants and two controls. Only two-phase runs in the product (docs/onsr-study.md has why).
public enum StudyVariant: String, CaseIterable, Sendable {
    /// Separate optimisation: Gd from L_IB + λ L_GAN, Gr from L_EB, Dl from the GAN loss (Algorithm 1).
    case onsr
    /// As ONSR without the GAN term.
    case ibEbsr = "ib-ebsr"
    /// Internal branch only: Gr and Gd both from L_IB.
    case ibsr
    /// Gr and Gd together from L_IB + L_EB + λ L_GAN (joint optimisation).
    case joint
    /// The product's schedule (`TwoPhase`).
    case twoPhase = "two-phase"
    /// External branch only, Gd fixed at its initial Gaussian.
    case frozenGd = "frozen-gd"
    /// External branch only, with the true kernel as the degradation.
    case oracleGd = "oracle-gd"

    /// The settings of a study: `degradationWarmup` steps in which only Gd learns (0: none for the paper's
    /// separate optimisation, two-phase's own default for two-phase), and two-phase's kernel shape.
    public struct Settings: Sendable {
        public var degradationWarmup = 0
        public var kernelShape = TwoPhase().kernelShape
        public var elongationRaisesSize = TwoPhase().elongationRaisesSize
        public var learnedSize = TwoPhase().learnedSize
        public var learnedSpread = TwoPhase().learnedSpread
        public var spectralSize = TwoPhase().spectralSize
        public var spectralSpread = TwoPhase().spectralSpread
        public init() {}
    }

    /// The strategy for one image whose true kernel is `kernel` (used by the oracle only) and whose blur the
    /// estimator read as `estimate` (used by two-phase).
    public func strategy(_ settings: Settings, trueKernel kernel: BlurKernel?, estimate: BlurEstimate? = nil) -> AdaptationStrategy {
        switch self {
        case .onsr, .ibEbsr: return SeparateOptimisation(gan: self == .onsr, warmup: settings.degradationWarmup)
        case .ibsr: return InternalBranchOnly()
        case .joint: return JointOptimisation()
        case .twoPhase:
            var twoPhase = TwoPhase(degradationPhase: settings.degradationWarmup > 0 ? settings.degradationWarmup : nil,
                                    kernelShape: settings.kernelShape, elongationRaisesSize: settings.elongationRaisesSize, estimate: estimate)
            twoPhase.learnedSize = settings.learnedSize
            twoPhase.learnedSpread = settings.learnedSpread
            twoPhase.spectralSize = settings.spectralSize
            twoPhase.spectralSpread = settings.spectralSpread
            return twoPhase
        case .frozenGd: return ExternalBranchOnly(trueKernel: nil)
        case .oracleGd: return ExternalBranchOnly(trueKernel: kernel)
        }
    }
}

/// The paper's variants train Gd at Adam's usual rate.
private let paperLearningRateGd: Float = 1e-4

/// Algorithm 1: Gd from L_IB (+ λ L_GAN), Gr from L_EB through the current Gd, Dl from the GAN loss; Gr waits
/// `warmup` steps.
struct SeparateOptimisation: AdaptationStrategy {
    let gan: Bool
    let warmup: Int
    var name: String { gan ? "onsr" : "ib-ebsr" }
    func learningRateGd(scale: Int) -> Float { paperLearningRateGd }

    func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float) {
        let internalLoss = adapter.updateDegradation(y: y, xe: xe, gan: gan)
        let externalLoss = adapter.stepsDone >= warmup ? adapter.updateReconstruction(xe: xe) : .nan
        if gan { adapter.updateDiscriminator(real: y, xe: xe) }
        return (internalLoss, externalLoss)
    }
}

/// The controls: Gr from L_EB alone, through Gd as initialised (frozen-gd) or the true kernel (oracle-gd).
struct ExternalBranchOnly: AdaptationStrategy {
    let trueKernel: BlurKernel?
    var name: String { trueKernel == nil ? "frozen-gd" : "oracle-gd" }
    func learningRateGd(scale: Int) -> Float { paperLearningRateGd }

    func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float) {
        (.nan, adapter.updateReconstruction(xe: xe, through: trueKernel))
    }
}

/// IBSR: Gr and Gd both from L_IB = |y - Gd(Gr(y))|.
struct InternalBranchOnly: AdaptationStrategy {
    var name: String { "ibsr" }
    func learningRateGd(scale: Int) -> Float { paperLearningRateGd }

    func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float) {
        let (gr, gd) = (adapter.gr, adapter.gd)
        adapter.optimiserGr.zeroGrad(); adapter.optimiserGd.zeroGrad()
        let reconstructed = gr.forward(y, saving: true)
        let (loss, grad) = Loss.l1(gd.forward(reconstructed, saving: true), y)
        if let gradReconstructed = gd.backward(grad, needInputGrad: true) { gr.backward(gradReconstructed) }
        adapter.stepGr(); adapter.optimiserGd.step()
        gd.renormalise()
        return (loss, .nan)
    }
}

/// Joint: one update of Gr and Gd from the summed gradients of L_IB, L_EB and λ L_GAN, then Dl.
struct JointOptimisation: AdaptationStrategy {
    var name: String { "joint" }
    func learningRateGd(scale: Int) -> Float { paperLearningRateGd }

    func step(_ adapter: OnlineAdapter, y: Tensor, xe: Tensor, frames: [RGBImage]) -> (internalLoss: Float, externalLoss: Float) {
        let (gr, gd, dl, ganWeight) = (adapter.gr, adapter.gd, adapter.dl, adapter.ganWeight)
        adapter.optimiserGr.zeroGrad(); adapter.optimiserGd.zeroGrad()
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
        adapter.stepGr(); adapter.optimiserGd.step()
        gd.renormalise()
        adapter.updateDiscriminator(real: y, xe: xe)
        return (loss, .nan)
    }
}
