import COneDNN
import Foundation

/// What a convolution's primitive does to its result before writing it (oneDNN post-ops), in order:
/// LeakyReLU, a scale, or the addition of a tensor of the output's shape (a residual). Fusing them saves a
/// pass over the output each.
public enum ConvPostOp {
    case leakyReLU(slope: Float)
    case scale(Float)
    case add(Activation)

    var signature: String {
        switch self {
        case .leakyReLU(let slope): return "l\(slope)"
        case .scale(let s): return "s\(s)"
        case .add(let a): return "a\(a.type.rawValue)"
        }
    }
}

/// The geometry of one convolution call, which fixes its primitives.
struct ConvShape: Hashable {
    let input: MemoryDescriptorKey
    let outChannels: Int, kernel: Int, stride: Int, padding: Int

    var outHeight: Int { (input.h + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (input.w + 2 * padding - kernel) / stride + 1 }
    var weightShape: [Int] { [outChannels, input.c, kernel, kernel] }

    func output(_ type: ElementType) -> dnnl_memory_desc_t {
        MemoryDescriptors.channelsLast(n: input.n, c: outChannels, h: outHeight, w: outWidth, type: type)
    }

    var source: dnnl_memory_desc_t { MemoryDescriptors.channelsLast(n: input.n, c: input.c, h: input.h, w: input.w, type: input.type) }

    /// The input as `algorithm`'s kernels read it: channels last (direct) or blocked (Winograd).
    func source(_ algorithm: ConvAlgorithm) -> dnnl_memory_desc_t {
        algorithm == .direct ? source : MemoryDescriptors.blocked16(n: input.n, c: input.c, h: input.h, w: input.w)
    }

    /// The output as `algorithm`'s kernels write it.
    func output(_ algorithm: ConvAlgorithm, type: ElementType) -> dnnl_memory_desc_t {
        algorithm == .direct ? output(type) : MemoryDescriptors.blocked16(n: input.n, c: outChannels, h: outHeight, w: outWidth)
    }

    /// Whether this convolution trains on oneDNN's Winograd F(4x4, 3x3) kernels: 3x3, stride 1, "same"
    /// padding, fp32, channel counts in whole 16-channel blocks (the blocked layout those kernels read and
    /// write), and at least `Conv2d.winogradMinimumWork` multiply-adds. Staging costs each call a few fixed tens of
    /// microseconds (three reorders and the epilogue); below that size the direct kernels finish first
    /// (measured on Zen 5 in an ONSR scene: 10x16x16 patches with 32 -> 16 channels, 12 M multiply-adds, no
    /// faster; 96 -> 32 channels, 71 M, 0.29 -> 0.18 ms forward).
    var winogradShaped: Bool {
        kernel == 3 && stride == 1 && padding == 1 && input.type == .fp32 && input.c % 16 == 0 && outChannels % 16 == 0
            && input.n * outHeight * outWidth * input.c * outChannels * 9 >= Conv2d.winogradMinimumWork
    }

    /// Strides and left / right padding as oneDNN takes them; the right padding makes the output size PyTorch's
    /// floor division.
    private var window: (strides: [Int64], left: [Int64], right: [Int64]) {
        ([Int64(stride), Int64(stride)], [Int64(padding), Int64(padding)],
         [Int64((outHeight - 1) * stride + kernel - input.h - padding), Int64((outWidth - 1) * stride + kernel - input.w - padding)])
    }

    /// oneDNN's forward convolution descriptor.
    func descriptor(_ kind: dnnl_prop_kind_t, algorithm: ConvAlgorithm = .direct, weights: dnnl_memory_desc_t,
                    outputType: ElementType, bias: Bool) -> dnnl_convolution_desc_t {
        var (src, wei, dst, b) = (source(algorithm), weights, output(algorithm, type: outputType), MemoryDescriptors.vector(outChannels))
        var (strides, left, right) = window
        var desc = dnnl_convolution_desc_t()
        let status = bias
            ? dnnl_convolution_forward_desc_init(&desc, kind, algorithm.dnnl, &src, &wei, &b, &dst, &strides, &left, &right)
            : dnnl_convolution_forward_desc_init(&desc, kind, algorithm.dnnl, &src, &wei, nil, &dst, &strides, &left, &right)
        dnnlCheck(status, "dnnl_convolution_forward_desc_init")
        return desc
    }

    func backwardDataDescriptor(algorithm: ConvAlgorithm, weights: dnnl_memory_desc_t) -> dnnl_convolution_desc_t {
        var (src, wei, dst) = (source(algorithm), weights, output(algorithm, type: .fp32))
        var (strides, left, right) = window
        var desc = dnnl_convolution_desc_t()
        dnnlCheck(dnnl_convolution_backward_data_desc_init(&desc, algorithm.dnnl, &src, &wei, &dst, &strides, &left, &right),
                  "dnnl_convolution_backward_data_desc_init")
        return desc
    }

    func backwardWeightsDescriptor(algorithm: ConvAlgorithm, weights: dnnl_memory_desc_t, bias: Bool) -> dnnl_convolution_desc_t {
        var (src, wei, dst, b) = (source(algorithm), weights, output(algorithm, type: .fp32), MemoryDescriptors.vector(outChannels))
        var (strides, left, right) = window
        var desc = dnnl_convolution_desc_t()
        let status = bias
            ? dnnl_convolution_backward_weights_desc_init(&desc, algorithm.dnnl, &src, &wei, &b, &dst, &strides, &left, &right)
            : dnnl_convolution_backward_weights_desc_init(&desc, algorithm.dnnl, &src, &wei, nil, &dst, &strides, &left, &right)
        dnnlCheck(status, "dnnl_convolution_backward_weights_desc_init")
        return desc
    }

    /// A backward primitive for `desc` (data or weights), with the fp32 training forward it follows as the hint
    /// oneDNN needs to agree on layouts; nil where oneDNN has no implementation of `algorithm` for it here.
    func backwardPrimitive(_ desc: inout dnnl_convolution_desc_t, algorithm: ConvAlgorithm, hasBias: Bool) -> Primitive? {
        var forward = descriptor(dnnl_forward_training, algorithm: algorithm,
                                 weights: MemoryDescriptors.anyWeights(weightShape, type: .fp32), outputType: .fp32, bias: hasBias)
        guard let hint = ConvShape.tryCreate(&forward) else { return nil }
        defer { dnnl_primitive_desc_destroy(hint) }
        return ConvShape.tryCreate(&desc, hint: hint).map { Primitive(descriptor: $0) }
    }

    /// The backward data primitive on `algorithm`, or nil where oneDNN has none.
    func backwardDataPrimitive(_ algorithm: ConvAlgorithm, hasBias: Bool) -> Primitive? {
        var desc = backwardDataDescriptor(algorithm: algorithm, weights: MemoryDescriptors.anyWeights(weightShape, type: .fp32))
        return backwardPrimitive(&desc, algorithm: algorithm, hasBias: hasBias)
    }

    /// The backward weights primitive on `algorithm`, or nil where oneDNN has none.
    func backwardWeightsPrimitive(_ algorithm: ConvAlgorithm, hasBias: Bool) -> Primitive? {
        var desc = backwardWeightsDescriptor(algorithm: algorithm, weights: MemoryDescriptors.anyWeights(weightShape, type: .fp32), bias: hasBias)
        return backwardPrimitive(&desc, algorithm: algorithm, hasBias: hasBias)
    }

    /// The direct kernels exist for every shape the engine asks for: their absence is an installation error.
    static func required(_ primitive: Primitive?) -> Primitive {
        guard let primitive else { fatalError("oneDNN dnnl_primitive_desc_create (convolution) found no implementation") }
        return primitive
    }

    /// A primitive descriptor for `desc`, optionally with attributes and a forward hint.
    static func create(_ desc: inout dnnl_convolution_desc_t, attributes: dnnl_primitive_attr_t? = nil,
                       hint: dnnl_primitive_desc_t? = nil) -> dnnl_primitive_desc_t {
        guard let pd = tryCreate(&desc, attributes: attributes, hint: hint) else {
            fatalError("oneDNN dnnl_primitive_desc_create (convolution) found no implementation")
        }
        return pd
    }

    /// A primitive descriptor for `desc`, or nil where oneDNN has no implementation for it on this CPU. Its
    /// scratchpad is the caller's (`Primitive.execute` passes the thread's), never allocated per call.
    static func tryCreate(_ desc: inout dnnl_convolution_desc_t, attributes: dnnl_primitive_attr_t? = nil,
                          hint: dnnl_primitive_desc_t? = nil) -> dnnl_primitive_desc_t? {
        var owned: dnnl_primitive_attr_t?
        if attributes == nil { dnnlCheck(dnnl_primitive_attr_create(&owned), "dnnl_primitive_attr_create") }
        defer { if let owned { dnnl_primitive_attr_destroy(owned) } }
        let attributes = attributes ?? owned
        dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode")
        var pd: dnnl_primitive_desc_t?
        let status = dnnl_primitive_desc_create(&pd, &desc, attributes, ComputeEngine.shared.handle, hint)
        if status == dnnl_unimplemented { return nil }
        dnnlCheck(status, "dnnl_primitive_desc_create (convolution)")
        return pd
    }
}

/// Weights in PyTorch's layout (fp32 oihw) reordered into the layout and type a primitive chose. The
/// parameters change between calls (optimiser steps, blending), so the reorder runs on every call; it
/// touches only the weights.
final class WeightFeed {
    let memory: BoundMemory
    private let reorder: Reorder
    private let buffer: AlignedBuffer

