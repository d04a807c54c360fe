import Decode
import Engine

/// The compression an input carries, to be reproduced on training patches: the codec, its quantiser, the chroma
/// subsampling and the noise under it. The degradation model is then y = C(((k ⊗ x)↓s) + n).
public struct CompressionProfile: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Codecs reproduced in-process with libavcodec.
    public enum Codec: String, Codable, Sendable, CaseIterable {
        /// H.264 (libx264 at a constant QP, or at a CRF: `rateFactor`).
        case h264
        /// MPEG-2 video at a constant quantiser scale.
        case mpeg2
        /// MPEG-4 part 2 at a constant quantiser scale.
        case mpeg4
        /// JPEG (FFmpeg's mjpeg encoder at a constant quantiser scale, intra only): stills and Motion JPEG.
        case jpeg

        /// The input codec (FFmpeg's name) this one stands for, nil when none is reproduced.
        public init?(ffmpegName: String) {
            switch ffmpegName {
            case "h264": self = .h264
            case "mpeg2video", "mpeg1video": self = .mpeg2
            case "mpeg4", "h263", "msmpeg4v3": self = .mpeg4
            case "mjpeg": self = .jpeg
            default: return nil
            }
        }

        var encoderName: String {
            switch self {
            case .h264: return "libx264"
            case .mpeg2: return "mpeg2video"
            case .mpeg4: return "mpeg4"
            case .jpeg: return "mjpeg"
            }
        }
    }

    public var codec: Codec
    /// H.264 QP (0-51) or MPEG / JPEG qscale (1-31, `-qscale:v` units), as `QuantiserReading` and
    /// `JPEGQuantiser` report them.
    public var quantiser: Double
    /// Chroma subsampled 2x2 (4:2:0), or kept whole (4:4:4).
    public var chromaSubsampled = true
    /// Standard deviation of the noise under the compression, in 8-bit code values (0 for none).
    public var noiseSigma = 0.0
    /// Share of the input's frames coded with prediction from another frame (P and B); patches are coded as a
    /// predicted frame with that probability, else as an intra frame.
    public var predictedShare = 0.0
    /// H.264 only: `quantiser` is a constant rate factor, so x264's rate control and adaptive quantisation set each
    /// block's QP (flat blocks finer, textured ones coarser, as CRF-coded web video has it) instead of one QP for
    /// every block. nil or false: constant QP, what a reading of the input's mean QP reproduces.
    public var rateFactor: Bool?

    public init(codec: Codec, quantiser: Double, chromaSubsampled: Bool = true, noiseSigma: Double = 0, predictedShare: Double = 0) {
        self.codec = codec
        self.quantiser = quantiser
        self.chromaSubsampled = chromaSubsampled
        self.noiseSigma = noiseSigma
        self.predictedShare = predictedShare
    }

    public var description: String {
        let q = codec == .h264 ? String(format: rateFactor == true ? "crf %.1f" : "qp %.1f", quantiser) : String(format: "qscale %.1f", quantiser)
        return "\(codec.rawValue) \(q), \(chromaSubsampled ? "4:2:0" : "4:4:4"), noise σ \(String(format: "%.1f", noiseSigma))"
            + String(format: ", %.0f%% predicted", predictedShare * 100)
    }
}

/// Applies a `CompressionProfile` to a batch of LR patches: noise, then an encode and decode round trip through
/// the codec at the profile's quantiser. The patches are tiled into one picture (at a random offset against the
/// codec's 16-pixel block grid, the border filled by repeating the edge) because codecs work on whole pictures;
/// a predicted frame is coded against the same picture shifted by a few pixels, as motion would leave it.
/// Deterministic for a given seed (one encoder thread).
/// Layout: N x 3 x H x W in and out, RGB in [0, 1].
public final class PatchCompressor {
    public let profile: CompressionProfile
    private var rng: SeededRandom

    public init(profile: CompressionProfile, seed: UInt64) {
        self.profile = profile
        rng = SeededRandom(seed: seed)
    }

    /// The batch with noise added and compressed.
    public func callAsFunction(_ patches: Tensor) throws -> Tensor { try sequence([patches])[0] }

