import Decode
import Foundation

/// One audio stream the output container cannot hold as it is, re-encoded with the container's own audio codec (AAC
/// into WebM becomes Opus, as FFmpeg does by default): decode -> resample and reframe (`AudioResampler`) -> encode.
/// Packets go in with their stream's timestamps (shifted by a trim window, if any); encoded packets come out through
/// `write` with the encoder's time base.
final class AudioTranscode: StreamTranscode {
    /// The output stream the encoded packets go to (set once the muxer has the stream).
    var output = -1
    let encoder: AudioEncoder
    var outputCodec: String { encoder.codecName }
    private let decoder: Decoder
    private let timeBase: Rational
    private var resampler: AudioResampler?
    private let decoded: Frame, resampled: Frame, encoded: Packet

    /// Opens the decoder for `demuxer`'s stream `index`, which `encoder` re-encodes.
    init(demuxer: Demuxer, stream index: Int, encoder: AudioEncoder) throws {
        decoder = try Decoder(demuxer: demuxer, streamIndex: index, threads: 1)
        timeBase = demuxer.streams[index].timeBase
        self.encoder = encoder
        decoded = try Frame()
        resampled = try Frame()
        encoded = try Packet()
    }

    /// Decodes one packet and writes what the encoder gives back.
    func feed(_ packet: Packet, write: (Packet, Rational) throws -> Void) throws {
        try decoder.send(packet)
        try drainDecoder(write: write)
    }

    /// Flushes decoder, resampler and encoder at the end of the stream.
    func finish(write: (Packet, Rational) throws -> Void) throws {
        try decoder.sendEndOfStream()
        try drainDecoder(write: write)
        if let resampler {
            try resampler.sendEndOfStream()
            try drainResampler(write: write)
        }
        try encoder.sendEndOfStream()
        try drainEncoder(write: write)
    }

    private func drainDecoder(write: (Packet, Rational) throws -> Void) throws {
        while case .output = try decoder.receive(into: decoded) {
            if resampler == nil { resampler = try AudioResampler(first: decoded, timeBase: timeBase, into: encoder) }
            try resampler!.send(decoded)
            try drainResampler(write: write)
        }
    }

    private func drainResampler(write: (Packet, Rational) throws -> Void) throws {
        guard let resampler else { return }
        while case .output = try resampler.receive(into: resampled) {
            resampled.rescaleTimestamp(from: resampler.timeBase, to: encoder.timeBase)
            try encoder.send(resampled)
            try drainEncoder(write: write)
        }
    }

    private func drainEncoder(write: (Packet, Rational) throws -> Void) throws {
        while case .output = try encoder.receive(into: encoded) {
            try write(encoded, encoder.timeBase)
        }
    }
}
