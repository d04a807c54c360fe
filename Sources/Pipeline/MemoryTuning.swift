#if canImport(Glibc)
import CMalloc
#endif

/// Process-wide allocator settings for a program that allocates frame-sized buffers at video rate.
public enum MemoryTuning {
    /// Keeps frame buffers (up to 256 MiB) in the heap instead of fresh mmaps, and stops glibc from
    /// returning freed heap to the system after every frame: both cost a page fault per 4 KiB per frame.
    /// Peak memory is unchanged, since the frames in flight are bounded by the pipeline's queues.
    ///
    /// Threads keep their own arenas (no `M_ARENA_MAX` 1): libx264 (Debian's, build 164) reads heap memory
    /// it never wrote, so its output depends on what a reused block held; FFmpeg's own command line encodes
    /// the same frames differently under `MALLOC_PERTURB_`. With one shared arena, onsr-video's outputs
    /// varied from run to run (2026-11-29); the engine keeps its long-lived scratch out of the heap instead.
    public static func reuseLargeBuffers() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 512 << 20)
        #endif
    }
}
