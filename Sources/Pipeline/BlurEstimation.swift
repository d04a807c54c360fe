import Decode
import Engine
import Foundation
import ONSR

/// The shipped blur estimator as the product uses it: one reading of the LR frames per adaptation, which starts
/// Gd, gives the kernel Gr is fine-tuned through (`KernelShape.learned`), and picks the starting Gr where the
/// user left it to the tool.
public enum BlurEstimation {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [Int: KernelEstimator?] = [:]

    /// The shipped estimator for `scale`, loaded once; nil where none is shipped (or it cannot be read, which
    /// the tests of the shipped files rule out).
    static func shipped(scale: Int) -> KernelEstimator? {
        lock.lock()
        defer { lock.unlock() }
        if let known = loaded[scale] { return known }
        let estimator = try? ModelStore.shippedEstimator(scale: scale)
        loaded[scale] = estimator
        return estimator
    }

    /// The shipped estimator's reading of `frames` (LR, one degradation), or nil without an estimator or a
    /// frame large enough for one patch. Serialised: the estimator keeps per-call state.
    ///
    /// Where the frames were stored with `subsampledChroma` (chroma at a lower resolution than luma: 4:2:0 video,
    /// the norm), the estimator reads their luma, copied into R, G and B, instead of their colours, whose
    /// upsampled, requantised edges mislead it.
    ///
    /// Evidence (docs/onsr-study.md, "ONSR as the video default, tested; video's blur read on luma"; each rule
    /// written down before its run; 2026-12-03, AMD EPYC family 25 model 17, Zen 4): one frame of the cockatoo
    /// clip, blurred and halved as `scripts/bench-codec` does, read as an RGB picture gives total variance 5.95 (true
    /// 4.64) and `image` +1.85 dB over fast-x2-g, the same frame through yuv420p 3.26 and −1.57 dB. On the tuning clips' first frames (bikes,
    /// carphone, bigbuckbunny, six codings) the luma reading's mean |log size error| is 0.370 against 0.405. End to
    /// end, `--method onsr` on their uncoded (FFV1 4:2:0) frames with fresh kernels (`ONSR_BENCH_KERNEL_SEED=1000`
    /// and `2000`, `ONSR_BENCH_CLIPSET=tuning ONSR_BENCH_VARIANTS=uncoded scripts/bench-codec 12 100`) gains +0.067
    /// dB on average with it (per case 0, +0.08, −0.01, 0, +0.06, +0.27; the rule asked +0.03 and none below −0.1),
    /// and the fixed default's choices do not change; nor do they on the shipped sample bicubic-downscaled or blurred
    /// and stored 4:2:0 (FFV1 or H.264 CRF 16), where ONSR moves by 0 to +0.013 dB. On three real two-scene clips the
    /// scheduler's cut decisions are the same under both readings. Pictures with full chroma (PNG) keep the colour
    /// reading the estimator was chosen with (the luma reading is worse on the training-set crops).
    public static func estimate(frames: [RGBImage], scale: Int, subsampledChroma: Bool = false) -> BlurEstimate? {
        guard let estimator = shipped(scale: scale) else { return nil }
        let read = subsampledChroma ? frames.map(\.lumaInEveryChannel) : frames
        lock.lock()
        defer { lock.unlock() }
        return estimator.estimate(frames: read)
    }

    /// Where a picture's adaptation starts (`pictureStart`).
    public struct Start {
        /// The Gr to adapt.
        public let model: ModelInfo
        /// The reading the adaptation's strategy gets: the estimate, or for the blind half of a mix the estimate
        /// with the call "blurred".
        public let estimate: BlurEstimate?
        /// The Gr whose unadapted output is mixed into the adapted one's, and its share: the bicubic-trained one where
        /// the estimate is unsure whether the picture carries blur (`BlurEstimate.noBlurWeight` strictly between 0 and
        /// 1), the kernel-conditioned one (`conditionedShare`) where it reads a blur.
        public let mix: (model: ModelInfo, weight: Float)?
    }

    /// The start for one picture: as `startingModel`, except that where the estimate's no-blur probability falls in
    /// `BlurEstimate.mixBand` the blind Gr is adapted through the estimated kernel and the bicubic-trained Gr's
    /// output is mixed in by `noBlurWeight`; on a `coded` picture that share never exceeds `codedShareCap`. A picture
    /// read as blurred (below the band), not coded and not past `strongTrace` gets the kernel-conditioned Gr's output
    /// (`fast-xS-cond`, told the estimated kernel) mixed in by `conditionedShare`. Only where the tool picks the model:
    /// a Gr the user named is adapted as the estimate calls it.
    public static func pictureStart(_ model: ModelInfo, chosenByUser: Bool, estimate: BlurEstimate?, coded: Bool = false) -> Start {
        guard !chosenByUser, let estimate, let bicubic = sibling(of: model, "bicubic") else {
            return Start(model: model, estimate: estimate, mix: nil)
        }
        let weight = coded ? min(estimate.noBlurWeight, codedShareCap) : estimate.noBlurWeight
        if weight >= 1 { return Start(model: bicubic, estimate: estimate, mix: nil) }
        // A coded picture's estimate reads the coding as sharpness, so its size says nothing about mild blur.
        let blind = coded ? model : blindStart(model, estimate: estimate)
        if weight <= 0 {
            // The estimator misreads coded pictures (it takes the coding for sharpness), so only clean ones are told it;
            // nor is a blur past fast-xS-cond's training range (where the strong-blur Gr starts).
            let conditioned = coded || estimate.sampledTrace(scale: model.configuration.scale) > strongTrace ? nil : sibling(of: model, "cond")
            return Start(model: blind, estimate: estimate, mix: conditioned.map { ($0, conditionedShare) })
        }
        return Start(model: blind, estimate: estimate.assumingBlur, mix: (bicubic, Float(weight)))
    }

