/// The ESRGAN generator exactly as BasicSR's `RRDBNet` builds it, with the same parameter names
/// (`conv_first`, `body.N.rdbK.convJ`, `conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`), so a
/// BasicSR checkpoint converted to safetensors loads as it is.
///
/// At x2 the input is pixel-unshuffled by 2 first (conv_first sees 12 channels); the trunk always ends in
/// two nearest-x2 + conv steps. With `bicubicSkip` (our addition, no parameters) the output is added to a
/// bicubic upsampling of the input, so the trunk only learns the residual: a small network then starts from
/// bicubic quality instead of from noise, and flat areas stay flat. Layout: N x 3 x H x W in (N x 3·frames x H x W
/// for a multi-frame network), N x 3 x sH x sW out, values nominally in [0, 1]. A conditioned network (`conditions`,
/// our addition, SRMD-style) also reads constant planes that describe the degradation, after the image channels.
public final class RRDBNet: ParameterContainer {
    /// The numbers that fix the architecture.
    public struct Configuration: Codable, Equatable, Sendable {
        public var features: Int
        public var blocks: Int
        public var growth: Int
        public var scale: Int
        public var channels: Int
        /// Adds a bicubic upsampling of the input to the output (BasicSR's RRDBNet has no such skip).
        public var bicubicSkip: Bool
        /// Consecutive frames in the input, stacked on the channel axis oldest first (BasicSR's `num_in_ch` is
        /// `channels * frames`); the output is the middle frame's, and the skip upsamples the middle frame.
        public var frames: Int
        /// Condition planes after the image channels: values that describe the input's degradation (e.g. a blur
        /// kernel's code), constant over the picture; 0 for a blind network.
        public var conditions: Int

        public init(features: Int = 64, blocks: Int = 23, growth: Int = 32, scale: Int = 4, channels: Int = 3,
                    bicubicSkip: Bool = false, frames: Int = 1, conditions: Int = 0) {
            precondition([1, 2, 4].contains(scale), "RRDBNet supports scale 1, 2 or 4, got \(scale)")
            precondition(frames >= 1 && frames % 2 == 1, "RRDBNet takes an odd number of frames, got \(frames)")
            precondition(conditions >= 0 && (conditions == 0 || frames == 1), "condition planes are for one-frame networks")
            self.features = features; self.blocks = blocks; self.growth = growth; self.scale = scale; self.channels = channels
            self.bicubicSkip = bicubicSkip
            self.frames = frames
            self.conditions = conditions
        }