    init(shape: [Int], into descriptor: dnnl_memory_desc_t) {
        reorder = Reorder(from: MemoryDescriptors.pytorchWeights(shape), to: descriptor)
        buffer = AlignedBuffer(byteCount: MemoryDescriptors.size(descriptor))
        memory = BoundMemory(descriptor)
        memory.bind(buffer.pointer)
    }

    func load(_ weights: Tensor) { reorder.run(from: UnsafeMutableRawPointer(weights.data), to: buffer.pointer) }
}

/// Forward convolution (inference or training) with its post-ops, created once per shape.
///
/// Training forwards that Winograd can take run on it: the input is staged into the blocked layout in the
/// calling thread's scratch, and the post-ops (which those kernels cannot fuse) run in `BlockedEpilogue`
/// as the result is written back channels last.
final class ForwardPlan {
    let primitive: Primitive
    let algorithm: ConvAlgorithm
    private let source: BoundMemory, bias: BoundMemory, destination: BoundMemory
    private let weights: WeightFeed
    private let addends: [(Int32, BoundMemory)]
    private let staging: Reorder?

    init(_ shape: ConvShape, outputType: ElementType, postOps: [ConvPostOp], training: Bool, hasBias: Bool) {
        bias = BoundMemory(MemoryDescriptors.vector(shape.outChannels))
        if training && outputType == .fp32 && shape.winogradShaped, let winograd = ForwardPlan.winograd(shape, hasBias: hasBias) {
            algorithm = .winograd
            primitive = Primitive(descriptor: winograd)
            addends = []
            staging = Reorder(from: shape.source, to: shape.source(.winograd))
        } else {
            algorithm = .direct
            (primitive, addends) = ForwardPlan.direct(shape, outputType: outputType, postOps: postOps, training: training, hasBias: hasBias)
            staging = nil
        }
        source = BoundMemory(shape.source(algorithm))
        destination = BoundMemory(shape.output(algorithm, type: outputType))
        weights = WeightFeed(shape: shape.weightShape, into: primitive.memoryDescriptor(Int32(DNNL_ARG_WEIGHTS)))
    }

