import CFFmpeg
import Foundation

/// A still picture read with FFmpeg's own image codecs.
public struct DecodedImage: Sendable {
    public var image: RGBImage
    /// Bits per sample of the source (8 or 16 for PNG), used to keep the precision on output.
    public var bitDepth: Int
    /// True when the source is grey (one colour channel): written back grey.
    public var grey: Bool = false
    /// The alpha plane (`width * height` values in [0, 1], row-major) of a picture that has one; nil when it has
    /// none or is a palette picture whose entries are all opaque.
    public var alpha: [Float]? = nil
    /// FFmpeg's name of the picture's codec ("png", "mjpeg", ...).
    public var codecName: String = ""
    /// True where the picture was stored with fewer chroma than luma samples (most JPEGs: 4:2:0).
    public var chromaSubsampled = false

    /// True for a picture stored with a lossy codec (JPEG, JPEG 2000, WebP; `CodecFacts.isLossy`): its blocks and
    /// ringing are part of what it shows.
    public var isLossyCoded: Bool { CodecFacts.isLossy(codecName) }
}

/// Reads PNG / JPEG (and other formats FFmpeg's image2 demuxer knows) and writes PNG or JPEG.
public enum ImageFile {
    /// Decodes the first picture of `path` into RGB.
    public static func read(path: String) throws -> DecodedImage {
        let demuxer = try Demuxer(path: path)
        guard let index = demuxer.streams.firstIndex(where: { $0.kind == .video }) else {
            throw MediaError(code: onsr_averror_invaliddata(), call: "av_find_best_stream", context: path)
        }
        let decoder = try Decoder(demuxer: demuxer, streamIndex: index, threads: 1)
        let packet = try Packet()
        let frame = try Frame()
        var decoded = false
        reading: while true {
            switch try demuxer.read(into: packet) {
            case .endOfFile:
                try decoder.sendEndOfStream()
                if case .output = try decoder.receive(into: frame) { decoded = true }
                break reading
            case .packet:
                guard packet.streamIndex == index else { continue }
                try decoder.send(packet)
                if case .output = try decoder.receive(into: frame) { decoded = true; break reading }
            }
        }
        guard decoded else {
            throw MediaError(code: onsr_averror_invaliddata(), call: "avcodec_receive_frame", context: path)
        }
        let colour = ColourDescription(frame: frame.pointer.pointee)
        // Still images without tags are full-range BT.601 (JFIF).
        let matrix = colour.matrix(height: 0)
        let fullRange = colour.range != UInt32(AVCOL_RANGE_MPEG.rawValue)
        let converter = ColourConverter()
        let image = try converter.rgbImage(from: frame, matrix: matrix, fullRange: fullRange)
        var alpha = try converter.alphaPlane(from: frame)
        // Every palette format counts as having alpha; a palette without transparent entries has none to keep.
        if frame.pixelFormat.isPalette, alpha?.allSatisfy({ $0 >= 1 }) == true { alpha = nil }
        return DecodedImage(image: image, bitDepth: frame.pixelFormat.bitDepth > 8 ? 16 : 8, grey: frame.pixelFormat.isGrey, alpha: alpha,
                            codecName: demuxer.streams[index].codecName, chromaSubsampled: frame.pixelFormat.hasSubsampledChroma)
    }

    /// Encodes `image` as an 8- or 16-bit RGB PNG (grey: its BT.601 luma, which is the grey value itself where
    /// R = G = B; `alpha`: with that alpha plane, RGBA or grey + alpha) and writes it to `path` (directly; callers
    /// that need an atomic result write to a temporary name and rename).
    public static func writePNG(_ image: RGBImage, alpha: [Float]? = nil, to path: String, bitDepth: Int = 8, grey: Bool = false) throws {
        var settings = EncoderSettings()
        settings.codec = "png"
        let deep = bitDepth > 8
        switch (grey, alpha != nil) {
        case (true, false): settings.pixelFormat = deep ? "gray16be" : "gray"
        case (true, true): settings.pixelFormat = deep ? "ya16be" : "ya8"
        case (false, false): settings.pixelFormat = deep ? "rgb48be" : "rgb24"
        case (false, true): settings.pixelFormat = deep ? "rgba64be" : "rgba"
        }
        try encodeOne(image, alpha: alpha, settings: settings, to: path)
    }

    /// Encodes `image` as a full-range 4:4:4 JPEG at FFmpeg's `-q:v 2` (a JPEG holds no alpha plane) and writes it to
    /// `path` (directly, as `writePNG`).
    public static func writeJPEG(_ image: RGBImage, to path: String) throws {
        var settings = EncoderSettings()
        settings.codec = "mjpeg"
        settings.pixelFormat = "yuv444p"
        settings.applyQualityDefault()
        try encodeOne(image, alpha: nil, settings: settings, to: path)
    }

    /// Encodes one picture with `settings` (full range, BT.601, as still images are) and writes its bytes to `path`.
    private static func encodeOne(_ image: RGBImage, alpha: [Float]?, settings requested: EncoderSettings, to path: String) throws {
        var settings = requested
        settings.threads = 1
        let format = VideoFormat(width: image.width, height: image.height, timeBase: Rational(1, 25), frameRate: Rational(25, 1),
                                 sampleAspectRatio: Rational(1, 1), colour: .stillImage, sourcePixelFormat: settings.pixelFormat!)
        let encoder = try Encoder(settings: settings, format: format, globalHeader: false)
        let frame = try ColourConverter().frame(from: image, alpha: alpha, format: encoder.pixelFormat, matrix: .bt601, fullRange: true)
        frame.pts = 0
        try encoder.send(frame)
        try encoder.sendEndOfStream()
        let packet = try Packet()
        var bytes: [UInt8] = []
        while case .output = try encoder.receive(into: packet) { bytes += packet.bytes }
        guard !bytes.isEmpty else { throw MediaError(code: onsr_averror_invaliddata(), call: "avcodec_receive_packet", context: path) }
        // Written through open/write, so that the failure is the system's own (a full disk is ENOSPC, not EACCES).
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw MediaError(code: onsr_averror(errno), call: "open", context: path) }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw MediaError(code: onsr_averror(count < 0 ? errno : ENOSPC), call: "write", context: path) }
            written += count
        }
    }
}
