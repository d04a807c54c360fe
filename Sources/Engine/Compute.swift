import COneDNN

/// What oneDNN runs on this CPU: its version, the instruction set it dispatches to, and whether the CPU
/// computes bf16 natively (AVX512_BF16 or AMX), which is where `--precision auto` picks bf16.
public enum ComputeInfo {
    public static var version: String {
        let v = dnnl_version().pointee
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }

    /// oneDNN's name for the widest instruction set it uses here.
    public static var instructionSet: String {
        let isa = dnnl_get_effective_cpu_isa()
        switch isa {
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_sse41: return "sse41"
        default: return "isa \(isa.rawValue)"
        }
    }

    /// True where oneDNN has native bf16 kernels (AVX512_BF16 or AMX); elsewhere bf16 would be emulated.
    public static var hasNativeBF16: Bool {
        let isa = dnnl_get_effective_cpu_isa()
        return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx
    }
}

/// The precision inference runs in, as a user chooses it (`--precision`).
public enum Precision: String, CaseIterable, Codable, Sendable {
    /// bf16 where the CPU computes it natively (AVX512_BF16 or AMX), fp32 elsewhere. Measured faster on both
    /// kinds with native bf16 (README, Performance) and within 0.02 dB of fp32 on the benchmark.
    case auto
    case fp32
    case bf16

    /// The element type this choice means on this CPU.
    public var resolved: ElementType {
        switch self {
        case .fp32: return .fp32
        case .bf16: return .bf16
        case .auto: return ComputeInfo.hasNativeBF16 ? .bf16 : .fp32
        }
    }
}

/// What a run computed with, for reports and `--verbose`: the library, the CPU's instruction set as oneDNN sees
/// it, the inference precision and oneDNN's name for the convolution kernel it chose.
public struct ComputeReport: Codable, Sendable, CustomStringConvertible {
    public var library: String
    public var instructionSet: String
    public var precision: String
    public var kernel: String
    /// How idle OpenMP threads wait (`OpenMPWaiting.setting`): what decides the cost of sharing the cores.
    public var threadWaiting: String

    /// Probes the kernel a `channels` -> `channels` 3x3 convolution gets in `precision` (the trunk's shape).
    public init(precision: ElementType, channels: Int) {
        var rng = SeededRandom(seed: 0)
        let conv = Conv2d(channels, channels, kernelSize: 3, rng: &rng)
        library = ComputeInfo.version
        instructionSet = ComputeInfo.instructionSet
        self.precision = precision.rawValue
        kernel = conv.implementation(for: Activation(n: 1, h: 64, w: 64, c: channels, type: precision, zeroed: false))
        threadWaiting = OpenMPWaiting.setting
    }

    public var description: String { "\(library), \(instructionSet), inference \(precision) (\(kernel)), idle threads: \(threadWaiting)" }
}
