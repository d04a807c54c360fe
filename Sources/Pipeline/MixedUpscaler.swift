import Decode

/// Two upscalers' outputs mixed pixel by pixel: (1 − weight) · primary + weight · secondary.
///
/// Where the blur estimator cannot tell whether a picture carries blur beyond downscaling (its no-blur
/// probability near the threshold), neither starting Gr is safe: the blind one sharpens what is already sharp,
/// the bicubic-trained one leaves real blur in place. The mean squared error of a mix is at most the mix of
/// the two errors, so a mix weighted by the estimate's confidence bounds the loss of a wrong call
/// (`BlurEstimate.noBlurWeight`).
public final class MixedUpscaler: FrameUpscaler {
    public let primary: FrameUpscaler
    public let secondary: FrameUpscaler
    /// Share of `secondary`'s output, in [0, 1].
    public let weight: Float
    public var scale: Int { primary.scale }
    public var name: String { "\(primary.name)+\(secondary.name)@\(weight)" }

    public init(primary: FrameUpscaler, secondary: FrameUpscaler, weight: Float) {
        precondition(primary.scale == secondary.scale, "mixed upscalers must share the scale")
        precondition((0...1).contains(weight), "mix weight must lie in [0, 1], got \(weight)")
        self.primary = primary
        self.secondary = secondary
        self.weight = weight
    }

    public func upscale(_ image: RGBImage) throws -> RGBImage {
        MixedUpscaler.mix(try primary.upscale(image), try secondary.upscale(image), weight: weight)
    }

    /// (1 − weight) · first + weight · second, pixel by pixel; for callers that hold the two outputs already.
    public static func mix(_ first: RGBImage, _ second: RGBImage, weight: Float) -> RGBImage {
        precondition(first.width == second.width && first.height == second.height, "mixed upscalers disagree on the output size")
        var mixed = first
        mixed.pixels.withUnsafeMutableBufferPointer { a in
            second.pixels.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += weight * (b[i] - a[i]) }
            }
        }
        return mixed
    }
}
