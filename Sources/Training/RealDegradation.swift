import Engine
import ONSR

/// The noise and compression of real footage for `--degradation real`, drawn per batch: what archive and web video
/// carries after the blur and the subsampling. Ranges: H.264 at QP 20-40 (CRF 16-35 encodes average there), MPEG-2
/// at qscale 2-14 (DVD to low-rate broadcast), MPEG-4 part 2 at qscale 2-12, each intra or predicted; noise of
/// σ 1-8 code values on half the batches; a tenth of the batches left uncompressed so that clean input keeps
/// its detail.
enum RealDegradation {
    /// A random profile, nil for an uncompressed batch.
    static func profile(rng: inout SeededRandom) -> CompressionProfile? {
        let draw = rng.uniform()
        let noise = rng.uniform() < 0.5 ? 0 : rng.uniform(1, 8)
        let codec: CompressionProfile.Codec, quantiser: Double
        switch draw {
        case ..<0.1: return nil
        case ..<0.6: (codec, quantiser) = (.h264, rng.uniform(20, 40))
        case ..<0.85: (codec, quantiser) = (.mpeg2, rng.uniform(2, 14))
        default: (codec, quantiser) = (.mpeg4, rng.uniform(2, 12))
        }
        return CompressionProfile(codec: codec, quantiser: quantiser, noiseSigma: noise, predictedShare: 0.7)
    }

    /// Planar square RGB patches of `side`, with noise and compression of one random profile.
    static func compress(_ patches: [[Float]], side: Int, rng: inout SeededRandom) -> [[Float]] {
        guard let profile = profile(rng: &rng) else { return patches }
        let batch = Tensor(shape: [patches.count, 3, side, side], values: Array(patches.joined()))
        let compressor = PatchCompressor(profile: profile, seed: rng.next())
        // libx264 and libavcodec's MPEG encoders are part of the FFmpeg this tool requires; a failure is a broken install.
        guard let compressed = try? compressor(batch) else { preconditionFailure("cannot compress training patches with \(profile)") }
        let values = compressed.values, count = 3 * side * side
        return (0..<patches.count).map { Array(values[($0 * count)..<(($0 + 1) * count)]) }
    }
}