    private static func winograd(_ shape: ConvShape, hasBias: Bool) -> dnnl_primitive_desc_t? {
        var desc = shape.descriptor(dnnl_forward_training, algorithm: .winograd,
                                    weights: MemoryDescriptors.anyWeights(shape.weightShape, type: .fp32), outputType: .fp32, bias: hasBias)
        return ConvShape.tryCreate(&desc)
    }

    private static func direct(_ shape: ConvShape, outputType: ElementType, postOps: [ConvPostOp], training: Bool,
                               hasBias: Bool) -> (Primitive, [(Int32, BoundMemory)]) {
        var desc = shape.descriptor(training ? dnnl_forward_training : dnnl_forward_inference,
                                    weights: MemoryDescriptors.anyWeights(shape.weightShape, type: shape.input.type),
                                    outputType: outputType, bias: hasBias)
        var attributes: dnnl_primitive_attr_t?
        var ops: dnnl_post_ops_t?
        dnnlCheck(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        dnnlCheck(dnnl_post_ops_create(&ops), "dnnl_post_ops_create")
        defer { dnnl_post_ops_destroy(ops); dnnl_primitive_attr_destroy(attributes) }
        var addends: [(Int32, BoundMemory)] = []
        for (index, op) in postOps.enumerated() {
            switch op {
            case .leakyReLU(let slope):
                dnnlCheck(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, slope, 0), "dnnl_post_ops_append_eltwise")
            case .scale(let s):
                dnnlCheck(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_linear, s, 0), "dnnl_post_ops_append_eltwise")
            case .add(let a):
                var md = shape.output(a.type)
                dnnlCheck(dnnl_post_ops_append_binary(ops, dnnl_binary_add, &md), "dnnl_post_ops_append_binary")
                addends.append((onsr_dnnl_arg_post_op_src1(Int32(index)), BoundMemory(md)))
            }
        }
        dnnlCheck(dnnl_primitive_attr_set_post_ops(attributes, ops), "dnnl_primitive_attr_set_post_ops")
        return (Primitive(descriptor: ConvShape.create(&desc, attributes: attributes)), addends)
    }

