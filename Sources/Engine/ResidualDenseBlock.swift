/// BasicSR's `ResidualDenseBlock`: five 3x3 convs with dense connections, LeakyReLU(0.2) after the first
/// four, output = conv5(...) * 0.2 + input.
///
/// Layout: channels last (`Activation`). The dense concatenation is one buffer of nf + 4 gc channels: the
/// input sits in the first nf, each conv's output is copied into the next gc-channel slice, and conv k reads
/// a dense copy of the first nf + (k-1) gc channels (oneDNN's fast kernels want dense inputs; the copies cost
/// a small share of the convs). LeakyReLU and the residual run inside the convs as post-ops.
public final class ResidualDenseBlock: ParameterContainer {
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, conv4: Conv2d, conv5: Conv2d
    public let features: Int
    public let growth: Int
    private var saved: [Activation]?

    public init(features: Int, growth: Int, rng: inout SeededRandom) {
        self.features = features
        self.growth = growth
        conv1 = Conv2d(features, growth, kernelSize: 3, scale: 0.1, rng: &rng)
        conv2 = Conv2d(features + growth, growth, kernelSize: 3, scale: 0.1, rng: &rng)
        conv3 = Conv2d(features + 2 * growth, growth, kernelSize: 3, scale: 0.1, rng: &rng)
        conv4 = Conv2d(features + 3 * growth, growth, kernelSize: 3, scale: 0.1, rng: &rng)
        conv5 = Conv2d(features + 4 * growth, features, kernelSize: 3, scale: 0.1, rng: &rng)
    }

    var convs: [Conv2d] { [conv1, conv2, conv3, conv4, conv5] }

    public func namedParameters() -> [(String, Parameter)] {
        convs.enumerated().flatMap { i, conv in conv.namedParameters().map { ("conv\(i + 1).\($0.0)", $0.1) } }
    }

    /// Forward; with `saving` the convs' inputs are kept for `backward`. With `outer` (the enclosing RRDB's
    /// input) the RRDB's own residual is fused too: the result is (conv5 * 0.2 + x) * 0.2 + outer.
    public func forward(_ x: Activation, outer: Activation? = nil, saving: Bool) -> Activation {
        precondition(x.c == features, "dense block expects \(features) channels, got \(x.c)")
        let dense = x.emptyLike(channels: features + 4 * growth)
        ChannelsLast.copyChannels(x, 0..<features, into: dense, at: 0)
        var inputs = [x]
        for (i, conv) in convs.prefix(4).enumerated() {
            let start = features + i * growth
            let input = i == 0 ? x : ChannelsLast.slice(dense, 0..<start)
            if i > 0 { inputs.append(input) }
            let y = conv.forward(input, postOps: [.leakyReLU(slope: 0.2)], training: saving)
            ChannelsLast.copyChannels(y, 0..<growth, into: dense, at: start)
        }
        inputs.append(dense)
        var residual: [ConvPostOp] = [.scale(0.2), .add(x)]
        if let outer { residual += [.scale(0.2), .add(outer)] }
        let out = conv5.forward(dense, postOps: residual, training: saving)
        saved = saving ? inputs : nil
        return out
    }

    /// Backward from the gradient of conv5 * 0.2 + x; returns the input gradient.
    public func backward(_ gradOutput: Activation) -> Activation {
        guard let inputs = saved else { preconditionFailure("backward without a saving forward pass") }
        saved = nil
        let dense = inputs[4]
        let gradDense = conv5.backward(input: dense, gradOutput: ChannelsLast.scaled(gradOutput, 0.2), needInputGrad: true)!
        for (i, conv) in convs.prefix(4).enumerated().reversed() {
            let start = features + i * growth
            let gradY = ChannelsLast.leakyReLUGradient(gradDense, output: dense, channels: start..<(start + growth))
            let gradInput = conv.backward(input: inputs[i], gradOutput: gradY, needInputGrad: true)!
            ChannelsLast.addChannels(gradInput, into: gradDense, at: 0)
        }
        let gradInput = ChannelsLast.slice(gradDense, 0..<features)
        ChannelsLast.add(gradOutput, into: gradInput)
        return gradInput
    }
}

/// BasicSR's `RRDB`: three dense blocks, output = rdb3(rdb2(rdb1(x))) * 0.2 + x (fused into rdb3's last conv).
public final class RRDB: ParameterContainer {
    public let rdb1: ResidualDenseBlock, rdb2: ResidualDenseBlock, rdb3: ResidualDenseBlock

    public init(features: Int, growth: Int, rng: inout SeededRandom) {
        rdb1 = ResidualDenseBlock(features: features, growth: growth, rng: &rng)
        rdb2 = ResidualDenseBlock(features: features, growth: growth, rng: &rng)
        rdb3 = ResidualDenseBlock(features: features, growth: growth, rng: &rng)
    }

    public func namedParameters() -> [(String, Parameter)] {
        [("rdb1", rdb1), ("rdb2", rdb2), ("rdb3", rdb3)].flatMap { name, block in
            block.namedParameters().map { ("\(name).\($0.0)", $0.1) }
        }
    }

    public func forward(_ x: Activation, saving: Bool) -> Activation {
        rdb3.forward(rdb2.forward(rdb1.forward(x, saving: saving), saving: saving), outer: x, saving: saving)
    }

    public func backward(_ gradOutput: Activation) -> Activation {
        let gradInput = rdb1.backward(rdb2.backward(rdb3.backward(ChannelsLast.scaled(gradOutput, 0.2))))
        ChannelsLast.add(gradOutput, into: gradInput)
        return gradInput
    }
}
