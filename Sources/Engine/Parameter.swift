/// A trainable tensor with its gradient. The gradient buffer exists only once a backward pass has asked
/// for it, so networks used forward-only (frozen, or inference) never allocate one.
public final class Parameter: @unchecked Sendable {
    public var value: Tensor
    /// Accumulated gradient, nil until the first backward pass that trains this parameter.
    public private(set) var grad: Tensor?
    /// When false, backward passes skip this parameter's gradient entirely.
    public var requiresGrad = true

    public init(_ value: Tensor) { self.value = value }

    /// The gradient buffer, created (zeroed) on first use.
    public func gradient() -> Tensor {
        if let grad { return grad }
        let created = Tensor(shape: value.shape)
        grad = created
        return created
    }

    /// Clears the accumulated gradient (keeps the buffer).
    public func zeroGrad() { grad?.zero() }
}

/// Anything with named parameters: layers and networks. Names follow BasicSR / PyTorch state-dict keys.
public protocol ParameterContainer: AnyObject {
    /// Every parameter with its full name, in a fixed order.
    func namedParameters() -> [(String, Parameter)]
}

extension ParameterContainer {
    /// Clears every gradient.
    public func zeroGrad() { namedParameters().forEach { $0.1.zeroGrad() } }

    /// Turns gradient computation for every parameter on or off.
    public func setTrainable(_ trainable: Bool) { namedParameters().forEach { $0.1.requiresGrad = trainable } }

    /// Number of scalar parameters.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.1.value.count } }
}

extension ParameterContainer {
    /// Copies of every parameter's value, in `namedParameters()` order: a snapshot to restore later.
    public func snapshot() -> [Tensor] { namedParameters().map { $0.1.value.copy() } }

    /// Overwrites every parameter's value with a snapshot of a container of the same architecture.
    public func restore(_ snapshot: [Tensor]) {
        let parameters = namedParameters()
        precondition(parameters.count == snapshot.count, "snapshot has \(snapshot.count) tensors, expected \(parameters.count)")
        for ((name, parameter), value) in zip(parameters, snapshot) {
            precondition(parameter.value.shape == value.shape, "\(name): snapshot shape \(value.shape), expected \(parameter.value.shape)")
            parameter.value.data.update(from: value.data, count: value.count)
        }
    }

    /// Sets every parameter to `start + weight · (end − start)`, two snapshots of this architecture: weight 0
    /// is `start`, 1 is `end` (interpolating a fine-tuned network back towards its pretrained weights).
    public func blend(from start: [Tensor], to end: [Tensor], weight: Float) {
        let parameters = namedParameters()
        precondition(parameters.count == start.count && start.count == end.count, "snapshots of another architecture")
        for ((name, parameter), (a, b)) in zip(parameters, zip(start, end)) {
            precondition(parameter.value.shape == a.shape && a.shape == b.shape, "\(name): snapshot shapes differ")
            let target = parameter.value.data
            for i in 0..<a.count { target[i] = a.data[i] + weight * (b.data[i] - a.data[i]) }
        }
    }
}
