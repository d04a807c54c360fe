import Decode

/// A stream re-encoded because the output container cannot hold it as it is: packets go in with their stream's
/// timestamps (shifted by a trim window, if any), encoded packets come out through `write` in the encoder's time base.
protocol StreamTranscode: AnyObject {
    /// The output stream the encoded packets go to (set once the muxer has the stream).
    var output: Int { get set }
    /// The encoder's name, for the report.
    var outputCodec: String { get }
    /// Decodes one packet and writes what the encoder gives back.
    func feed(_ packet: Packet, write: (Packet, Rational) throws -> Void) throws
    /// Writes what is held back at the end of the stream.
    func finish(write: (Packet, Rational) throws -> Void) throws
}

/// One text subtitle stream the output container cannot hold as it is, converted to the container's own text subtitle
/// codec, as FFmpeg converts it by default: MOV text (MP4's) into Matroska becomes ASS, SubRip or ASS into MP4 becomes MOV
/// text, any of them into WebM becomes WebVTT. Bitmap subtitles (DVD, Blu-ray) cannot become text and are not taken.
final class SubtitleTranscode: StreamTranscode {
    var output = -1
    let encoder: SubtitleEncoder
    private let decoder: Decoder
    private let encoded: Packet

    var outputCodec: String { encoder.codecName }

    /// Opens the decoder for `demuxer`'s stream `index` and encoder `codecName` after it; throws for bitmap
    /// subtitles. `width` x `height` is the video's picture size.
    init(demuxer: Demuxer, stream index: Int, codecName: String, width: Int, height: Int, globalHeader: Bool) throws {
        decoder = try Decoder(demuxer: demuxer, streamIndex: index, threads: 1)
        guard decoder.decodesTextSubtitles else {
            throw JobError(.usage, "\(decoder.codecName) subtitles are pictures, not text, and cannot become \(codecName)")
        }
        encoder = try SubtitleEncoder(codecName: codecName, for: decoder, width: width, height: height, globalHeader: globalHeader)
        encoded = try Packet()
    }

    func feed(_ packet: Packet, write: (Packet, Rational) throws -> Void) throws {
        guard let subtitle = try decoder.decodeSubtitle(packet), try encoder.encode(subtitle, into: encoded) else { return }
        try write(encoded, encoder.timeBase)
    }

    /// Text decoders hold nothing back.
    func finish(write: (Packet, Rational) throws -> Void) throws {}
}
