import Engine
import ONSR

/// Which quantisers `--degradation real` draws its codec round trips from.
public enum RealCompressionRange: String, Codable, CaseIterable, Sendable {
    /// H.264 at QP 20-40 (CRF 16-35 encodes average there), MPEG-2 at qscale 2-14 (DVD to low-rate broadcast),
    /// MPEG-4 part 2 at qscale 2-12: light to heavy.
    case all
    /// Only the heavy end, where `StartingModel` hands video to the real model (H.264 from QP 30, MPEG from qscale 6),
    /// with a margin below the gate: H.264 QP 27-42, MPEG-2 qscale 5-16, MPEG-4 part 2 qscale 5-14. A model the
    /// product never starts from on light coding need not spend its capacity there.
    case heavy
    /// As `all`, but H.264 coded at a CRF of 16-36 by x264's rate control (`CompressionProfile.rateFactor`), whose
    /// adaptive quantisation varies the QP from block to block, instead of at one constant QP.
    case crf

    var h264: ClosedRange<Double> {
        switch self {
        case .all: return 20...40
        case .heavy: return 27...42
        case .crf: return 16...36
        }
    }
    var mpeg2: ClosedRange<Double> { self == .heavy ? 5...16 : 2...14 }
    var mpeg4: ClosedRange<Double> { self == .heavy ? 5...14 : 2...12 }
}

/// The noise and compression of real footage for `--degradation real`, drawn per batch: what archive and web video
/// carries after the blur and the subsampling. H.264 on half the batches, MPEG-2 on a quarter, MPEG-4 part 2 on
/// 15%, at quantisers from a `RealCompressionRange`, each intra or predicted; noise of σ 1-8 code values on half
/// the batches; a tenth of the batches left uncompressed so that clean input keeps its detail.
public enum RealDegradation {
    /// A random profile, nil for an uncompressed batch.
    public static func profile(range: RealCompressionRange, rng: inout SeededRandom) -> CompressionProfile? {
        let draw = rng.uniform()
        let noise = rng.uniform() < 0.5 ? 0 : rng.uniform(1, 8)
        let codec: CompressionProfile.Codec, quantiser: Double
        switch draw {
        case ..<0.1: return nil
        case ..<0.6: (codec, quantiser) = (.h264, rng.uniform(range.h264.lowerBound, range.h264.upperBound))
        case ..<0.85: (codec, quantiser) = (.mpeg2, rng.uniform(range.mpeg2.lowerBound, range.mpeg2.upperBound))
        default: (codec, quantiser) = (.mpeg4, rng.uniform(range.mpeg4.lowerBound, range.mpeg4.upperBound))
        }
        var profile = CompressionProfile(codec: codec, quantiser: quantiser, noiseSigma: noise, predictedShare: 0.7)
        if codec == .h264 && range == .crf { profile.rateFactor = true }
        return profile
    }

    /// Consecutive frames' batches (each N x 3 x h x w) with noise and compression of one random profile, coded as one
    /// group of pictures (`PatchCompressor.sequence`).
    static func compress(sequence frames: [Tensor], range: RealCompressionRange, rng: inout SeededRandom) -> [Tensor] {
        guard let profile = profile(range: range, rng: &rng) else { return frames }
        let compressor = PatchCompressor(profile: profile, seed: rng.next())
        guard let compressed = try? compressor.sequence(frames) else { preconditionFailure("cannot compress training patches with \(profile)") }
        return compressed
    }

    /// Planar square RGB patches of `side`, with noise and compression of one random profile.
    static func compress(_ patches: [[Float]], side: Int, range: RealCompressionRange = .all, rng: inout SeededRandom) -> [[Float]] {
        guard let profile = profile(range: range, rng: &rng) else { return patches }
        let batch = Tensor(shape: [patches.count, 3, side, side], values: Array(patches.joined()))
        let compressor = PatchCompressor(profile: profile, seed: rng.next())
        // libx264 and libavcodec's MPEG encoders are part of the FFmpeg this tool requires; a failure is a broken install.
        guard let compressed = try? compressor(batch) else { preconditionFailure("cannot compress training patches with \(profile)") }
        let values = compressed.values, count = 3 * side * side
        return (0..<patches.count).map { Array(values[($0 * count)..<(($0 + 1) * count)]) }
    }
}
