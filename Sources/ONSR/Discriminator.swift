import Engine

/// Dl, a VGG-style discriminator for 32 x 32 LR patches: pairs of (3x3 conv, 4x4 stride-2 conv) with
/// LeakyReLU(0.2), 32 -> 16 -> 8 -> 4, then one linear layer to a logit. Names follow BasicSR's
/// VGG-style discriminator (`conv0_0`, `conv0_1`, ..., `linear`), without batch norm.
/// Layout: N x 3 x 32 x 32 in, N x 1 logits out.
public final class Discriminator: ParameterContainer {
    public let convs: [Conv2d]
    public let linear: Linear
    public let features: Int
    public static let patchSize = 32
    private var saved: (activations: [Activation], flattened: Tensor)?

    public init(features: Int = 32, channels: Int = 3, seed: UInt64 = 0) {
        self.features = features
        var rng = SeededRandom(seed: seed)
        var layers: [Conv2d] = []
        var inChannels = channels
        for stage in 0..<3 {
            let out = features << stage
            layers.append(Conv2d(inChannels, out, kernelSize: 3, padding: 1, rng: &rng))
            layers.append(Conv2d(out, out, kernelSize: 4, stride: 2, padding: 1, rng: &rng))
            inChannels = out
        }
        convs = layers
        linear = Linear(inChannels * 16, 1, rng: &rng)
    }

    public func namedParameters() -> [(String, Parameter)] {
        var result: [(String, Parameter)] = []
        for (i, conv) in convs.enumerated() {
            result += conv.namedParameters().map { ("conv\(i / 2)_\(i % 2).\($0.0)", $0.1) }
        }
        return result + linear.namedParameters().map { ("linear.\($0.0)", $0.1) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, saving: false) }

    /// Channels last inside (LeakyReLU fused into each conv); the last feature map goes to `linear` in NCHW
    /// order, as BasicSR flattens it.
    public func forward(_ x: Tensor, saving: Bool) -> Tensor {
        let (_, _, h, w) = x.nchw
        precondition(h == Discriminator.patchSize && w == Discriminator.patchSize, "Dl takes 32x32 patches, got \(h)x\(w)")
        var current = Activation(x)
        var kept = [current]
        for conv in convs {
            current = conv.forward(current, postOps: [.leakyReLU(slope: 0.2)], training: saving)
            kept.append(current)
        }
        let flattened = current.tensor()
        saved = saving ? (kept, flattened) : nil
        return linear(flattened)
    }

    /// Accumulates gradients of trainable parameters; returns the input gradient when asked (for training Gd
    /// through Dl, the GAN term).
    @discardableResult
    public func backward(_ gradOutput: Tensor, needInputGrad: Bool = false) -> Tensor? {
        guard let (activations, flattened) = saved else { preconditionFailure("backward without a saving forward pass") }
        saved = nil
        var grad = Activation(linear.backward(input: flattened, gradOutput: gradOutput, needInputGrad: true)!)
        for i in convs.indices.reversed() {
            let output = activations[i + 1]
            let gradY = ChannelsLast.leakyReLUGradient(grad, output: output, channels: 0..<output.c)
            let gradInput = convs[i].backward(input: activations[i], gradOutput: gradY, needInputGrad: i > 0 || needInputGrad)
            if let gradInput { grad = gradInput }
        }
        return needInputGrad ? grad.tensor() : nil
    }
}
