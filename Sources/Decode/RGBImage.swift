/// A picture in the engine's format: planar RGB, Float32, nominally in [0, 1].
///
/// Layout: channel-major (all R, then all G, then all B), each plane row-major from the top row,
/// no padding, so `pixels[(c * height + y) * width + x]`. This is one NCHW tensor with N = 1.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    /// A black image.
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "image size must be positive, got \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = [Float](repeating: 0, count: 3 * width * height)
    }

    /// An image whose samples `fill` must write completely (no zero-filling first).
    public init(width: Int, height: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(width > 0 && height > 0, "image size must be positive, got \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = try [Float](unsafeUninitializedCapacity: 3 * width * height) { buffer, count in
            try fill(buffer)
            count = 3 * width * height
        }
    }

    /// Wraps existing planar samples; `pixels.count` must be 3 * width * height.
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == 3 * width * height, "expected \(3 * width * height) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Samples in one plane.
    public var planeSize: Int { width * height }

    /// One sample.
    public subscript(channel: Int, y: Int, x: Int) -> Float {
        get { pixels[(channel * height + y) * width + x] }
        set { pixels[(channel * height + y) * width + x] = newValue }
    }

    /// BT.601 luma (0.299 R + 0.587 G + 0.114 B), one plane, unclamped.
    public var luma: [Float] {
        let n = planeSize
        return pixels.withUnsafeBufferPointer { p in (0..<n).map { 0.299 * p[$0] + 0.587 * p[n + $0] + 0.114 * p[2 * n + $0] } }
    }

    /// The picture's luma (`luma`) in all three channels: what a reading of its sharpness should see where the
    /// chroma was stored at a lower resolution than the luma.
    public var lumaInEveryChannel: RGBImage {
        let plane = luma
        return RGBImage(width: width, height: height, pixels: plane + plane + plane)
    }

    /// One value per pixel for a grey picture: the channels' value where they agree (exactly, with no
    /// rounding of the luma sum), else the BT.601 luma.
    public var grey: [Float] {
        let n = planeSize
        var values = luma
        pixels.withUnsafeBufferPointer { p in
            for i in 0..<n where p[i] == p[n + i] && p[i] == p[2 * n + i] { values[i] = p[i] }
        }
        return values
    }

    /// Mean of each channel, for quick checks.
    public var channelMeans: [Float] {
        (0..<3).map { c in
            let plane = pixels[(c * planeSize)..<((c + 1) * planeSize)]
            return Float(plane.reduce(0.0) { $0 + Double($1) } / Double(planeSize))
        }
    }
}

extension RGBImage {
    /// The `height` x `width` rectangle at (top, left), planar.
    public func crop(top: Int, left: Int, height: Int, width: Int) -> [Float] {
        precondition(top >= 0 && left >= 0 && top + height <= self.height && left + width <= self.width, "crop outside the image")
        var out = [Float](repeating: 0, count: 3 * height * width)
        pixels.withUnsafeBufferPointer { source in
            for c in 0..<3 {
                for y in 0..<height {
                    let from = (c * self.height + top + y) * self.width + left
                    for x in 0..<width { out[(c * height + y) * width + x] = source[from + x] }
                }
            }
        }
        return out
    }
}
