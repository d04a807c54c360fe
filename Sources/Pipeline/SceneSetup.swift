import Decode
import ONSR

/// How a scene's fresh adaptation is set up from the scene's first frames, the same in file mode
/// (`SceneScheduler`) and live mode (`LiveScheduler`): the kernel Gr is fine-tuned through, and the compression the
/// external branch reproduces.
enum SceneSetup {
    /// Two-phase for an adaptation that starts a fresh Gd: Gd starts at the blur estimator's reading of the scene
    /// and Gr is fine-tuned through it (the learned shape).
    ///
    /// Input from a lossy codec takes the spectral shape instead, as before the estimator: its reading of coded frames is too
    /// small (even H.264 at CRF 16 halves it on the benchmark's clips and can make it say "no blur"), and
    /// `scripts/bench-codec 12 100` put ONSR with the learned shape below the spectral one in all six codings
    /// (codec-aware from the 9,000-step fast-x2-g, mean of 5 clips: 31.050 against 31.371 dB at CRF 16, 28.863
    /// against 28.970 at CRF 28; docs/onsr-study.md, "Coded video"). The reading is still made: a cut compares it with
    /// the last one.
    static func freshStrategy(estimate: BlurEstimate?, inputIsCoded: Bool) -> TwoPhase {
        var strategy = TwoPhase()
        guard strategy.kernelShape == .learned else { return strategy }
        if inputIsCoded { strategy.kernelShape = .spectral } else { strategy.estimate = estimate }
        return strategy
    }

    /// Whether `source` comes through a lossy codec (`CodecFacts.isLossy`: H.264, HEVC, VP9, AV1, MPEG-2, ...),
    /// whether or not the external branch can reproduce that codec.
    static func isCoded(_ source: SourceStream?) -> Bool { source.map { CodecFacts.isLossy($0.codecName) } ?? false }

    /// The compression of the scene that `frames` start (`CompressionEstimate.profile`) and a compressor for it,
    /// seeded by the scene's number so that runs are reproducible; nil where the run is not codec-aware or the
    /// codec cannot be reproduced.
    static func compression(codecAware: Bool, source: SourceStream?, frames: [TimedFrame], scene: Int,
                            seed: UInt64) throws -> (profile: CompressionProfile, compressor: PatchCompressor)? {
        guard codecAware, let profile = CompressionEstimate.profile(source: source, frames: frames) else { return nil }
        return (profile, try CompressionEstimate.compressor(profile, seed: UInt64(scene) &* 7919 &+ seed))
    }
}
