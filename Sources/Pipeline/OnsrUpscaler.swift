import Decode
import Engine
import Foundation
import ONSR

/// ONSR as an upscaling method: adapts a fresh copy of the pretrained Gr to the first frame it is given,
/// then upscales every frame with the adapted Gr. (Per-scene adaptation and warm starts for video are the
/// scheduler's job; this is the "adapt once" policy.)
public final class OnsrUpscaler: FrameUpscaler {
    public let model: ModelInfo
    public let options: AdaptationOptions
    public let strategy: AdaptationStrategy
    public var scale: Int { model.configuration.scale }
    /// `onsr:STRATEGY:START`, plus `+MODEL@SHARE` where another Gr's output was mixed in.
    public var name: String {
        "onsr:\(strategy.name):\(startedFrom?.name ?? model.name)" + (mixedWith.map { "+\($0.model.name)@" + String(format: "%.2f", $0.weight) } ?? "")
    }
    /// False where the caller chose `model` for the user (no `--model`): then the blur estimate may pick the
    /// starting Gr, or mix another's output in (`BlurEstimation.pictureStart`).
    public let modelChosenByUser: Bool
    /// The Gr the adaptation started from, once it has run (the estimate may have chosen another than `model`).
    public private(set) var startedFrom: ModelInfo?
    /// The bicubic-trained Gr mixed into the output and its share, where the estimate was unsure of the blur
    /// (`BlurEstimation.pictureStart`).
    public private(set) var mixedWith: (model: ModelInfo, weight: Float)?
    private let external: PhotoSet
    private let progress: (AdaptationStep) -> Void
    private var adapted: FrameUpscaler?
    /// The adaptation history of the last adaptation.
    public private(set) var history: [AdaptationStep] = []
    /// Set where the picture was stored with lossy coding (JPEG): Gr is then fine-tuned through the spectral
    /// kernel shape, as coded video is (`SceneScheduler.makeAdapter`), and the estimate only picks the starting Gr.
    /// The estimator reads the coding's blocks and ringing as detail: on JPEG stills the learned shape put the
    /// `image` default below the unadapted model (docs/onsr-study.md, "JPEG stills"). A known `compression` makes
    /// it true whatever was set.
    public var inputIsCoded: Bool {
        get { storedLossy || compression != nil }
        set { storedLossy = newValue }
    }
    private var storedLossy = false
    /// The picture's compression, where it can be reproduced (JPEG): the external branch then compresses its LR
    /// patches so, L_EB = |x_e − Gr(C(D(x_e) + n))|, and Gr learns to undo this picture's coding instead of
    /// sharpening it.
    public var compression: CompressionProfile?

    /// Takes both facts from the picture at `path`: lossy storage (`DecodedImage.isLossyCoded`) and, for a JPEG, the
    /// compression its quantisation table gives (`CompressionEstimate.profile(picture:path:)`).
    public func describeInput(_ picture: DecodedImage, path: String) {
        inputIsCoded = picture.isLossyCoded
        compression = CompressionEstimate.profile(picture: picture, path: path)
    }

    /// The kernel shape Gr was fine-tuned through, once a two-phase adaptation has run (nil for other strategies).
    public private(set) var kernelShape: KernelShape?
    /// The blur estimator's reading of the picture, once a two-phase adaptation with the learned shape has run.
    public private(set) var blurEstimate: BlurEstimate?
    /// The blend of the adapted Gr towards its start, once an adaptation has run (`OnlineAdapter.blend`).
    public private(set) var blend: Float?

    /// The element type the adapted model upscales in (adaptation itself is fp32).
    public let precision: ElementType
    /// Whether each Gr's output is averaged over the symmetries its task keeps (`SelfEnsemble.kept`): the adapted
    /// Gr's over the half turn (all eight where it was fine-tuned through no blur), a mixed-in unadapted Gr's over
    /// all eight. Costs two to eight inferences per frame, so pictures take it and video does not.
    public var selfEnsembles = false
    /// The symmetries the adapted Gr's output was averaged over, once it has run.
    public private(set) var selfEnsemble: SelfEnsemble?

    public init(model: ModelInfo, external: PhotoSet, options: AdaptationOptions, strategy: AdaptationStrategy = TwoPhase(),
                modelChosenByUser: Bool = true, precision: ElementType = .fp32, progress: @escaping (AdaptationStep) -> Void = { _ in }) {
        self.model = model
        self.modelChosenByUser = modelChosenByUser
        self.strategy = strategy
        self.precision = precision
        self.external = external
        self.options = options
        self.progress = progress
    }

    public func upscale(_ image: RGBImage) throws -> RGBImage {
        if adapted == nil {
            var (strategy, model) = (self.strategy, self.model)
            // Two-phase with the learned shape reads the blur first: it starts Gd, shapes Gr's kernel and may
            // choose the starting Gr (a caller that made its own estimate passes it in the strategy).
            if var twoPhase = strategy as? TwoPhase, twoPhase.kernelShape == .learned {
                if twoPhase.estimate == nil { twoPhase.estimate = BlurEstimation.estimate(frames: [image], scale: scale) }
                blurEstimate = twoPhase.estimate
                let start = BlurEstimation.pictureStart(model, chosenByUser: modelChosenByUser, estimate: twoPhase.estimate, coded: inputIsCoded)
                (model, twoPhase.estimate, mixedWith) = (start.model, start.estimate, start.mix)
                if inputIsCoded { (twoPhase.kernelShape, twoPhase.estimate) = (.spectral, nil) }
                strategy = twoPhase
            }
            startedFrom = model
            kernelShape = (strategy as? TwoPhase)?.kernelShape
            let upscaler = try PretrainedUpscaler(model: model, precision: precision)
            let gr = upscaler.network
            try BlurEstimation.tellBlur(to: gr, image: image, estimate: blurEstimate)
            if options.steps > 0 {
                try AdaptationInputCheck.frame(image, options: options)
                try AdaptationInputCheck.external(external, options: options, scale: scale)
                gr.setTrainable(true)
                let adapter = OnlineAdapter(gr: gr, external: external.images, options: options, strategy: strategy)
                adapter.compression = try compression.map { try CompressionEstimate.compressor($0, seed: options.seed) }
                history = adapter.adapt(frames: [image], progress: progress)
                blend = adapter.blend
                gr.setTrainable(false)
            }
            let kept = SelfEnsemble.kept(adaptedWith: options.steps > 0 ? strategy : nil)
            let ensemble = selfEnsembles ? kept : .single
            selfEnsemble = ensemble
            let main = SelfEnsembleUpscaler(upscaler, ensemble: ensemble)
            adapted = try mixedWith.map { mix in
                let secondary = try PretrainedUpscaler(model: mix.model, precision: precision)
                try BlurEstimation.tellBlur(to: secondary.network, image: image, estimate: blurEstimate)
                let kept = secondary.network.configuration.conditions > 0 ? SelfEnsemble.conditionedInMix : SelfEnsemble.kept(adaptedWith: nil)
                return MixedUpscaler(primary: main, secondary: SelfEnsembleUpscaler(secondary, ensemble: selfEnsembles ? kept : .single),
                                     weight: mix.weight)
            } ?? main
        }
        return try adapted!.upscale(image)
    }
}
