import COneDNN
import Foundation

/// The element type of activations handed to oneDNN primitives.
public enum ElementType: String, Sendable {
    case fp32, bf16

    /// Bytes per element.
    public var size: Int { self == .fp32 ? 4 : 2 }

    var dnnl: dnnl_data_type_t { self == .fp32 ? dnnl_f32 : dnnl_bf16 }
}

/// Calls into oneDNN that fail are programming or installation errors (a shape the engine never asks for,
/// a library without the CPU engine): they stop the process with the failing call's name and status.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
    if status != dnnl_success { fatalError("oneDNN \(call()) failed with status \(status.rawValue)") }
}

/// oneDNN's CPU engine: one per process, created on first use.
final class ComputeEngine: @unchecked Sendable {
    let handle: dnnl_engine_t

    static let shared = ComputeEngine()

    private init() {
        var engine: dnnl_engine_t?
        dnnlCheck(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        handle = engine!
    }

    deinit { dnnl_engine_destroy(handle) }

    /// The calling thread's stream: streams are not shared between threads, so the adaptation thread and the
    /// inference thread of live mode each execute on their own.
    static var stream: ComputeStream {
        let key = "onsr.engine.dnnl-stream"
        if let existing = Thread.current.threadDictionary[key] as? ComputeStream { return existing }
        let created = ComputeStream(engine: shared)
        Thread.current.threadDictionary[key] = created
        return created
    }
}

/// An in-order oneDNN stream on the CPU engine; execution is synchronous.
final class ComputeStream {
    let handle: dnnl_stream_t
    private let engine: ComputeEngine
    /// The thread's staging buffers (`scratch(_:byteCount:)`).
    var scratchBuffers: [MappedBuffer?] = []

    init(engine: ComputeEngine) {
        self.engine = engine
        var stream: dnnl_stream_t?
        dnnlCheck(dnnl_stream_create(&stream, engine.handle, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        handle = stream!
    }

    deinit { dnnl_stream_destroy(handle) }
}

/// Memory descriptors in the layouts the engine uses.
enum MemoryDescriptors {
    /// N x C x H x W dimensions stored channels last (NHWC).
    static func channelsLast(n: Int, c: Int, h: Int, w: Int, type: ElementType) -> dnnl_memory_desc_t {
        describe([n, c, h, w], type: type.dnnl, tag: dnnl_nhwc)
    }

    /// Convolution weights Cout x Cin x K x K in PyTorch's order (oihw), fp32.
    static func pytorchWeights(_ shape: [Int]) -> dnnl_memory_desc_t { describe(shape, type: dnnl_f32, tag: dnnl_oihw) }

    /// Weights of `shape` in the layout the primitive chooses.
    static func anyWeights(_ shape: [Int], type: ElementType) -> dnnl_memory_desc_t {
        describe(shape, type: type.dnnl, tag: dnnl_format_tag_any)
    }

    /// A plain fp32 vector (bias).
    static func vector(_ count: Int) -> dnnl_memory_desc_t { describe([count], type: dnnl_f32, tag: dnnl_x) }

    static func describe(_ dims: [Int], type: dnnl_data_type_t, tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var d = [Int64](repeating: 0, count: 12)
        for (i, v) in dims.enumerated() { d[i] = Int64(v) }
        dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, type, tag), "dnnl_memory_desc_init_by_tag")
        return md
    }

    /// Bytes a buffer of this descriptor needs.
    static func size(_ md: dnnl_memory_desc_t) -> Int {
        var copy = md
        return dnnl_memory_desc_get_size(&copy)
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var (x, y) = (a, b)
        return dnnl_memory_desc_equal(&x, &y) != 0
    }
}

/// A oneDNN memory object with no buffer of its own: the caller binds a pointer before each execution.
final class BoundMemory {
    let handle: dnnl_memory_t
    let descriptor: dnnl_memory_desc_t

    init(_ descriptor: dnnl_memory_desc_t) {
        self.descriptor = descriptor
        var md = descriptor
        var memory: dnnl_memory_t?
        dnnlCheck(dnnl_memory_create(&memory, &md, ComputeEngine.shared.handle, onsr_dnnl_memory_none()), "dnnl_memory_create")
        handle = memory!
    }

    deinit { dnnl_memory_destroy(handle) }

    func bind(_ pointer: UnsafeMutableRawPointer) {
        dnnlCheck(dnnl_memory_set_data_handle(handle, pointer), "dnnl_memory_set_data_handle")
    }
}

/// A created primitive with its descriptor; `implementation` is oneDNN's name for the kernel it chose
/// (e.g. `brgconv:avx512_core_bf16`), which `--verbose`, reports and `--version` show.
///
/// Primitives are created with a user scratchpad: oneDNN's per-call scratch allocations would otherwise come
/// back from the allocator as fresh pages, faulted in on every call (measured: kernel page-fault time doubled
/// in an ONSR scene with Winograd's large scratchpads). Each execution gets the calling thread's buffer.
final class Primitive {
    let descriptor: dnnl_primitive_desc_t
    let handle: dnnl_primitive_t
    private let scratchpad: BoundMemory?

    /// Takes ownership of `descriptor`.
    init(descriptor: dnnl_primitive_desc_t) {
        self.descriptor = descriptor
        var primitive: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create")
        handle = primitive!
        let scratch = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
        scratchpad = MemoryDescriptors.size(scratch) > 0 ? BoundMemory(scratch) : nil
    }

    deinit {
        dnnl_primitive_destroy(handle)
        dnnl_primitive_desc_destroy(descriptor)
    }

    var implementation: String {
        var name: UnsafePointer<CChar>?
        dnnlCheck(dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name), "dnnl_primitive_desc_query")
        return name.map { String(cString: $0) } ?? "unknown"
    }

    /// The memory descriptor the primitive expects for execution argument `argument` (DNNL_ARG_*).
    func memoryDescriptor(_ argument: Int32) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, argument).pointee
    }

    func execute(_ arguments: [(Int32, BoundMemory)]) {
        var args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
        let stream = ComputeEngine.stream
        if let scratchpad {
            scratchpad.bind(stream.scratch(ComputeStream.scratchpadSlot, byteCount: MemoryDescriptors.size(scratchpad.descriptor)))
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad.handle))
        }
        dnnlCheck(dnnl_primitive_execute(handle, stream.handle, Int32(args.count), &args), "dnnl_primitive_execute")
    }
}

/// A layout (and type) conversion between two memory descriptors, created once.
final class Reorder {
    private let primitive: Primitive
    let source: BoundMemory, destination: BoundMemory

    init(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) {
        var (src, dst) = (source, destination)
        var pd: dnnl_primitive_desc_t?
        let engine = ComputeEngine.shared.handle
        var attributes: dnnl_primitive_attr_t?
        dnnlCheck(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode")
        dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, attributes), "dnnl_reorder_primitive_desc_create")
        primitive = Primitive(descriptor: pd!)
        self.source = BoundMemory(source)
        self.destination = BoundMemory(destination)
    }

    func run(from input: UnsafeMutableRawPointer, to output: UnsafeMutableRawPointer) {
        source.bind(input)
        destination.bind(output)
        primitive.execute([(Int32(DNNL_ARG_FROM), source), (Int32(DNNL_ARG_TO), destination)])
    }
}

/// A 64-byte-aligned byte buffer owned by the engine (reordered weights, gradients in oneDNN's layout).
final class AlignedBuffer {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 1)
        pointer = .allocate(byteCount: self.byteCount, alignment: 64)
    }

    deinit { pointer.deallocate() }
}