    /// Consecutive frames' batches (patch i of each frame is one place seen over time), each with noise of its own,
    /// tiled at the same offset and coded as one group in order: the first intra (or predicted, with the
    /// profile's share, from a shifted copy coded before it), the rest predicted from the frames before them.
    public func sequence(_ frames: [Tensor]) throws -> [Tensor] {
        precondition(!frames.isEmpty && frames.allSatisfy { $0.shape == frames[0].shape }, "frames must be batches of one shape")
        let (n, c, h, w) = frames[0].nchw
        precondition(c == 3, "patches must be RGB, got \(c) channels")
        let columns = Int(Double(n).squareRoot().rounded(.up)), rows = (n + columns - 1) / columns
        let offsetX = rng.index(16), offsetY = rng.index(16)
        let width = (columns * w + offsetX + 15) / 16 * 16, height = (rows * h + offsetY + 15) / 16 * 16
        let sigma = Float(profile.noiseSigma / 255)
        var pictures: [RGBImage] = []
        for frame in frames {
            let source = frame.values
            // Picture pixel -> (patch, y, x) of the mosaic, clamped at the mosaic's edges.
            func mosaic(_ px: Int, _ py: Int, _ channel: Int) -> Float {
                let mx = min(max(px - offsetX, 0), columns * w - 1), my = min(max(py - offsetY, 0), rows * h - 1)
                let patch = min((my / h) * columns + mx / w, n - 1)
                return source[((patch * 3 + channel) * h + my % h) * w + mx % w]
            }
            var picture = RGBImage(width: width, height: height)
            for channel in 0..<3 {
                for y in 0..<height {
                    for x in 0..<width { picture[channel, y, x] = mosaic(x, y, channel) }
                }
            }
            if sigma > 0 {
                for i in picture.pixels.indices { picture.pixels[i] = min(max(picture.pixels[i] + sigma * rng.normal(), 0), 1) }
            }
            pictures.append(picture)
        }
        var coded = pictures
        if rng.uniform() < Float(profile.predictedShare) {
            coded.insert(shifted(pictures[0], dx: rng.index(9) - 4, dy: rng.index(9) - 4), at: 0)
        }
        return try roundTrip(coded).suffix(frames.count).map { decoded in
            let result = Tensor(shape: [n, 3, h, w])
            for patch in 0..<n {
                let top = offsetY + (patch / columns) * h, left = offsetX + (patch % columns) * w
                for channel in 0..<3 {
                    for y in 0..<h {
                        for x in 0..<w { result.data[((patch * 3 + channel) * h + y) * w + x] = decoded[channel, top + y, left + x] }
                    }
                }
            }
            return result
        }
    }

    private func shifted(_ image: RGBImage, dx: Int, dy: Int) -> RGBImage {
        var out = image
        for channel in 0..<3 {
            for y in 0..<image.height {
                for x in 0..<image.width {
                    out[channel, y, x] = image[channel, min(max(y + dy, 0), image.height - 1), min(max(x + dx, 0), image.width - 1)]
                }
            }
        }
        return out
    }

    /// Encodes the pictures as one group (the first intra, the rest predicted) and decodes them back.
    private func roundTrip(_ pictures: [RGBImage]) throws -> [RGBImage] {
        var settings = EncoderSettings()
        settings.codec = profile.codec.encoderName
        settings.threads = 1
        // JPEG is full range (JFIF); the others are coded in video range.
        let fullRange = profile.codec == .jpeg
        let lambda = Int((min(max(profile.quantiser, 1), 31) * 118).rounded())  // FF_QP2LAMBDA
        let constantQscale = [("flags", "+qscale"), ("global_quality", String(lambda)), ("bf", "0")]
        switch profile.codec {
        case .h264:
            settings.pixelFormat = profile.chromaSubsampled ? "yuv420p" : "yuv444p"
            let quantiser = String(min(max(Int(profile.quantiser.rounded()), 0), 51))
            if profile.rateFactor == true {
                // x264's own rate control, as the encoders of CRF video run it (default I/P ratio, adaptive quantisation).
                settings.options = [("crf", quantiser), ("bf", "0")]
            } else {
                // One QP for every frame type: the reading averages the input's I, P and B frames into one number.
                settings.options = [("qp", quantiser), ("x264-params", "ipratio=1:pbratio=1"), ("bf", "0")]
            }
        case .jpeg:
            settings.pixelFormat = profile.chromaSubsampled ? "yuvj420p" : "yuvj444p"
            settings.options = constantQscale
        case .mpeg2, .mpeg4:
            settings.pixelFormat = "yuv420p"
            settings.options = constantQscale
        }
        let first = pictures[0]
        let format = VideoFormat(width: first.width, height: first.height, timeBase: Rational(1, 25), frameRate: Rational(25, 1),
                                 sampleAspectRatio: Rational(1, 1), colour: .stillImage, sourcePixelFormat: settings.pixelFormat!)
        let encoder = try Encoder(settings: settings, format: format, globalHeader: false)
        let decoder = try Decoder(decoding: encoder)
        let converter = ColourConverter()
        let packet = try Packet(), frame = try Frame()
        var decoded: [RGBImage] = []
        func drainDecoder() throws {
            while case .output = try decoder.receive(into: frame) {
                decoded.append(try converter.rgbImage(from: frame, matrix: .bt601, fullRange: fullRange))
            }
        }
        func drainEncoder() throws {
            while case .output = try encoder.receive(into: packet) {
                try decoder.send(packet)
                try drainDecoder()
            }
        }
        for (index, picture) in pictures.enumerated() {
            let input = try converter.frame(from: picture, format: encoder.pixelFormat, matrix: .bt601, fullRange: fullRange)
            input.pts = Int64(index)
            try encoder.send(input)
            try drainEncoder()
        }
        try encoder.sendEndOfStream()
        try drainEncoder()
        try decoder.sendEndOfStream()
        try drainDecoder()
        guard decoded.count == pictures.count else {
            throw CompressionRoundTripError(description: "\(profile.codec.rawValue) round trip gave \(decoded.count) of \(pictures.count) pictures")
        }
        return decoded
    }
}

/// A codec round trip that did not give back every picture it was given.
public struct CompressionRoundTripError: Error, CustomStringConvertible {
    public let description: String
}
