import Foundation

/// 2-D convolution (cross-correlation, as PyTorch's `nn.Conv2d`) with square kernels, stride, zero padding
/// and optional bias, computed by oneDNN primitives.
///
/// Layout: activations N x H x W x C (`Activation`, channels last) on the fast path; `callAsFunction(Tensor)`
/// and the `FeatureMap` backward take NCHW and transpose. Weights Cout x Cin x K x K (PyTorch's), bias Cout,
/// fp32 always. Primitives are created once per input shape, element type, post-op list and OpenMP thread
/// count (`Parallel.serially` lowers it), then cached:
/// oneDNN chooses its kernel from the CPU's features at run time (`implementation` names the choice).
/// A layer runs on one thread at a time: its cached primitives bind the caller's buffers for each call.
public final class Conv2d: ParameterContainer {
    public var weight: Parameter
    public var bias: Parameter?
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    /// The smallest convolution (multiply-adds per call) that trains on Winograd kernels; see
    /// `ConvShape.winogradShaped`. Tests lower it to reach that path on small shapes; plans already created
    /// keep their kernels.
    nonisolated(unsafe) public static var winogradMinimumWork = 40_000_000

    private var forwardPlans: [String: ForwardPlan] = [:]
    private var backwardDataPlans: [String: BackwardDataPlan] = [:]
    private var backwardWeightsPlans: [String: BackwardWeightsPlan] = [:]
    private let plansLock = NSLock()