    /// The fixed Gr for one picture where the tool picks it (`image --method pretrained`, `EstimatedStartUpscaler`):
    /// the bicubic-trained Gr where the estimate reads no blur, the default blind one where it reads a blur, and
    /// across `BlurEstimate.mixBand` the blind one with the bicubic-trained one's output mixed in by `noBlurWeight`
    /// (on a `coded` picture never more than `codedShareCap`), the band and the cap as measured on the unadapted
    /// models. The kernel-conditioned Gr is not used: told the estimate alone it loses up to 6 dB where the estimator
    /// reads a soft photo as blurred (on the four training-set crop sets, `onsr-video eval --photos CROPS_i --methods
    /// fast-x2-g fast-x2-bicubic fast-x2-cond fast-x2-strong estimator --condition estimate --self-ensemble kept
    /// --seed N [--degradation D]`, blind and wide seeds 1-3 and 1-2 and bicubic-only, 264 cases: a cloudy sky,
    /// lxqt-cloud, read at total variance 5.9 against 1.9, −6.05 dB), and even a fifth of its output in the mix costs
    /// up to 2.13 dB; this rule gains +0.552 dB over fast-x2-g on average (bicubic-only +3.230, blind +0.013, wide
    /// +0.020), worst case −0.85 (docs/onsr-study.md, "A fixed Gr chosen by the estimate").
    public static func fixedStart(_ model: ModelInfo, estimate: BlurEstimate?, coded: Bool) -> Start {
        guard let estimate, let bicubic = sibling(of: model, "bicubic") else { return Start(model: model, estimate: estimate, mix: nil) }
        let weight = coded ? min(estimate.noBlurWeight, codedShareCap) : estimate.noBlurWeight
        if weight >= 1 { return Start(model: bicubic, estimate: estimate, mix: nil) }
        return Start(model: model, estimate: estimate, mix: weight > 0 ? (bicubic, Float(weight)) : nil)
    }

    /// The kernel-conditioned Gr's share of a blurred picture's output, chosen on the four training-set crop sets
    /// (`scripts/make-train-crops.py CROPS 384 4 i`, all 44 external photos) from one adaptation per crop and kernel,
    /// the outputs kept and mixed afterwards (`onsr-video eval --photos CROPS_i --methods fast-x2-g estimator
    /// onsr:two-phase --condition estimate --self-ensemble kept --checkpoints 0 200 --blends 0.75 --keep-outputs DIR
    /// --seed N`; blind seeds 1-3 on set 0, 1-2 on sets 1-3; 99 cases). Rule fixed before the run: the highest mean,
    /// within 0.005 dB the better worst case. Gain of the `image` default over fast-x2-g: +0.587 at 0.1 (worst −2.52),
    /// +0.583 at 0.2 (−2.77), +0.582 with no mix (−2.30, 0.005 below), +0.570 at 0.3 (−3.24), +0.519 at 0.5. Set 0
    /// alone, where 0.3 was first chosen, favours more (+0.734 at 0.3 against +0.674 with none); the other three less,
    /// because the estimator reads soft photos (a cloudy sky, out-of-focus flowers) as blurred, and the conditioned Gr
    /// told that sharpens them. Past `strongTrace` (the model was trained on eigenvalues up to 5, the strong-blur Gr
    /// starts there) the mix is left out: on set 0 it lost there (−0.14 dB on average over 11 cases;
    /// docs/onsr-study.md, "A kernel-conditioned Gr", "The conditioned share on four crop sets").
    public static let conditionedShare: Float = 0.1

    /// The condition a kernel-conditioned Gr is told for `estimate`: the code of its kernel as sampled
    /// (`KernelCode.condition`), what `train --condition-noise` taught it.
    public static func condition(_ estimate: BlurEstimate, scale: Int) -> [Float] {
        KernelCode.condition(estimate.sampledCovariance(scale: scale))
    }

    /// Sets a kernel-conditioned `network`'s condition from the blur estimator's reading of `image` where it has none
    /// yet (blind networks are left alone); `estimate` where the caller has read it already.
    public static func tellBlur(to network: RRDBNet, image: RGBImage, estimate: BlurEstimate? = nil) throws {
        guard network.configuration.conditions > 0, network.condition == nil else { return }
        guard let reading = estimate ?? BlurEstimation.estimate(frames: [image], scale: network.scale) else {
            throw JobError(.usage, "a kernel-conditioned model needs the blur estimator's reading, and there is none for x\(network.scale) "
                           + "pictures of \(image.width)x\(image.height)")
        }
        network.condition = condition(reading, scale: network.scale)
    }

