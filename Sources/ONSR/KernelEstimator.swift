import Decode
import Engine
import Foundation

/// A blur estimate in the terms of `BlurKernel.gaussian`: the covariance (HR pixels²) of a Gaussian kernel, and
/// how likely the input carries no blur beyond antialiased bicubic downscaling.
public struct BlurEstimate: Sendable, Equatable {
    /// Σ of the Gaussian, (σyy, σyx, σxx) in HR pixels².
    public let covariance: (yy: Double, yx: Double, xx: Double)
    /// Probability that the input was only bicubic-downscaled (no extra blur).
    public let noBlurProbability: Double

    public init(covariance: (yy: Double, yx: Double, xx: Double), noBlurProbability: Double) {
        self.covariance = covariance
        self.noBlurProbability = noBlurProbability
    }

    public static func == (a: BlurEstimate, b: BlurEstimate) -> Bool {
        a.covariance == b.covariance && a.noBlurProbability == b.noBlurProbability
    }

    public var trace: Double { covariance.yy + covariance.xx }

    /// The estimator's call: no blur beyond bicubic downscaling, where the probability exceeds
    /// `noBlurThreshold`.
    public var isNoBlur: Bool { BlurEstimate.callsNoBlur(noBlurProbability) }

    /// The no-blur call for a probability (`isNoBlur`), for reports that keep only the probability.
    public static func callsNoBlur(_ probability: Double) -> Bool { probability > noBlurThreshold }

    /// The hard call serves where one model must serve a whole video (`StartingModel`); one picture mixes the two
    /// starts across `mixBand` instead (`noBlurWeight`).
    /// 0.7, not one half: on training-set crops (11 crops x 6 blind-kernel seeds, `onsr-video eval --photos CROPS
    /// --methods fast-x2-g fast-x2-bicubic estimator --seed N`, the 19,000-step fast-x2-g) the 3 blurred inputs
    /// between 0.5 and 0.7 lose 6.32 dB in all by starting from the bicubic-trained Gr (worst -3.13, true variance
    /// 2.6), the one above 0.7 gains 0.31 (true variance 1.9); 10 of the 11 bicubic-downscaled crops are above 0.7
    /// and gain 1.0 to 8.6 dB. Any threshold from 0.66 to 0.77 makes the same calls there (docs/onsr-study.md).
    public static let noBlurThreshold = 0.7

    /// How far a picture's upscale leans on the bicubic-trained Gr: 0 up to `mixBand`'s lower bound (the blind
    /// Gr alone), 1 from its upper bound (the bicubic-trained one alone), linear between, where the call could go
    /// either way and a wrong one costs dB either way (`MixedUpscaler`).
    public var noBlurWeight: Double {
        min(max((noBlurProbability - BlurEstimate.mixBand.lowerBound) / (BlurEstimate.mixBand.upperBound - BlurEstimate.mixBand.lowerBound), 0), 1)
    }

    /// 0.6 to 0.8, around the threshold: on the training-set crops (66 blind crop-kernel pairs and the 11
    /// bicubic-downscaled crops, the unadapted fast-x2-g and fast-x2-bicubic mixed in quarters, `onsr-video eval
    /// --photos CROPS --methods mix:fast-x2-g:fast-x2-bicubic:W --seed N`) it keeps what the hard call gains on
    /// bicubic input (+3.72 dB against +3.73 on average) and limits the worst blurred crop to −0.04 dB; bands
    /// reaching down to 0.5 or 0.55 gain more on bicubic input but put a blurred crop 0.33 to 0.61 dB below the blind
    /// model (docs/onsr-study.md, "The uncertain band").
    public static let mixBand = 0.6...0.8

    /// This reading with the call "blurred": the blind half of a mix is fine-tuned through the estimated kernel
    /// whatever the probability says.
    public var assumingBlur: BlurEstimate { BlurEstimate(covariance: covariance, noBlurProbability: 0) }

    /// Whether `other` reads a different blur: one says "no blur" and the other not, or their kernels correlate
    /// below `BlurEstimate.sameBlurSimilarity` (NCC). Not tuned on data: the estimator's kernels reach NCC 0.99
    /// with the true ones on the held-out photos, so two readings of one blur correlate well above 0.95.
    public func differs(from other: BlurEstimate, scale: Int) -> (differs: Bool, similarity: Double) {
        let (a, b) = (kernel(scale: scale), other.kernel(scale: scale))
        let similarity = KernelComparison.ncc(a.taps, size: a.size, b.taps, size: b.size)
        return (isNoBlur != other.isNoBlur || similarity < BlurEstimate.sameBlurSimilarity, similarity)
    }