    /// A conv initialised like PyTorch's default (uniform in +-1/sqrt(fan_in)), scaled by `scale`.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int? = nil,
                bias: Bool = true, scale: Float = 1, rng: inout SeededRandom) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding ?? kernelSize / 2
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        let w = Tensor(shape: [outChannels, inChannels, kernelSize, kernelSize])
        for i in 0..<w.count { w[i] = scale * bound * (2 * rng.uniform() - 1) }
        weight = Parameter(w)
        if bias {
            let b = Tensor(shape: [outChannels])
            for i in 0..<b.count { b[i] = scale * bound * (2 * rng.uniform() - 1) }
            self.bias = Parameter(b)
        }
    }

    public func namedParameters() -> [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Output height and width for an input of `height` x `width`.
    public func outputSize(height: Int, width: Int) -> (Int, Int) {
        ((height + 2 * padding - kernelSize) / stride + 1, (width + 2 * padding - kernelSize) / stride + 1)
    }

    private func shape(_ input: Activation) -> ConvShape {
        precondition(input.c == inChannels, "conv expects \(inChannels) input channels, got \(input.c)")
        let (oh, ow) = outputSize(height: input.h, width: input.w)
        precondition(oh > 0 && ow > 0, "conv \(kernelSize)x\(kernelSize)/\(stride) does not fit \(input.h)x\(input.w)")
        return ConvShape(input: input.descriptor, outChannels: outChannels, kernel: kernelSize, stride: stride, padding: padding)
    }

    /// Forward pass on channels-last activations: conv + bias, then `postOps` in the same primitive. The
    /// output has the input's element type unless `outputType` says otherwise. `training` selects oneDNN's
    /// training propagation (a later `backward` reuses its layouts).
    public func forward(_ input: Activation, postOps: [ConvPostOp] = [], outputType: ElementType? = nil,
                        training: Bool = false) -> Activation {
        let geometry = shape(input)
        let type = outputType ?? input.type
        let output = Activation(n: input.n, h: geometry.outHeight, w: geometry.outWidth, c: outChannels, type: type, zeroed: false)
        forwardPlan(geometry, outputType: type, postOps: postOps, training: training)
            .run(input: input, weights: weight.value, bias: bias?.value, output: output, postOps: postOps)
        return output
    }

    /// oneDNN's name for the forward kernel it runs on `input` (e.g. `brgconv:avx512_core`), in inference or,
    /// with `training`, in a training step (`jit_wino_4x3:avx512_core` where Winograd takes the shape).
    public func implementation(for input: Activation, outputType: ElementType? = nil, training: Bool = false) -> String {
        forwardPlan(shape(input), outputType: outputType ?? input.type, postOps: [], training: training).primitive.implementation
    }

    /// Backward pass on channels-last fp32 activations: accumulates the weight and bias gradients (when they
    /// require it) and returns the input gradient when `needInputGrad`. `input` is the forward pass's input.
    public func backward(input: Activation, gradOutput: Activation, needInputGrad: Bool) -> Activation? {
        let geometry = shape(input)
        precondition(input.type == .fp32 && gradOutput.type == .fp32, "backward passes are fp32")
        precondition(gradOutput.c == outChannels && gradOutput.h == geometry.outHeight && gradOutput.w == geometry.outWidth
                     && gradOutput.n == input.n, "conv gradient shape")
        let trainWeight = weight.requiresGrad, trainBias = bias?.requiresGrad ?? false
        if trainWeight || trainBias {
            backwardWeightsPlan(geometry).run(input: input, gradOutput: gradOutput, weightGrad: trainWeight ? weight.gradient() : nil,
                                              biasGrad: trainBias ? bias?.gradient() : nil)
        }
        guard needInputGrad else { return nil }
        let gradInput = input.emptyLike()
        backwardDataPlan(geometry).run(gradOutput: gradOutput, weights: weight.value, gradInput: gradInput)
        return gradInput
    }

    // MARK: NCHW entry points (networks that keep NCHW, and the tests)

    /// Forward pass of an NCHW tensor into a new NCHW tensor.
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(Activation(x)).tensor() }

    /// Backward pass on NCHW maps: accumulates parameter gradients and, when `gradInput` is given, adds the
    /// input gradient into it. `input` is the forward pass's input.
    public func backward(input: FeatureMap, gradOutput: FeatureMap, gradInput: FeatureMap?) {
        let gradIn = backward(input: Activation(input), gradOutput: Activation(gradOutput), needInputGrad: gradInput != nil)
        if let gradInput, let gradIn { gradIn.accumulate(into: gradInput) }
    }

    // MARK: Plans

    private func forwardPlan(_ geometry: ConvShape, outputType: ElementType, postOps: [ConvPostOp], training: Bool) -> ForwardPlan {
        let key = planKey(geometry) + ">\(outputType)" + (training ? "t" : "i") + postOps.map(\.signature).joined(separator: ",")
        return cached(&forwardPlans, key) {
            ForwardPlan(geometry, outputType: outputType, postOps: postOps, training: training, hasBias: bias != nil)
        }
    }

    private func backwardDataPlan(_ geometry: ConvShape) -> BackwardDataPlan {
        cached(&backwardDataPlans, planKey(geometry)) { BackwardDataPlan(geometry, hasBias: bias != nil) }
    }

    private func backwardWeightsPlan(_ geometry: ConvShape) -> BackwardWeightsPlan {
        cached(&backwardWeightsPlans, planKey(geometry)) { BackwardWeightsPlan(geometry, hasBias: bias != nil) }
    }

    /// What a primitive depends on besides the layer: the input's shape and type, and the calling thread's
    /// OpenMP thread count (oneDNN fixes its work split when a primitive is created).
    private func planKey(_ geometry: ConvShape) -> String {
        "\(geometry.input.n)x\(geometry.input.h)x\(geometry.input.w)x\(geometry.input.type)@\(OpenMP.maxThreads)"
            + (geometry.winogradShaped ? "w" : "")
    }

    private func cached<Plan>(_ plans: inout [String: Plan], _ key: String, _ make: () -> Plan) -> Plan {
        plansLock.lock()
        defer { plansLock.unlock() }
        if let plan = plans[key] { return plan }
        let plan = make()
        plans[key] = plan
        return plan
    }
}
