/// The ESRGAN generator exactly as BasicSR's `RRDBNet` builds it, with the same parameter names
/// (`conv_first`, `body.N.rdbK.convJ`, `conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`), so a
/// BasicSR checkpoint converted to safetensors loads as it is.
///
/// At x2 the input is pixel-unshuffled by 2 first (conv_first sees 12 channels); the trunk always ends in
/// two nearest-x2 + conv steps. With `bicubicSkip` (our addition, no parameters) the output is added to a
/// bicubic upsampling of the input, so the trunk only learns the residual: a small network then starts from
/// bicubic quality instead of from noise, and flat areas stay flat. Layout: N x 3 x H x W in, N x 3 x sH x sW out, values nominally in [0, 1].
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

        public init(features: Int = 64, blocks: Int = 23, growth: Int = 32, scale: Int = 4, channels: Int = 3,
                    bicubicSkip: Bool = false) {
            precondition([1, 2, 4].contains(scale), "RRDBNet supports scale 1, 2 or 4, got \(scale)")
            self.features = features; self.blocks = blocks; self.growth = growth; self.scale = scale; self.channels = channels
            self.bicubicSkip = bicubicSkip
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(features: try c.decode(Int.self, forKey: .features), blocks: try c.decode(Int.self, forKey: .blocks),
                      growth: try c.decode(Int.self, forKey: .growth), scale: try c.decode(Int.self, forKey: .scale),
                      channels: try c.decode(Int.self, forKey: .channels),
                      bicubicSkip: try c.decodeIfPresent(Bool.self, forKey: .bicubicSkip) ?? false)
        }
    }

    public let configuration: Configuration
    public let convFirst: Conv2d, convBody: Conv2d, convUp1: Conv2d, convUp2: Conv2d, convHR: Conv2d, convLast: Conv2d
    public let body: [RRDB]
    private let skip: BicubicResize?
    private var saved: Saved?

    private struct Saved {
        let input: Tensor, trunkInput: Tensor, bodyOutput: Tensor
        let upsampledFeature: Tensor, up1: Tensor, upsampledUp1: Tensor, up2: Tensor, hr: Tensor
    }

    public init(_ configuration: Configuration, seed: UInt64 = 0) {
        self.configuration = configuration
        var rng = SeededRandom(seed: seed)
        let (nf, gc) = (configuration.features, configuration.growth)
        let unshuffle = configuration.scale == 2 ? 4 : (configuration.scale == 1 ? 16 : 1)
        convFirst = Conv2d(configuration.channels * unshuffle, nf, kernelSize: 3, rng: &rng)
        body = (0..<configuration.blocks).map { _ in RRDB(features: nf, growth: gc, rng: &rng) }
        convBody = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convUp1 = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convUp2 = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convHR = Conv2d(nf, nf, kernelSize: 3, rng: &rng)
        convLast = Conv2d(nf, configuration.channels, kernelSize: 3, rng: &rng)
        skip = configuration.bicubicSkip ? BicubicResize(factor: configuration.scale, direction: .up) : nil
    }

    public var scale: Int { configuration.scale }

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

    /// Inference: nothing is kept for a backward pass.
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, saving: false) }

    /// Forward; with `saving` the activations are kept for `backward`.
    public func forward(_ x: Tensor, saving: Bool) -> Tensor {
        let c = x.nchw.c
        precondition(c == configuration.channels, "RRDBNet expects \(configuration.channels) channels, got \(c)")
        let trunkInput: Tensor
        switch scale {
        case 2: trunkInput = Resize.pixelUnshuffle(x, 2)
        case 1: trunkInput = Resize.pixelUnshuffle(x, 4)
        default: trunkInput = x
        }
        let feature = convFirst(trunkInput)
        var trunk = feature
        for block in body { trunk = block.forward(trunk, saving: saving) }
        let bodyOutput = trunk
        let combined = convBody(bodyOutput)
        combined.add(feature)
        let upsampledFeature = Resize.upsampleNearest2x(combined)
        let up1 = convUp1(upsampledFeature)
        Elementwise.leakyReLU(up1.map)
        let upsampledUp1 = Resize.upsampleNearest2x(up1)
        let up2 = convUp2(upsampledUp1)
        Elementwise.leakyReLU(up2.map)
        let hr = convHR(up2)
        Elementwise.leakyReLU(hr.map)
        let out = convLast(hr)
        if let skip { out.add(skip(x)) }
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
        let gradHR = Tensor(shape: s.hr.shape)
        convLast.backward(input: s.hr.map, gradOutput: gradOutput.map, gradInput: gradHR.map)
        Elementwise.leakyReLUBackward(output: s.hr.map, grad: gradHR.map)
        let gradUp2 = Tensor(shape: s.up2.shape)
        convHR.backward(input: s.up2.map, gradOutput: gradHR.map, gradInput: gradUp2.map)
        Elementwise.leakyReLUBackward(output: s.up2.map, grad: gradUp2.map)
        let gradUpsampledUp1 = Tensor(shape: s.upsampledUp1.shape)
        convUp2.backward(input: s.upsampledUp1.map, gradOutput: gradUp2.map, gradInput: gradUpsampledUp1.map)
        let gradUp1 = Resize.upsampleNearest2xBackward(gradUpsampledUp1)
        Elementwise.leakyReLUBackward(output: s.up1.map, grad: gradUp1.map)
        let gradUpsampledFeature = Tensor(shape: s.upsampledFeature.shape)
        convUp1.backward(input: s.upsampledFeature.map, gradOutput: gradUp1.map, gradInput: gradUpsampledFeature.map)
        let gradCombined = Resize.upsampleNearest2xBackward(gradUpsampledFeature)
        var gradTrunk = Tensor(shape: s.bodyOutput.shape)
        convBody.backward(input: s.bodyOutput.map, gradOutput: gradCombined.map, gradInput: gradTrunk.map)
        for block in body.reversed() { gradTrunk = block.backward(gradTrunk) }
        gradTrunk.add(gradCombined)
        let gradTrunkInput: Tensor? = needInputGrad ? Tensor(shape: s.trunkInput.shape) : nil
        convFirst.backward(input: s.trunkInput.map, gradOutput: gradTrunk.map, gradInput: gradTrunkInput?.map)
        guard let gradTrunkInput else { return nil }
        let gradInput: Tensor
        switch scale {
        case 2: gradInput = Resize.pixelShuffle(gradTrunkInput, 2)
        case 1: gradInput = Resize.pixelShuffle(gradTrunkInput, 4)
        default: gradInput = gradTrunkInput
        }
        if let skip { gradInput.add(skip.backward(gradOutput, inputHeight: s.input.nchw.h, inputWidth: s.input.nchw.w)) }
        return gradInput
    }
}