    /// Kernel NCC below which two readings are different blurs (see `differs`).
    public static let sameBlurSimilarity = 0.95

    /// The same estimate with the covariance multiplied by `factor`.
    public func scaled(by factor: Double) -> BlurEstimate {
        BlurEstimate(covariance: (covariance.yy * factor, covariance.yx * factor, covariance.xx * factor), noBlurProbability: noBlurProbability)
    }

    /// The total variance (HR pixels²) of `kernel(scale:)` as sampled: what the estimator's reports compare with the
    /// true kernel's, and the units the size thresholds were chosen in (a large kernel's truncated taps hold less
    /// variance than its covariance says).
    public func sampledTrace(scale: Int) -> Double {
        let sampled = sampledCovariance(scale: scale)
        return sampled.yy + sampled.xx
    }

    /// The smaller eigenvalue (HR pixels²) of `kernel(scale:)`'s covariance as sampled: how narrow the kernel is
    /// across its direction, in the units of `sampledTrace`.
    public func sampledMinorVariance(scale: Int) -> Double { KernelComparison.minorEigenvalue(sampledCovariance(scale: scale)) }

    /// The second moments (HR pixels²) of `kernel(scale:)` as sampled, which `sampledTrace` and
    /// `sampledMinorVariance` read.
    public func sampledCovariance(scale: Int) -> (yy: Double, yx: Double, xx: Double) {
        KernelComparison.covariance(kernel(scale: scale))
    }

    /// The Gaussian kernel of this covariance, in the layout of `Degrade.blurSubsample` at `scale`.
    public func kernel(scale: Int) -> BlurKernel {
        let (major, minor) = KernelComparison.eigenvalues(covariance)
        let theta = 0.5 * atan2(2 * covariance.yx, covariance.xx - covariance.yy)
        var unused = SeededRandom(seed: 0)
        return BlurKernel.gaussian(scale: scale, lambda1: max(major, 0.01), lambda2: max(minor, 0.01), theta: theta, rng: &unused)
    }
}

/// Reports carry the reading as {yy, yx, xx, noBlurProbability}.
extension BlurEstimate: Codable {
    private enum CodingKeys: String, CodingKey { case yy, yx, xx, noBlurProbability }

    public init(from decoder: Swift.Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        self.init(covariance: (try values.decode(Double.self, forKey: .yy), try values.decode(Double.self, forKey: .yx),
                               try values.decode(Double.self, forKey: .xx)),
                  noBlurProbability: try values.decode(Double.self, forKey: .noBlurProbability))
    }

    public func encode(to encoder: Swift.Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(covariance.yy, forKey: .yy)
        try values.encode(covariance.yx, forKey: .yx)
        try values.encode(covariance.xx, forKey: .xx)
        try values.encode(noBlurProbability, forKey: .noBlurProbability)
    }
}

/// The network's four outputs and the covariance they stand for. A covariance is coded as (log trace,
/// (σxx − σyy) / trace, 2σyx / trace): the size on a log scale, since a blur of variance 0.3 and one of 10 differ
/// in kind, and the shape as a point of the unit disc, which has no angle wrap-around.
public enum KernelCode {
    /// Index of the no-blur logit, the log trace and the two shape components in the network's output.
    public static let (noBlurLogit, logTrace, shapeU, shapeV) = (0, 1, 2, 3)
    public static let outputs = 4
    /// Index of the fifth output of an estimator trained with `KernelEstimator.Configuration.sizeSpread`: the log of
    /// the patch's expected absolute error on the log size (a Laplace scale), its confidence in its own size reading.
    public static let logSizeSpread = 4

    /// (log tr, u, v) of a covariance.
    public static func encode(_ sigma: (yy: Double, yx: Double, xx: Double)) -> (logTrace: Double, u: Double, v: Double) {
        let trace = max(sigma.yy + sigma.xx, 1e-6)
        return (log(trace), (sigma.xx - sigma.yy) / trace, 2 * sigma.yx / trace)
    }

    /// Condition planes of a kernel-conditioned Gr (`RRDBNet.Configuration.conditions`): (log tr, u, v).
    public static let conditions = 3

    /// The condition values of a kernel of covariance `sigma` (HR pixels², as sampled: `KernelComparison.covariance`).
    public static func condition(_ sigma: (yy: Double, yx: Double, xx: Double)) -> [Float] {
        let code = encode(sigma)
        return [Float(code.logTrace), Float(code.u), Float(code.v)]
    }

