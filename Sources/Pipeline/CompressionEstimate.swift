import Decode
import Engine
import ONSR

/// The compression profile of a scene, from the frames that start it: the input's codec and chroma
/// subsampling, the mean of the quantisers its decoder exported, the share of predicted frames, and the noise
/// the flat-region estimator finds. Nil where nothing can be reproduced: a codec `PatchCompressor` does not know
/// (ProRes, FFV1, VP9, AV1 ...), or frames without quantisers (pictures, or a decoder that exports none).
public enum CompressionEstimate {
    /// Frames whose noise is measured (the estimate is stable across a scene's frames; each costs a pass over the luma).
    static let noiseFrames = 3

    public static func profile(source: SourceStream?, frames: [TimedFrame]) -> CompressionProfile? {
        guard let source, let codec = CompressionProfile.Codec(ffmpegName: source.codecName) else { return nil }
        let quantisers = frames.compactMap { $0.coding?.quantiser?.mean }
        guard !quantisers.isEmpty else { return nil }
        let quantiser = quantisers.reduce(0, +) / Double(quantisers.count)
        let coded = frames.compactMap(\.coding)
        let predicted = coded.isEmpty ? 0 : Double(coded.filter { !$0.intra }.count) / Double(coded.count)
        let noise = frames.prefix(noiseFrames).compactMap { NoiseEstimate.sigma(of: $0.image) }
        return CompressionProfile(codec: codec, quantiser: quantiser, chromaSubsampled: source.hasSubsampledChroma,
                                  noiseSigma: noise.isEmpty ? 0 : noise.reduce(0, +) / Double(noise.count),
                                  predictedShare: predicted)
    }

    /// The compression of a still picture read from `path`: a JPEG's quantiser (from its table, `JPEGQuantiser`),
    /// its chroma subsampling and the noise the flat-region estimator finds. Nil for anything but JPEG.
    public static func profile(picture: DecodedImage, path: String) -> CompressionProfile? {
        guard CompressionProfile.Codec(ffmpegName: picture.codecName) == .jpeg, let qscale = JPEGQuantiser.qscale(path: path) else { return nil }
        return CompressionProfile(codec: .jpeg, quantiser: qscale, chromaSubsampled: picture.chromaSubsampled,
                                  noiseSigma: NoiseEstimate.sigma(of: picture.image) ?? 0)
    }

    /// A compressor for `profile`, tried once on a small batch so that a codec this FFmpeg lacks is an error here,
    /// not a silent fallback in every step.
    public static func compressor(_ profile: CompressionProfile, seed: UInt64) throws -> PatchCompressor {
        do {
            _ = try PatchCompressor(profile: profile, seed: seed)(Tensor(shape: [1, 3, 32, 32], repeating: 0.5))
        } catch {
            throw JobError(.other, "cannot reproduce the input's compression (\(profile)): \(error)")
        }
        return PatchCompressor(profile: profile, seed: seed)
    }
}
