import Decode
import ONSR
import Engine

/// Turns one low-resolution frame into one high-resolution frame. Called from one thread at a time.
public protocol FrameUpscaler: AnyObject {
    /// The integer magnification.
    var scale: Int { get }
    /// A short name for reports.
    var name: String { get }
    /// Upscales `image` by `scale` in both directions.
    func upscale(_ image: RGBImage) throws -> RGBImage
}

/// The methods onsr-video offers.
public enum UpscaleMethod: String, CaseIterable, Sendable, Codable {
    /// MATLAB-style bicubic interpolation (a = -0.5), the usual SR baseline.
    case bicubic
    /// Lanczos-3 interpolation.
    case lanczos
    /// A pretrained Gr with fixed weights (`--model`, default the fast -G model for the scale).
    case pretrained
    /// Online SR: the pretrained Gr adapted to the input with a learned degradation (Algorithm 1).
    case onsr

    /// Makes the upscaler for this method; `model` names a shipped model or a file (learned methods only),
    /// `external` the HR photo folder and `adaptation` the adaptation settings (ONSR only); learned methods
    /// upscale in `precision`.
    public func makeUpscaler(scale: Int, model: String? = nil, external: String? = nil, adaptation: AdaptationOptions = .init(),
                             precision: ElementType = .fp32,
                             progress: @escaping (AdaptationStep) -> Void = { _ in }) throws -> FrameUpscaler {
        switch self {
        case .bicubic: return InterpolationUpscaler(kernel: .bicubic, scale: scale, name: rawValue)
        case .lanczos: return InterpolationUpscaler(kernel: .lanczos3, scale: scale, name: rawValue)
        case .pretrained: return try PretrainedUpscaler(model: ModelStore.resolve(model, scale: scale), precision: precision)
        case .onsr:
            let resolved = try ModelStore.resolve(model, scale: scale)
            try ModelStore.requireOneFrame(resolved, for: "ONSR, which adapts a one-frame Gr")
            return OnsrUpscaler(model: resolved, external: try DataLocation.externalPhotos(external),
                                options: adaptation, modelChosenByUser: model != nil, precision: precision, progress: progress)
        }
    }
}

/// Fixed-kernel interpolation in the engine's planar float RGB.
public final class InterpolationUpscaler: FrameUpscaler {
    public let scale: Int
    public let name: String
    let kernel: ResampleKernel
    private var resampler: Resampler?

    public init(kernel: ResampleKernel, scale: Int, name: String) {
        precondition(scale >= 1, "scale must be at least 1")
        self.kernel = kernel
        self.scale = scale
        self.name = name
    }

    public func upscale(_ image: RGBImage) throws -> RGBImage {
        let (outW, outH) = (image.width * scale, image.height * scale)
        if resampler?.horizontal.inputSize != image.width || resampler?.vertical.inputSize != image.height {
            resampler = Resampler(inputWidth: image.width, inputHeight: image.height, outputWidth: outW, outputHeight: outH, kernel: kernel)
        }
        return RGBImage(width: outW, height: outH, pixels: resampler!.apply(image.pixels, channels: 3))
    }
}