    /// `condition` with Gaussian noise: `logSizeNoise` (standard deviation) on the log size, a third of it on the shape.
    public static func condition(_ sigma: (yy: Double, yx: Double, xx: Double), logSizeNoise: Double, rng: inout SeededRandom) -> [Float] {
        let clean = condition(sigma), noise = Float(logSizeNoise)
        return [clean[0] + noise * rng.normal(), clean[1] + noise / 3 * rng.normal(), clean[2] + noise / 3 * rng.normal()]
    }

    /// The covariance of (log tr, u, v); the shape is pulled inside the disc so that both eigenvalues stay positive.
    public static func decode(logTrace: Double, u: Double, v: Double) -> (yy: Double, yx: Double, xx: Double) {
        let trace = exp(logTrace)
        let radius = (u * u + v * v).squareRoot()
        let shrink = radius > 0.96 ? 0.96 / radius : 1
        let (u, v) = (u * shrink, v * shrink)
        return (trace * (1 - u) / 2, trace * v / 2, trace * (1 + u) / 2)
    }
}

/// The blur estimator: a small CNN that reads LR patches and predicts the blur kernel they were made with
/// (as `KernelCode`) and whether there was any blur beyond bicubic downscaling. It sees the blur itself,
/// where Gd fitted through a blind Gr sees only the blur Gr did not remove (docs/onsr-study.md).
///
/// Layers: three 3x3 convs at full resolution (`features` channels), a 4x4 stride-2 conv to 2·features, a 3x3,
/// another 4x4 stride-2 and a 3x3, each followed by LeakyReLU(0.2); the mean over all positions; `head`, a linear
/// layer to the four outputs (five with `Configuration.sizeSpread`). Names `conv0` ... `conv6`, `head`. Layout: N x 3 x P x P in (P a multiple of 4,
/// each patch with its per-channel mean removed by `predict`), N x `Configuration.outputs` out.
public final class KernelEstimator: ParameterContainer {
    public struct Configuration: Codable, Equatable, Sendable {
        public var features = 32
        public var scale = 2
        /// A fifth output, `KernelCode.logSizeSpread`: each patch says how far its size reading may be off, and
        /// `combine` weights the patches' sizes by it.
        public var sizeSpread = false
        public init(features: Int = 32, scale: Int = 2, sizeSpread: Bool = false) {
            self.features = features
            self.scale = scale
            self.sizeSpread = sizeSpread
        }

        /// Outputs per patch: `KernelCode.outputs`, plus the spread where there is one.
        public var outputs: Int { KernelCode.outputs + (sizeSpread ? 1 : 0) }

        private enum CodingKeys: String, CodingKey { case features, scale, sizeSpread }

        /// Files written before `sizeSpread` have none.
        public init(from decoder: Swift.Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            self.init(features: try values.decode(Int.self, forKey: .features), scale: try values.decode(Int.self, forKey: .scale),
                      sizeSpread: try values.decodeIfPresent(Bool.self, forKey: .sizeSpread) ?? false)
        }
    }

    public let configuration: Configuration
    public let convs: [Conv2d]
    public let head: Linear
    /// LR patch side the estimator is trained and run on.
    public static let patchSize = 48
    private var saved: (activations: [Activation], pooled: Tensor)?
    /// Networks of the same configuration whose kernel readings (log size, shape) `estimate` averages with this one's,
    /// patch by patch: an ensemble of estimators trained alike with other seeds (empty: this network alone). The
    /// no-blur call stays this network's, whose probability the starts' thresholds were chosen on. A study (`eval
    /// --estimator-companion`): two networks read the training-set crops' sizes better than one but put ONSR lower
    /// there, so the product reads one (docs/onsr-study.md, "An ensemble of estimators").
    public var companions: [KernelEstimator] = [] {
        didSet { precondition(companions.allSatisfy { $0.configuration == configuration }, "an ensemble's estimators share one configuration") }
    }

    public init(_ configuration: Configuration = .init(), seed: UInt64 = 0) {
        self.configuration = configuration
        var rng = SeededRandom(seed: seed)
        let f = configuration.features
        convs = [
            Conv2d(3, f, kernelSize: 3, rng: &rng), Conv2d(f, f, kernelSize: 3, rng: &rng), Conv2d(f, f, kernelSize: 3, rng: &rng),
            Conv2d(f, 2 * f, kernelSize: 4, stride: 2, padding: 1, rng: &rng), Conv2d(2 * f, 2 * f, kernelSize: 3, rng: &rng),
            Conv2d(2 * f, 2 * f, kernelSize: 4, stride: 2, padding: 1, rng: &rng), Conv2d(2 * f, 2 * f, kernelSize: 3, rng: &rng),
        ]
        head = Linear(2 * f, configuration.outputs, rng: &rng)
    }

