/// Fully connected layer, PyTorch's `nn.Linear`: y = x Wᵀ + b. Layout: x is N x in, W is out x in, y is N x out.
public final class Linear: ParameterContainer {
    public var weight: Parameter
    public var bias: Parameter
    public let inFeatures: Int
    public let outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, rng: inout SeededRandom) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        let w = Tensor(shape: [outFeatures, inFeatures]), b = Tensor(shape: [outFeatures])
        for i in 0..<w.count { w[i] = bound * (2 * rng.uniform() - 1) }
        for i in 0..<b.count { b[i] = bound * (2 * rng.uniform() - 1) }
        weight = Parameter(w)
        bias = Parameter(b)
    }

    public func namedParameters() -> [(String, Parameter)] { [("weight", weight), ("bias", bias)] }

    /// Forward on `batch` rows of `inFeatures` (any tensor whose size is batch * inFeatures).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let batch = x.count / inFeatures
        precondition(batch * inFeatures == x.count, "linear expects multiples of \(inFeatures) values, got \(x.count)")
        let y = Tensor(shape: [batch, outFeatures])
        // Dl's head is a few hundred inputs wide: plain dot products are off every hot path.
        for r in 0..<batch {
            let row = x.data + r * inFeatures
            for o in 0..<outFeatures {
                let w = weight.value.data + o * inFeatures
                var total = bias.value[o]
                for i in 0..<inFeatures { total += row[i] * w[i] }
                y[r * outFeatures + o] = total
            }
        }
        return y
    }

    /// Accumulates parameter gradients; returns the input gradient (same shape as `input`) when asked.
    public func backward(input: Tensor, gradOutput: Tensor, needInputGrad: Bool) -> Tensor? {
        let batch = input.count / inFeatures
        if weight.requiresGrad {
            let g = weight.gradient().data
            for r in 0..<batch {
                let row = input.data + r * inFeatures
                for o in 0..<outFeatures {
                    let d = gradOutput[r * outFeatures + o], target = g + o * inFeatures
                    for i in 0..<inFeatures { target[i] += d * row[i] }
                }
            }
        }
        if bias.requiresGrad {
            let g = bias.gradient()
            for r in 0..<batch { for o in 0..<outFeatures { g[o] += gradOutput[r * outFeatures + o] } }
        }
        guard needInputGrad else { return nil }
        let gradInput = Tensor(shape: input.shape)
        for r in 0..<batch {
            let target = gradInput.data + r * inFeatures
            for o in 0..<outFeatures {
                let d = gradOutput[r * outFeatures + o], w = weight.value.data + o * inFeatures
                for i in 0..<inFeatures { target[i] += d * w[i] }
            }
        }
        return gradInput
    }
}
