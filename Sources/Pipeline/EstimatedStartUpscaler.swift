import Decode
import Engine
import ONSR

/// `image --method pretrained` where the tool picks the model: the blur estimator reads the picture once and picks
/// the fixed Gr as `BlurEstimation.fixedStart` does (the bicubic-trained one for a picture with no blur beyond
/// downscaling, the blind one otherwise, both mixed where the reading is unsure), so that an only-downscaled picture
/// is not sharpened twice. Each Gr's output is averaged over all eight symmetries where `selfEnsembles` is set.
public final class EstimatedStartUpscaler: FrameUpscaler {
    /// The Gr the tool would use without a reading (the scale's default blind one).
    public let model: ModelInfo
    public let precision: ElementType
    public var scale: Int { model.configuration.scale }
    /// The chosen upscaler's name (the model, the symmetries, a mix's partner and weight) once a picture has been upscaled.
    public var name: String { chosen?.name ?? "pretrained:\(model.name)" }
    /// Whether each Gr's output is averaged over the symmetries an unadapted Gr keeps (`SelfEnsemble.kept`).
    public var selfEnsembles = false
    /// Set where the picture was stored with lossy coding (JPEG): the estimator reads coding as sharpness, so the
    /// bicubic-trained Gr's share is capped (`BlurEstimation.codedShareCap`).
    public var inputIsCoded = false
    /// The blur estimator's reading the choice follows; read from the first picture where not set beforehand.
    public var estimate: BlurEstimate?
    /// The choice, once a picture has been upscaled.
    public private(set) var start: BlurEstimation.Start?
    private var chosen: FrameUpscaler?

    /// `precision`: the element type of the activations (`Precision.resolved`).
    public init(model: ModelInfo, precision: ElementType = .fp32) {
        self.model = model
        self.precision = precision
    }

    /// Reads the first picture's blur and keeps the choice for the pictures after (one reading per run, as a
    /// video's starting model).
    public func upscale(_ image: RGBImage) throws -> RGBImage {
        if chosen == nil {
            if estimate == nil { estimate = BlurEstimation.estimate(frames: [image], scale: scale) }
            let start = BlurEstimation.fixedStart(model, estimate: estimate, coded: inputIsCoded)
            let main = try fixed(start.model)
            chosen = try start.mix.map { MixedUpscaler(primary: main, secondary: try fixed($0.model), weight: $0.weight) } ?? main
            self.start = start
        }
        return try chosen!.upscale(image)
    }

    /// The symmetries each output was averaged over, once a picture has been upscaled (nil without `selfEnsembles`).
    public var selfEnsemble: SelfEnsemble? { selfEnsembles && start != nil ? SelfEnsemble.kept(adaptedWith: nil) : nil }

    private func fixed(_ model: ModelInfo) throws -> FrameUpscaler {
        let upscaler = try PretrainedUpscaler(model: model, precision: precision)
        return selfEnsembles ? SelfEnsembleUpscaler.unadapted(upscaler) : upscaler
    }
}