    public func namedParameters() -> [(String, Parameter)] {
        var result: [(String, Parameter)] = []
        for (i, conv) in convs.enumerated() { result += conv.namedParameters().map { ("conv\(i).\($0.0)", $0.1) } }
        return result + head.namedParameters().map { ("head.\($0.0)", $0.1) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, saving: false) }

    /// Channels last inside, LeakyReLU fused into each conv, then the spatial mean.
    public func forward(_ x: Tensor, saving: Bool) -> Tensor {
        let (_, c, h, w) = x.nchw
        precondition(c == 3 && h % 4 == 0 && w % 4 == 0, "the estimator takes RGB patches with sides divisible by 4, got \(c)x\(h)x\(w)")
        var current = Activation(x)
        var kept = [current]
        for conv in convs {
            current = conv.forward(current, postOps: [.leakyReLU(slope: 0.2)], training: saving)
            kept.append(current)
        }
        let pooled = Tensor(shape: [current.n, current.c])
        let (plane, channels, values) = (current.h * current.w, current.c, current.floats)
        for n in 0..<current.n {
            for p in 0..<plane { for ch in 0..<channels { pooled[n * channels + ch] += values[(n * plane + p) * channels + ch] } }
            for ch in 0..<channels { pooled[n * channels + ch] /= Float(plane) }
        }
        saved = saving ? (kept, pooled) : nil
        return head(pooled)
    }

    /// Accumulates the parameters' gradients from the gradient of the four outputs.
    public func backward(_ gradOutput: Tensor) {
        guard let (activations, pooled) = saved else { preconditionFailure("backward without a saving forward pass") }
        saved = nil
        let gradPooled = head.backward(input: pooled, gradOutput: gradOutput, needInputGrad: true)!
        let last = activations[activations.count - 1]
        var grad = last.emptyLike()
        let (plane, channels, target) = (last.h * last.w, last.c, grad.floats)
        for n in 0..<last.n {
            for p in 0..<plane {
                for ch in 0..<channels { target[(n * plane + p) * channels + ch] = gradPooled[n * channels + ch] / Float(plane) }
            }
        }
        for i in convs.indices.reversed() {
            let output = activations[i + 1]
            let gradY = ChannelsLast.leakyReLUGradient(grad, output: output, channels: 0..<output.c)
            if let gradInput = convs[i].backward(input: activations[i], gradOutput: gradY, needInputGrad: i > 0) { grad = gradInput }
        }
    }

    /// Patches of side `patchSize` from planar RGB (3 x height x width), each with its per-channel mean removed
    /// and divided by its standard deviation (plus 0.01, so that flat patches stay small): brightness and
    /// contrast say nothing about blur, the shape of the edges does.
    /// `side`: the patches' side (`patchSize` for the estimator; `KernelCorrector` reads larger HR patches).
    public static func patchTensor(_ patches: [[Float]], side: Int = patchSize) -> Tensor {
        let p = side, area = side * side
        let tensor = Tensor(shape: [patches.count, 3, p, p])
        for (n, patch) in patches.enumerated() {
            precondition(patch.count == 3 * area, "estimator patches are 3 x \(p) x \(p)")
            var centred = patch
            for c in 0..<3 {
                let range = (c * area)..<((c + 1) * area)
                let mean = patch[range].reduce(0, +) / Float(area)
                for i in range { centred[i] -= mean }
            }
            let deviation = (centred.reduce(0) { $0 + $1 * $1 } / Float(3 * area)).squareRoot()
            let gain = 1 / (deviation + 0.01)
            for i in 0..<(3 * area) { tensor[n * 3 * area + i] = centred[i] * gain }
        }
        return tensor
    }

    /// The blur of `frames` (LR, all the same degradation): the outputs averaged over up to `maxPatches` patches
    /// spread evenly over the frames, the kernel's over this network and its `companions`. nil when no frame holds a
    /// whole patch.
    public func estimate(frames: [RGBImage], maxPatches: Int = 96) -> BlurEstimate? {
        let p = KernelEstimator.patchSize
        var corners: [(frame: Int, top: Int, left: Int)] = []
        for (i, frame) in frames.enumerated() where frame.height >= p && frame.width >= p {
            let rows = frame.height / p, columns = frame.width / p
            let (offsetY, offsetX) = ((frame.height - rows * p) / 2, (frame.width - columns * p) / 2)
            for r in 0..<rows { for c in 0..<columns { corners.append((i, offsetY + r * p, offsetX + c * p)) } }
        }
        guard !corners.isEmpty else { return nil }
        if corners.count > maxPatches {
            let stride = Double(corners.count) / Double(maxPatches)
            corners = (0..<maxPatches).map { corners[Int(Double($0) * stride)] }
        }
        var readings: [[Double]] = []
        let averaged: Set = [KernelCode.logTrace, KernelCode.shapeU, KernelCode.shapeV]
        for start in stride(from: 0, to: corners.count, by: 16) {
            let chunk = corners[start..<min(start + 16, corners.count)]
            let patches = KernelEstimator.patchTensor(chunk.map { frames[$0.frame].crop(top: $0.top, left: $0.left, height: p, width: p) })
            let outputs = ([self] + companions).map { $0(patches) }
            let k = configuration.outputs
            for n in 0..<chunk.count {
                readings.append((0..<k).map { j in
                    averaged.contains(j) ? outputs.reduce(0) { $0 + Double($1[n * k + j]) } / Double(outputs.count) : Double(outputs[0][n * k + j])
                })
            }
        }
        return KernelEstimator.combine(readings, scale: configuration.scale)
    }