    func run(input: Activation, weights value: Tensor, bias biasValue: Tensor?, output: Activation, postOps: [ConvPostOp]) {
        for op in postOps {
            guard case .add(let a) = op else { continue }
            precondition(a.n == output.n && a.h == output.h && a.w == output.w && a.c == output.c, "residual shape differs from the output")
        }
        weights.load(value)
        var arguments: [(Int32, BoundMemory)] = [(Int32(DNNL_ARG_SRC), source), (Int32(DNNL_ARG_WEIGHTS), weights.memory),
                                                 (Int32(DNNL_ARG_DST), destination)]
        if let biasValue {
            bias.bind(UnsafeMutableRawPointer(biasValue.data))
            arguments.append((Int32(DNNL_ARG_BIAS), bias))
        }
        if let staging {
            let stream = ComputeEngine.stream
            let staged = stream.scratch(0, byteCount: MemoryDescriptors.size(source.descriptor))
            let result = stream.scratch(1, byteCount: MemoryDescriptors.size(destination.descriptor))
            staging.run(from: input.raw, to: staged)
            source.bind(staged)
            destination.bind(result)
            primitive.execute(arguments)
            BlockedEpilogue.write(UnsafePointer(result.assumingMemoryBound(to: Float.self)), into: output, postOps: postOps)
            return
        }
        source.bind(input.raw)
        destination.bind(output.raw)
        var next = 0
        for op in postOps {
            guard case .add(let a) = op else { continue }
            addends[next].1.bind(a.raw)
            arguments.append(addends[next])
            next += 1
        }
        primitive.execute(arguments)
    }
}

/// The gradient of the input (backward data), fp32, created once per shape; on Winograd where the shape
/// allows it, the output gradient staged into the blocked layout and the input gradient reordered back.
final class BackwardDataPlan {
    let primitive: Primitive
    let algorithm: ConvAlgorithm
    private let gradSource: BoundMemory, gradDestination: BoundMemory
    private let weights: WeightFeed
    private let staging: (gradOutput: Reorder, gradInput: Reorder)?

    init(_ shape: ConvShape, hasBias: Bool) {
        if shape.winogradShaped, let winograd = shape.backwardDataPrimitive(.winograd, hasBias: hasBias) {
            algorithm = .winograd
            primitive = winograd
            staging = (Reorder(from: shape.output(.fp32), to: shape.output(.winograd, type: .fp32)),
                       Reorder(from: shape.source(.winograd), to: shape.source))
        } else {
            algorithm = .direct
            primitive = ConvShape.required(shape.backwardDataPrimitive(.direct, hasBias: hasBias))
            staging = nil
        }
        gradSource = BoundMemory(shape.source(algorithm))
        gradDestination = BoundMemory(shape.output(algorithm, type: .fp32))
        weights = WeightFeed(shape: shape.weightShape, into: primitive.memoryDescriptor(Int32(DNNL_ARG_WEIGHTS)))
    }

