import COpenBLAS

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
        for r in 0..<batch { (y.data + r * outFeatures).update(from: bias.value.data, count: outFeatures) }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(outFeatures), Int32(inFeatures),
                    1, x.data, Int32(inFeatures), weight.value.data, Int32(inFeatures), 1, y.data, Int32(outFeatures))
        return y
    }

    /// Accumulates parameter gradients; returns the input gradient (same shape as `input`) when asked.
    public func backward(input: Tensor, gradOutput: Tensor, needInputGrad: Bool) -> Tensor? {
        let batch = input.count / inFeatures
        if weight.requiresGrad {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), Int32(batch),
                        1, gradOutput.data, Int32(outFeatures), input.data, Int32(inFeatures), 1, weight.gradient().data, Int32(inFeatures))
        }
        if bias.requiresGrad {
            let g = bias.gradient()
            for r in 0..<batch { for o in 0..<outFeatures { g[o] += gradOutput[r * outFeatures + o] } }
        }
        guard needInputGrad else { return nil }
        let gradInput = Tensor(shape: input.shape)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(batch), Int32(inFeatures), Int32(outFeatures),
                    1, gradOutput.data, Int32(outFeatures), weight.value.data, Int32(inFeatures), 0, gradInput.data, Int32(inFeatures))
        return gradInput
    }
}
