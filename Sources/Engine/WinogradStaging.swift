import COneDNN
import Foundation

/// How a convolution computes its result.
///
/// `direct`: oneDNN's direct kernels (brgconv / jit) on the channels-last activations as they are.
/// `winograd`: oneDNN's Winograd F(4x4, 3x3) kernels, which need about a third of the direct multiplies for a
/// 3x3 convolution (measured on AVX-512, fp32, 10x64x64x64: forward 2.4 vs 5.8 ms, backward data 2.4 vs 5.9,
/// backward weights 2.7 vs 6.1), but read and write oneDNN's blocked layout (N x C/16 x H x W x 16) and fuse
/// no LeakyReLU, scale or residual. The engine uses them for fp32 training (the adaptation steps), where
/// patches are small enough that staging into the blocked layout costs little; inference keeps the direct
/// kernels (their fused post-ops and no staging buffers). The results differ from the direct ones by
/// rounding only (about 2e-6 relative on that layer).
enum ConvAlgorithm: Sendable {
    case direct, winograd

    var dnnl: dnnl_alg_kind_t { self == .direct ? dnnl_convolution_direct : dnnl_convolution_winograd }
}

extension MemoryDescriptors {
    /// N x C x H x W fp32 stored blocked by 16 channels (oneDNN's nChw16c), as the Winograd kernels take it.
    static func blocked16(n: Int, c: Int, h: Int, w: Int) -> dnnl_memory_desc_t {
        describe([n, c, h, w], type: dnnl_f32, tag: dnnl_nChw16c)
    }
}

extension ComputeStream {
    /// The slot primitives' scratchpads use; convolutions stage blocked tensors in slots 0 and 1.
    static let scratchpadSlot = 2

    /// Scratch buffer `slot` of the calling thread, at least `byteCount` bytes. Primitives run one at a time
    /// on a thread, so each slot is free again when the primitive that used it returns; buffers grow to the
    /// largest request and are kept.
    func scratch(_ slot: Int, byteCount: Int) -> UnsafeMutableRawPointer {
        while scratchBuffers.count <= slot { scratchBuffers.append(nil) }
        if let buffer = scratchBuffers[slot], buffer.byteCount >= byteCount { return buffer.pointer }
        let buffer = MappedBuffer(byteCount: byteCount)
        scratchBuffers[slot] = buffer
        return buffer.pointer
    }
}

/// Page-aligned memory mapped for one owner, outside the allocator's heaps: scratch buffers that live as
/// long as their thread. Kept out of glibc's per-thread arenas, where a long-lived block of megabytes makes
/// the blocks a training step allocates and frees land in heaps that glibc unmaps once free and maps again
/// on the next step, faulting in their pages every time (measured in an ONSR scene: 490-680 thousand page
/// faults with the scratch on the heap, 250 thousand without).
final class MappedBuffer {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 1)
        guard let mapped = mmap(nil, self.byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("out of memory: mapping \(byteCount) bytes of scratch failed")
        }
        pointer = mapped
    }

    deinit { munmap(pointer, byteCount) }
}

/// Writes a convolution result from the blocked layout (N x C/16 x H x W x 16, fp32) into a channels-last fp32
/// activation, applying the post-ops a Winograd primitive cannot fuse in the order a direct primitive would:
/// the same values as the fused post-ops, one pass over memory.
enum BlockedEpilogue {
    private enum Step {
        case leakyReLU(Float), scale(Float), add(UnsafeMutablePointer<Float>)
    }

    static func write(_ blocked: UnsafePointer<Float>, into output: Activation, postOps: [ConvPostOp]) {
        precondition(output.type == .fp32 && output.c % 16 == 0, "blocked results are fp32 in whole 16-channel blocks")
        let steps: [Step] = postOps.map {
            switch $0 {
            case .leakyReLU(let slope): return .leakyReLU(slope)
            case .scale(let s): return .scale(s)
            case .add(let a):
                precondition(a.type == .fp32 && a.n == output.n && a.h == output.h && a.w == output.w && a.c == output.c,
                             "residual shape differs from the output")
                return .add(a.floats)
            }
        }
        let (h, w, c, blocks, out) = (output.h, output.w, output.c, output.c / 16, output.floats)
        Parallel.rows(output.n * h) { row in
            let (image, y) = row.quotientAndRemainder(dividingBy: h)
            for block in 0..<blocks {
                let source = UnsafeRawPointer(blocked + ((image * blocks + block) * h + y) * w * 16)
                let offset = row * w * c + block * 16
                for x in 0..<w {
                    var v = source.load(fromByteOffset: x * 64, as: SIMD16<Float>.self)
                    let at = offset + x * c
                    for step in steps {
                        switch step {
                        case .leakyReLU(let slope): v.replace(with: v * slope, where: v .< 0)
                        case .scale(let s): v *= s
                        case .add(let addend): v += UnsafeRawPointer(addend + at).loadUnaligned(as: SIMD16<Float>.self)
                        }
                    }
                    UnsafeMutableRawPointer(out + at).storeBytes(of: v, as: SIMD16<Float>.self)
                }
            }
        }
    }
}