    /// The blind Gr for a blurred input: the one trained on mild blur (`fast-xS-mild`) where the estimated blur's
    /// total variance is below `mildTrace`, the one trained on strong blur (`fast-xS-strong`) where it is above
    /// `strongTrace`, the one trained on middling blur (`fast-xS-mid`) in between where the kernel is no thinner
    /// across its direction than that model's range (`midMinorVariance`), each where it is shipped; the default
    /// blind one otherwise.
    static func blindStart(_ model: ModelInfo, estimate: BlurEstimate) -> ModelInfo {
        let sampled = estimate.sampledCovariance(scale: model.configuration.scale)
        let size = sampled.yy + sampled.xx
        let variant = size < mildTrace ? "mild" : size > strongTrace ? "strong"
            : KernelComparison.minorEigenvalue(sampled) >= midMinorVariance ? "mid" : nil
        return variant.flatMap { sibling(of: model, $0) } ?? model
    }

    /// The shipped `fast-xS-VARIANT` beside `model` where `model` is the scale's default blind Gr (the one the tool
    /// picked, which the estimate may swap); nil otherwise or where that variant is not shipped.
    private static func sibling(of model: ModelInfo, _ variant: String) -> ModelInfo? {
        let scale = model.configuration.scale
        guard model.name == ModelStore.defaultName(scale: scale) else { return nil }
        return ModelStore.shipped().first { $0.name == "fast-x\(scale)-\(variant)" }
    }

    /// Estimated total variance (HR pixels², `BlurEstimate.sampledTrace`) below which a blurred picture starts from the mild-blur
    /// Gr. On the training-set crops (97 crop-kernel pairs, unadapted, `onsr-video eval --photos CROPS --methods
    /// fast-x2-g fast-x2-mild estimator`) the 6 pairs below 3.5 gain +6.76 dB in all, worst −0.07; 4.0 gains +6.87
    /// with a worst pair of −0.18, 4.5 puts one 1.75 dB below (fast-x2-mild.md).
    public static let mildTrace = 3.5

    /// Estimated total variance (HR pixels², `BlurEstimate.sampledTrace`) above which a blurred picture starts from the
    /// strong-blur Gr. On the training-set crops (130 pairs, blind and wide kernels) all 30 pairs above 9 gain
    /// (+52.4 dB in all, worst +0.31); 7 or 8 gain as much in all but lose up to 3.2 dB on single pairs whose size
    /// the estimator overreads (fast-x2-strong.md).
    public static let strongTrace = 9.0

    /// Smallest estimated minor eigenvalue (HR pixels², `BlurEstimate.sampledMinorVariance`) at which a picture
    /// between `mildTrace` and `strongTrace` starts from the middling-blur Gr, trained on eigenvalues 1-4.5. On the
    /// training-set crops (unadapted, `onsr-video eval --photos CROPS --methods fast-x2-g fast-x2-mid estimator`,
    /// blind seeds 1-6 and wide 1-3) the 77 pairs in that band gain +17.9 dB in all but one thin kernel (minor
    /// eigenvalue 0.26, read 0.93) loses 2.24; at 1.0, the model's own lower bound, 73 pairs gain +20.4, worst
    /// −0.76 (fast-x2-mid.md).
    public static let midMinorVariance = 1.0

    /// The largest share of the bicubic-trained Gr in a coded picture's output: on a JPEG the estimator reads the
    /// coding's blocks as sharpness, so a probability near 1 does not mean "no blur". On the training-set crops
    /// blurred with 3 seeded kernels or only bicubic-downscaled and stored as JPEG at qscale 3 (44 cases, the
    /// unadapted models mixed in quarters; `python3 scripts/study-jpeg-stills.py --mixes CROPS 3`), blurred crops read
    /// at 0.89-0.98 lose up to 3.92 dB from the bicubic-trained Gr; capping the share at 0.75 gains +0.395 dB over
    /// fast-x2-g on average against +0.373 for the hard call and +0.310 for the band alone (worst blurred crop −2.83
    /// against −3.92), 0.5 gives up more on the bicubic-only crops (+0.348).
    public static let codedShareCap = 0.75

    /// The Gr to start from where one model serves a whole video (`StartingModel`): the bicubic-trained model of
    /// the scale (`fast-xS-bicubic`) where the estimate says the input carries no blur beyond bicubic downscaling
    /// and `model` is the default blind one the user did not ask for by name; `model` otherwise. A blind model on
    /// unblurred input sharpens what is already sharp (about 0.6 dB below bicubic interpolation on the held-out photos; docs/onsr-study.md).
    public static func startingModel(_ model: ModelInfo, chosenByUser: Bool, estimate: BlurEstimate?) -> ModelInfo {
        guard !chosenByUser, let estimate, estimate.isNoBlur, let bicubic = sibling(of: model, "bicubic") else { return model }
        return bicubic
    }
}
