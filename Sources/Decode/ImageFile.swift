import CFFmpeg
import Foundation

/// A still picture read with FFmpeg's own image codecs.
public struct DecodedImage: Sendable {
    public var image: RGBImage
    /// Bits per sample of the source (8 or 16 for PNG), used to keep the precision on output.
    public var bitDepth: Int
}

/// Reads PNG / JPEG (and other formats FFmpeg's image2 demuxer knows) and writes PNG.
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
        let image = try ColourConverter().rgbImage(from: frame, matrix: matrix, fullRange: fullRange)
        return DecodedImage(image: image, bitDepth: frame.pixelFormat.bitDepth > 8 ? 16 : 8)
    }

    /// Encodes `image` as an 8- or 16-bit RGB PNG and writes it to `path` (directly; callers that need an
    /// atomic result write to a temporary name and rename).
    public static func writePNG(_ image: RGBImage, to path: String, bitDepth: Int = 8) throws {
        var settings = EncoderSettings()
        settings.codec = "png"
        settings.pixelFormat = bitDepth > 8 ? "rgb48be" : "rgb24"
        settings.threads = 1
        let format = VideoFormat(width: image.width, height: image.height, timeBase: Rational(1, 25), frameRate: Rational(25, 1),
                                 sampleAspectRatio: Rational(1, 1), colour: .stillImage, sourcePixelFormat: settings.pixelFormat!)
        let encoder = try Encoder(settings: settings, format: format, globalHeader: false)
        let frame = try ColourConverter().frame(from: image, format: encoder.pixelFormat, matrix: .bt601, fullRange: true)
        frame.pts = 0
        try encoder.send(frame)
        try encoder.sendEndOfStream()
        let packet = try Packet()
        var bytes: [UInt8] = []
        while case .output = try encoder.receive(into: packet) { bytes += packet.bytes }
        guard !bytes.isEmpty else { throw MediaError(code: onsr_averror_invaliddata(), call: "avcodec_receive_packet", context: path) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw MediaError(code: onsr_averror(EACCES), call: "open", context: path)
        }
    }
}