    func run(gradOutput: Activation, weights value: Tensor, gradInput: Activation) {
        weights.load(value)
        let arguments = [(Int32(DNNL_ARG_DIFF_DST), gradDestination), (Int32(DNNL_ARG_WEIGHTS), weights.memory),
                         (Int32(DNNL_ARG_DIFF_SRC), gradSource)]
        guard let staging else {
            gradDestination.bind(gradOutput.raw)
            gradSource.bind(gradInput.raw)
            primitive.execute(arguments)
            return
        }
        let stream = ComputeEngine.stream
        let staged = stream.scratch(0, byteCount: MemoryDescriptors.size(gradDestination.descriptor))
        let result = stream.scratch(1, byteCount: MemoryDescriptors.size(gradSource.descriptor))
        staging.gradOutput.run(from: gradOutput.raw, to: staged)
        gradDestination.bind(staged)
        gradSource.bind(result)
        primitive.execute(arguments)
        staging.gradInput.run(from: result, to: gradInput.raw)
    }
}

/// The gradients of the weights and bias (backward weights), fp32, created once per shape (on Winograd
/// where the shape allows it, its inputs staged into the blocked layout). oneDNN writes them in its own
/// layout; they are reordered to PyTorch's and added to the parameters' gradients.
final class BackwardWeightsPlan {
    let primitive: Primitive
    let algorithm: ConvAlgorithm
    private let source: BoundMemory, gradDestination: BoundMemory, gradWeights: BoundMemory, gradBias: BoundMemory
    private let weightBuffer: AlignedBuffer, biasBuffer: AlignedBuffer
    private let toPyTorch: Reorder
    private let staging: (input: Reorder, gradOutput: Reorder)?
    private let plain: Tensor
    private let hasBias: Bool

    init(_ shape: ConvShape, hasBias: Bool) {
        if shape.winogradShaped, let winograd = shape.backwardWeightsPrimitive(.winograd, hasBias: hasBias) {
            algorithm = .winograd
            primitive = winograd
            staging = (Reorder(from: shape.source, to: shape.source(.winograd)),
                       Reorder(from: shape.output(.fp32), to: shape.output(.winograd, type: .fp32)))
        } else {
            algorithm = .direct
            primitive = ConvShape.required(shape.backwardWeightsPrimitive(.direct, hasBias: hasBias))
            staging = nil
        }
        let chosen = primitive.memoryDescriptor(Int32(DNNL_ARG_DIFF_WEIGHTS))
        source = BoundMemory(shape.source(algorithm))
        gradDestination = BoundMemory(shape.output(algorithm, type: .fp32))
        gradWeights = BoundMemory(chosen)
        weightBuffer = AlignedBuffer(byteCount: MemoryDescriptors.size(chosen))
        gradWeights.bind(weightBuffer.pointer)
        gradBias = BoundMemory(MemoryDescriptors.vector(shape.outChannels))
        biasBuffer = AlignedBuffer(byteCount: shape.outChannels * 4)
        gradBias.bind(biasBuffer.pointer)
        toPyTorch = Reorder(from: chosen, to: MemoryDescriptors.pytorchWeights(shape.weightShape))
        plain = Tensor(shape: shape.weightShape)
        self.hasBias = hasBias
    }

    /// Adds this call's gradients to `weightGrad` (and `biasGrad`, when given).
    func run(input: Activation, gradOutput: Activation, weightGrad: Tensor?, biasGrad: Tensor?) {
        if let staging {
            let stream = ComputeEngine.stream
            let stagedInput = stream.scratch(0, byteCount: MemoryDescriptors.size(source.descriptor))
            let stagedGrad = stream.scratch(1, byteCount: MemoryDescriptors.size(gradDestination.descriptor))
            staging.input.run(from: input.raw, to: stagedInput)
            staging.gradOutput.run(from: gradOutput.raw, to: stagedGrad)
            source.bind(stagedInput)
            gradDestination.bind(stagedGrad)
        } else {
            source.bind(input.raw)
            gradDestination.bind(gradOutput.raw)
        }
        var arguments: [(Int32, BoundMemory)] = [(Int32(DNNL_ARG_SRC), source), (Int32(DNNL_ARG_DIFF_DST), gradDestination),
                                                 (Int32(DNNL_ARG_DIFF_WEIGHTS), gradWeights)]
        if hasBias { arguments.append((Int32(DNNL_ARG_DIFF_BIAS), gradBias)) }
        primitive.execute(arguments)
        if let weightGrad {
            toPyTorch.run(from: weightBuffer.pointer, to: UnsafeMutableRawPointer(plain.data))
            weightGrad.add(plain)
        }
        if let biasGrad {
            let b = biasBuffer.pointer.assumingMemoryBound(to: Float.self)
            for i in 0..<biasGrad.count { biasGrad[i] += b[i] }
        }
    }
}
