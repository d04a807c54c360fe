import Foundation

/// Adam exactly as PyTorch's `torch.optim.Adam` computes it (default, non-fused): per-parameter step
/// counts, bias corrections, eps added after the square root.
public final class Adam {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let parameters: [Parameter]
    private var state: [ObjectIdentifier: (step: Int, m: Tensor, v: Tensor)] = [:]

    public init(parameters: [Parameter], learningRate: Float, betas: (Float, Float) = (0.9, 0.999), epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        beta1 = betas.0
        beta2 = betas.1
        self.epsilon = epsilon
    }

    /// Adam over every parameter of `container`.
    public convenience init(_ container: ParameterContainer, learningRate: Float, betas: (Float, Float) = (0.9, 0.999)) {
        self.init(parameters: container.namedParameters().map(\.1), learningRate: learningRate, betas: betas)
    }

    /// Updates every trainable parameter that has a gradient.
    public func step() {
        for parameter in parameters where parameter.requiresGrad {
            guard let grad = parameter.grad else { continue }
            let id = ObjectIdentifier(parameter)
            var entry = state[id] ?? (0, Tensor(shape: parameter.value.shape), Tensor(shape: parameter.value.shape))
            entry.step += 1
            let correction1 = 1 - pow(Double(beta1), Double(entry.step))
            let correction2 = 1 - pow(Double(beta2), Double(entry.step))
            let stepSize = Float(Double(learningRate) / correction1)
            let root2 = Float(correction2.squareRoot())
            let (m, v, p, g) = (entry.m.data, entry.v.data, parameter.value.data, grad.data)
            let (b1, b2, eps) = (beta1, beta2, epsilon)
            for i in 0..<parameter.value.count {
                m[i] += (g[i] - m[i]) * (1 - b1)
                v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i]
                p[i] -= stepSize * m[i] / (v[i].squareRoot() / root2 + eps)
            }
            state[id] = entry
        }
    }

    /// Clears the gradients of all parameters.
    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// The optimiser's state for checkpoints: per parameter (by index) its step count, first and second moments.
    public func exportState() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        for (i, parameter) in parameters.enumerated() {
            guard let entry = state[ObjectIdentifier(parameter)] else { continue }
            result += [("adam.\(i).step", Tensor(shape: [1], values: [Float(entry.step)])), ("adam.\(i).m", entry.m), ("adam.\(i).v", entry.v)]
        }
        return result
    }

    /// Restores what `exportState` wrote.
    public func importState(_ tensors: [String: Tensor]) {
        for (i, parameter) in parameters.enumerated() {
            guard let step = tensors["adam.\(i).step"], let m = tensors["adam.\(i).m"], let v = tensors["adam.\(i).v"] else { continue }
            state[ObjectIdentifier(parameter)] = (Int(step[0]), m.copy(), v.copy())
        }
    }

    /// Forgets moments and step counts (a fresh start for a new adaptation).
    public func reset() { state.removeAll() }
}
