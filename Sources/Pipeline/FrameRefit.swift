import Decode

/// Brings a decoded frame whose size differs from the stream's into the stream's size before it is upscaled: the
/// encoder, the scheduler and the models were set up for one size, and a stream may change it midway (MPEG-TS
/// recordings across an advertisement break, HLS captures that switch renditions, files joined with `-c copy`).
///
/// The picture keeps its shape: it is resampled (`FrameResize`: Lanczos-3, antialiased when shrinking) to the largest
/// size that fits with the same display aspect ratio (each side's pixel shape counted) and centred on black. FFmpeg's
/// own `ffmpeg -i in.ts out.mp4` stretches such frames to the first size instead, which turns a 4:3 picture into a 16:9
/// one.
///
/// Layout: planar RGB in [0, 1], as `RGBImage`.
public struct FrameRefit {
    /// The stream's frame size and pixel shape (width / height; 1 where the stream states none).
    public let width: Int, height: Int
    public let pixelAspect: Double
    private var placements: [Key: Placement] = [:]

    private struct Key: Hashable {
        let width: Int, height: Int, pixelAspect: Double
    }

    private struct Placement {
        /// Lanczos-3 to the fitted size, overshoot clipped (nil where the frame already has it, in another pixel shape).
        let resize: FrameResize?
        let width: Int, height: Int, x: Int, y: Int
    }

    public init(width: Int, height: Int, sampleAspectRatio: Rational) {
        self.width = width
        self.height = height
        pixelAspect = sampleAspectRatio.isValid ? sampleAspectRatio.doubleValue : 1
    }

    /// The size a `sourceWidth` x `sourceHeight` picture of pixel shape `sourceAspect` takes inside the stream's
    /// size: its display aspect ratio kept, as large as fits, at least one pixel each way.
    public func fittedSize(sourceWidth: Int, sourceHeight: Int, sourceAspect: Double) -> (width: Int, height: Int) {
        let sourceDisplay = Double(sourceWidth) * sourceAspect / Double(sourceHeight)
        let targetDisplay = Double(width) * pixelAspect / Double(height)
        // Clamped before it becomes an integer: a damaged frame's pixel shape can make the quotient enormous.
        func side(_ value: Double, _ limit: Int) -> Int { Int(min(Double(limit), max(1, value.isNaN ? 1 : value)).rounded()) }
        if sourceDisplay >= targetDisplay {
            return (width, side(Double(width) * pixelAspect / sourceDisplay, height))
        }
        return (side(Double(height) * sourceDisplay / pixelAspect, width), height)
    }

    /// `image` (of pixel shape `sampleAspectRatio`, or the stream's where the frame states none) in the stream's size.
    public mutating func callAsFunction(_ image: RGBImage, sampleAspectRatio: Rational) -> RGBImage {
        let aspect = sampleAspectRatio.isValid ? sampleAspectRatio.doubleValue : pixelAspect
        let key = Key(width: image.width, height: image.height, pixelAspect: aspect)
        let placement = placements[key] ?? {
            let size = fittedSize(sourceWidth: image.width, sourceHeight: image.height, sourceAspect: aspect)
            let made = Placement(resize: FrameResize(from: image.width, image.height, to: size),
                                 width: size.width, height: size.height, x: (width - size.width) / 2, y: (height - size.height) / 2)
            placements[key] = made
            return made
        }()
        let fitted = (placement.resize.map { $0(image) } ?? image).pixels
        var result = RGBImage(width: width, height: height)
        let (plane, fittedPlane) = (width * height, placement.width * placement.height)
        result.pixels.withUnsafeMutableBufferPointer { out in
            fitted.withUnsafeBufferPointer { rows in
                for channel in 0..<3 {
                    for row in 0..<placement.height {
                        let source = channel * fittedPlane + row * placement.width
                        let target = channel * plane + (row + placement.y) * width + placement.x
                        _ = UnsafeMutableBufferPointer(rebasing: out[target..<target + placement.width])
                            .update(fromContentsOf: rows[source..<source + placement.width])
                    }
                }
            }
        }
        return result
    }
}
