#if canImport(Glibc)
import CMalloc
#endif

/// Process-wide allocator settings for a program that allocates frame-sized buffers at video rate.
public enum MemoryTuning {
    /// Keeps frame buffers (up to 256 MiB) in the heap instead of fresh mmaps, and stops glibc from
    /// returning freed heap to the system after every frame: both cost a page fault per 4 KiB per frame.
    /// Peak memory is unchanged, since the frames in flight are bounded by the pipeline's queues.
    public static func reuseLargeBuffers() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 512 << 20)
        #endif
    }
}