    /// Past this total variance (HR pixels², as sampled at the estimator's scale: `BlurEstimate.sampledTrace`) the
    /// plain mean's size is not trusted, and the size is read from the smallest `sizeShareKept` of the patches. The
    /// mean over-reads the size by about 20% on training-set crops, most on soft photos (a cloudy sky, out-of-focus
    /// flowers) whose flat patches cannot tell softness from blur; reading every picture from its smallest patches
    /// raised the `image` default's gain over fast-x2-g on the four crop sets (88 cases, blind seeds 1-2) from +0.586 to
    /// +0.615 dB but put 21 cases below fast-x2-g against 18, because blurred photos with structure were then read too
    /// small. Doing it only past 7 was seen on those cases (+0.635, 18 below), fixed, and then confirmed on 88 fresh
    /// ones (blind seeds 3-4; rule: +0.01 dB or more, no more cases below): 25 of the 88 read past 7, the mean gain
    /// rose by +0.063 dB and the cases below fast-x2-g fell from 11 to 9 (lxqt-flowers −2.67 → −0.42). The two
    /// held-out photos read past 7 (astronaut, motorcycle), which the mean read nearly right, lose 0.13 and 0.08 dB
    /// (docs/onsr-study.md, "The estimator's size read from its sharpest patches").
    public static let softReadTrace = 7.0

    /// The share of a picture's patches, those with the smallest size readings, whose mean is its size past
    /// `softReadTrace`; the shape and the no-blur call stay means over all patches.
    public static let sizeShareKept = 2.0 / 3

    /// One picture's estimate from its patches' outputs (one row of `KernelCode.outputs` per patch, in the network's
    /// order, or one more with the spread): the mean of each output, except the size past `softReadTrace`
    /// (`sizeShareKept`), or, where the rows carry a spread, the size as every patch's reading weighted by its
    /// inverse squared spread. Weighting patches by their contrast did no better on training-set crops.
    public static func combine(_ readings: [[Double]], scale: Int) -> BlurEstimate {
        let width = readings.first?.count ?? 0
        precondition(!readings.isEmpty && (width == KernelCode.outputs || width == KernelCode.outputs + 1) && readings.allSatisfy { $0.count == width },
                     "one row of \(KernelCode.outputs) outputs (or one more, the spread) per patch")
        var mean = (0..<KernelCode.outputs).map { k in readings.reduce(0) { $0 + $1[k] } / Double(readings.count) }
        func reading() -> BlurEstimate {
            let covariance = KernelCode.decode(logTrace: mean[KernelCode.logTrace], u: mean[KernelCode.shapeU], v: mean[KernelCode.shapeV])
            return BlurEstimate(covariance: covariance, noBlurProbability: 1 / (1 + exp(-mean[KernelCode.noBlurLogit])))
        }
        if width > KernelCode.outputs {
            // Relative to the most confident patch, so that no weight underflows.
            let sharpest = readings.map { $0[KernelCode.logSizeSpread] }.min()!
            let weights = readings.map { exp(-2 * ($0[KernelCode.logSizeSpread] - sharpest)) }
            mean[KernelCode.logTrace] = zip(readings, weights).reduce(0) { $0 + $1.0[KernelCode.logTrace] * $1.1 } / weights.reduce(0, +)
            return reading()
        }
        let plain = reading()
        guard plain.sampledTrace(scale: scale) > softReadTrace else { return plain }
        let sizes = readings.map { $0[KernelCode.logTrace] }.sorted()
        let kept = sizes.prefix(max(1, Int((Double(sizes.count) * sizeShareKept).rounded())))
        mean[KernelCode.logTrace] = kept.reduce(0, +) / Double(kept.count)
        return reading()
    }
}