        /// Channels of the pictures in the input: `channels` per frame.
        public var imageChannels: Int { channels * frames }
        /// Channels of the whole input: the pictures', then the condition planes.
        public var inputChannels: Int { imageChannels + conditions }
        /// The input channels of the frame the output restores.
        public var middleFrameChannels: Range<Int> { (frames / 2 * channels)..<((frames / 2 + 1) * channels) }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(features: try c.decode(Int.self, forKey: .features), blocks: try c.decode(Int.self, forKey: .blocks),
                      growth: try c.decode(Int.self, forKey: .growth), scale: try c.decode(Int.self, forKey: .scale),
                      channels: try c.decode(Int.self, forKey: .channels),
                      bicubicSkip: try c.decodeIfPresent(Bool.self, forKey: .bicubicSkip) ?? false,
                      frames: try c.decodeIfPresent(Int.self, forKey: .frames) ?? 1,
                      conditions: try c.decodeIfPresent(Int.self, forKey: .conditions) ?? 0)
        }
    }

    public let configuration: Configuration
    public let convFirst: Conv2d, convBody: Conv2d, convUp1: Conv2d, convUp2: Conv2d, convHR: Conv2d, convLast: Conv2d
    public let body: [RRDB]
    /// A conditioned network's condition values (`Configuration.conditions` of them), appended as constant planes to
    /// an input that holds only the pictures: how ONSR and the upscalers, which pass pictures, set the degradation.
    /// An input that brings its own planes (training, one condition per patch) ignores it.
    public var condition: [Float]?
    private let skip: BicubicResize?
    private var saved: Saved?

    private struct Saved {
        let input: Tensor, trunkInput: Activation, bodyOutput: Activation
        let upsampledFeature: Activation, up1: Activation, upsampledUp1: Activation, up2: Activation, hr: Activation
    }

    public init(_ configuration: Configuration, seed: UInt64 = 0) {
        self.configuration = configuration
        var rng = SeededRandom(seed: seed)
        let (nf, gc) = (configuration.features, configuration.growth)
        let unshuffle = configuration.scale == 2 ? 4 : (configuration.scale == 1 ? 16 : 1)
        convFirst = Conv2d(configuration.inputChannels * unshuffle, nf, kernelSize: 3, rng: &rng)
        body = (0..<configuration.blocks).map { _ in RRDB(features: nf, growth: gc, rng: &rng) }
        convBody = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convUp1 = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convUp2 = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convHR = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convLast = Conv2d(nf, configuration.channels, kernelSize: 3, rng: &rng)
        skip = configuration.bicubicSkip ? BicubicResize(factor: configuration.scale, direction: .up) : nil
    }

    public var scale: Int { configuration.scale }

    /// Pixel-unshuffle factor in front of conv_first.
    private var unshuffle: Int { scale == 2 ? 2 : (scale == 1 ? 4 : 1) }

    public func namedParameters() -> [(String, Parameter)] {
        func prefixed(_ name: String, _ container: ParameterContainer) -> [(String, Parameter)] {
            container.namedParameters().map { ("\(name).\($0.0)", $0.1) }
        }
        var result = prefixed("conv_first", convFirst)
        for (i, block) in body.enumerated() { result += prefixed("body.\(i)", block) }
        result += prefixed("conv_body", convBody) + prefixed("conv_up1", convUp1) + prefixed("conv_up2", convUp2)
        result += prefixed("conv_hr", convHR) + prefixed("conv_last", convLast)
        return result
    }

    /// fp32 inference: nothing is kept for a backward pass.
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, saving: false) }

    /// Inference with activations in `precision` (weights are converted per call, the output is fp32).
    public func infer(_ x: Tensor, precision: ElementType) -> Tensor { forward(x, saving: false, precision: precision) }

    /// oneDNN's kernel for the trunk's convolutions on an input of `height` x `width` in `precision`
    /// (what `--verbose`, reports and `--version` show); with `training`, in a training step (fp32) on
    /// `batch` patches of that size.
    public func implementation(height: Int, width: Int, precision: ElementType, training: Bool = false, batch: Int = 1) -> String {
        let probe = Activation(n: batch, h: max(1, height / unshuffle), w: max(1, width / unshuffle), c: configuration.features,
                               type: precision, zeroed: false)
        return convBody.implementation(for: probe, training: training)
    }

    /// Forward; with `saving` the activations are kept for `backward` (and the pass runs in fp32).
    /// Layout: N x 3·frames x H x W in, N x 3 x sH x sW out (NCHW); channels last inside.
    public func forward(_ x: Tensor, saving: Bool) -> Tensor { forward(x, saving: saving, precision: .fp32) }

    private func forward(_ x: Tensor, saving: Bool, precision: ElementType) -> Tensor {
        let x = withConditionPlanes(x)
        let c = x.nchw.c
        precondition(c == configuration.inputChannels, "RRDBNet expects \(configuration.inputChannels) channels, got \(c)")
        precondition(!saving || precision == .fp32, "training passes are fp32")
        let type = precision
        let trunkInput = ChannelsLast.pixelUnshuffle(x, unshuffle, type: type)
        let feature = convFirst.forward(trunkInput, training: saving)
        var trunk = feature
        for block in body { trunk = block.forward(trunk, saving: saving) }
        let bodyOutput = trunk
        let combined = convBody.forward(bodyOutput, postOps: [.add(feature)], training: saving)
        let leaky: [ConvPostOp] = [.leakyReLU(slope: 0.2)]
        let upsampledFeature = ChannelsLast.upsampleNearest2x(combined)
        let up1 = convUp1.forward(upsampledFeature, postOps: leaky, training: saving)
        let upsampledUp1 = ChannelsLast.upsampleNearest2x(up1)
        let up2 = convUp2.forward(upsampledUp1, postOps: leaky, training: saving)
        let hr = convHR.forward(up2, postOps: leaky, training: saving)
        let out = convLast.forward(hr, outputType: .fp32, training: saving).tensor()
        if let skip {
            out.add(skip(configuration.inputChannels == configuration.channels ? x : x.channels(configuration.middleFrameChannels)))
        }
        saved = saving ? Saved(input: x, trunkInput: trunkInput, bodyOutput: bodyOutput, upsampledFeature: upsampledFeature,
                               up1: up1, upsampledUp1: upsampledUp1, up2: up2, hr: hr) : nil
        return out
    }

    /// Backward from the output gradient: accumulates gradients of every parameter that requires one and
    /// returns the input gradient when `needInputGrad`.
    @discardableResult
    public func backward(_ gradOutput: Tensor, needInputGrad: Bool = false) -> Tensor? {
        guard let s = saved else { preconditionFailure("backward without a saving forward pass") }
        saved = nil
        let gradHR = convLast.backward(input: s.hr, gradOutput: Activation(gradOutput), needInputGrad: true)!
        let gradUp2 = convHR.backward(input: s.up2, gradOutput: ChannelsLast.leakyReLUGradient(gradHR, output: s.hr, channels: 0..<gradHR.c),
                                      needInputGrad: true)!
        let gradUpsampledUp1 = convUp2.backward(input: s.upsampledUp1,
                                                gradOutput: ChannelsLast.leakyReLUGradient(gradUp2, output: s.up2, channels: 0..<gradUp2.c),
                                                needInputGrad: true)!
        let gradUp1 = ChannelsLast.upsampleNearest2xBackward(gradUpsampledUp1)
        let gradUpsampledFeature = convUp1.backward(input: s.upsampledFeature,
                                                    gradOutput: ChannelsLast.leakyReLUGradient(gradUp1, output: s.up1, channels: 0..<gradUp1.c),
                                                    needInputGrad: true)!
        let gradCombined = ChannelsLast.upsampleNearest2xBackward(gradUpsampledFeature)
        var gradTrunk = convBody.backward(input: s.bodyOutput, gradOutput: gradCombined, needInputGrad: true)!
        for block in body.reversed() { gradTrunk = block.backward(gradTrunk) }
        ChannelsLast.add(gradCombined, into: gradTrunk)
        let gradTrunkInput = convFirst.backward(input: s.trunkInput, gradOutput: gradTrunk, needInputGrad: needInputGrad)
        guard let gradTrunkInput else { return nil }
        var gradInput = ChannelsLast.pixelUnshuffleBackward(gradTrunkInput, unshuffle)
        // The condition planes are settings, not pixels: their gradient is dropped.
        if configuration.conditions > 0 { gradInput = gradInput.channels(0..<configuration.imageChannels) }
        if let skip {
            let gradSkip = skip.backward(gradOutput, inputHeight: s.input.nchw.h, inputWidth: s.input.nchw.w)
            if configuration.imageChannels == configuration.channels { gradInput.add(gradSkip) } else { gradInput.addChannels(gradSkip, at: configuration.middleFrameChannels.lowerBound) }
        }
        return gradInput
    }

    /// `x` with `condition`'s constant planes appended where the network is conditioned and `x` holds only the pictures.
    private func withConditionPlanes(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw
        guard configuration.conditions > 0, c == configuration.imageChannels else { return x }
        guard let condition, condition.count == configuration.conditions else {
            preconditionFailure("a conditioned RRDBNet needs its \(configuration.conditions) condition values set")
        }
        let result = Tensor(shape: [n, configuration.inputChannels, h, w])
        let plane = h * w
        for b in 0..<n {
            (result.data + b * configuration.inputChannels * plane).update(from: x.data + b * c * plane, count: c * plane)
            for (k, value) in condition.enumerated() {
                (result.data + (b * configuration.inputChannels + c + k) * plane).update(repeating: value, count: plane)
            }
        }
        return result
    }
}
