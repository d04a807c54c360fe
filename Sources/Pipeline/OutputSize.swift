import Decode
import Engine
import Foundation

/// The output picture size asked for (`--width`, `--height`), met by resampling the upscaled frames with Lanczos-3
/// (antialiased where it shrinks): a 1280x720 input asked for 1920x1080 is upscaled x2 to 2560x1440, then brought
/// down to 1920x1080, as upscalers with a target resolution do. Without either, frames keep the model's size.
public struct OutputSize: Codable, Equatable, Sendable {
    public var width: Int?
    public var height: Int?

    public init(width: Int? = nil, height: Int? = nil) {
        precondition((width ?? 1) > 0 && (height ?? 1) > 0, "an output size is positive")
        self.width = width
        self.height = height
    }

    /// True when no size was asked for.
    public var isNative: Bool { width == nil && height == nil }

    /// The size for frames upscaled to `scaledWidth` x `scaledHeight`: as asked where both sides are given; where one
    /// is, the other keeps the picture's shape, rounded to an even number (4:2:0 video needs even sides).
    public func resolved(scaledWidth: Int, scaledHeight: Int) -> (width: Int, height: Int) {
        func even(_ value: Double) -> Int { max(2, 2 * Int((value / 2).rounded())) }
        switch (width, height) {
        case let (w?, h?): return (w, h)
        case let (w?, nil): return (w, even(Double(scaledHeight) * Double(w) / Double(scaledWidth)))
        case let (nil, h?): return (even(Double(scaledWidth) * Double(h) / Double(scaledHeight)), h)
        case (nil, nil): return (scaledWidth, scaledHeight)
        }
    }
}

/// Brings upscaled frames to the output size (`OutputSize`); built once per job, for one input size.
struct FrameResize {
    let width: Int, height: Int
    private let resampler: Resampler

    /// nil when the frames already have the size.
    init?(from scaledWidth: Int, _ scaledHeight: Int, to size: (width: Int, height: Int)) {
        guard (scaledWidth, scaledHeight) != size else { return nil }
        width = size.width
        height = size.height
        resampler = Resampler(inputWidth: scaledWidth, inputHeight: scaledHeight, outputWidth: size.width, outputHeight: size.height,
                              kernel: .lanczos3)
    }

    /// `image` at the output size; Lanczos' overshoot is clipped to the picture's range.
    func callAsFunction(_ image: RGBImage) -> RGBImage {
        var pixels = resampler.apply(image.pixels, channels: 3)
        for i in pixels.indices { pixels[i] = min(max(pixels[i], 0), 1) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
