/// BasicSR's `ResidualDenseBlock`: five 3x3 convs with dense connections, LeakyReLU(0.2) after the first
/// four, output = conv5(...) * 0.2 + input.
///
/// The dense concatenation is one buffer of N x (nf + 4 gc) x H x W: the input sits in the first nf channels
/// and each conv writes its output into the next gc-channel slice, while reading all channels before it.
/// The same layout carries gradients backwards, so no concatenation or split ever copies.
public final class ResidualDenseBlock: ParameterContainer {
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, conv4: Conv2d, conv5: Conv2d
    public let features: Int
    public let growth: Int
    private var saved: Tensor?

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

    /// Forward; with `saving` the dense buffer is kept for `backward`.
    public func forward(_ x: Tensor, saving: Bool) -> Tensor {
        let (n, c, h, w) = x.nchw
        precondition(c == features, "dense block expects \(features) channels, got \(c)")
        let buffer = Tensor(shape: [n, features + 4 * growth, h, w])
        let dense = buffer.map
        Elementwise.copy(x.map, into: dense.channels(0..<features))
        for (i, conv) in convs.prefix(4).enumerated() {
            let start = features + i * growth
            let slice = dense.channels(start..<(start + growth))
            conv.forward(dense.channels(0..<start), into: slice)
            Elementwise.leakyReLU(slice)
        }
        let out = Tensor(shape: [n, features, h, w])
        conv5.forward(dense, into: out.map)
        Elementwise.axpby(x.map, 1, into: out.map, 0.2)
        saved = saving ? buffer : nil
        return out
    }

    /// Backward from the output gradient; returns the input gradient.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let buffer = saved else { preconditionFailure("backward without a saving forward pass") }
        let (n, _, h, w) = gradOutput.nchw
        let grad = Tensor(shape: buffer.shape)
        let dense = buffer.map, gradDense = grad.map
        let scaled = gradOutput.copy()
        for i in 0..<scaled.count { scaled[i] *= 0.2 }
        conv5.backward(input: dense, gradOutput: scaled.map, gradInput: gradDense)
        for (i, conv) in convs.prefix(4).enumerated().reversed() {
            let start = features + i * growth
            let slice = dense.channels(start..<(start + growth)), gradSlice = gradDense.channels(start..<(start + growth))
            Elementwise.leakyReLUBackward(output: slice, grad: gradSlice)
            conv.backward(input: dense.channels(0..<start), gradOutput: gradSlice, gradInput: gradDense.channels(0..<start))
        }
        let gradInput = Tensor(shape: [n, features, h, w])
        Elementwise.copy(gradDense.channels(0..<features), into: gradInput.map)
        gradInput.add(gradOutput)
        saved = nil
        return gradInput
    }
}

/// BasicSR's `RRDB`: three dense blocks, output = rdb3(rdb2(rdb1(x))) * 0.2 + x.
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

    public func forward(_ x: Tensor, saving: Bool) -> Tensor {
        let out = rdb3.forward(rdb2.forward(rdb1.forward(x, saving: saving), saving: saving), saving: saving)
        Elementwise.axpby(x.map, 1, into: out.map, 0.2)
        return out
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let scaled = gradOutput.copy()
        for i in 0..<scaled.count { scaled[i] *= 0.2 }
        let gradInput = rdb1.backward(rdb2.backward(rdb3.backward(scaled)))
        gradInput.add(gradOutput)
        return gradInput
    }
}
