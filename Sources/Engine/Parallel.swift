import Foundation

/// Splits independent work across the machine's cores.
public enum Parallel {
    /// Number of worker threads used for data-parallel loops (the active processor count).
    public static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    private static let serialKey = "onsr.Parallel.serial"

    /// Runs `body` with every `Parallel` loop and every oneDNN primitive it starts on this thread kept on this
    /// thread, leaving the other cores to work running elsewhere (live mode gives a background adaptation the
    /// larger share so).
    public static func serially<Result>(_ body: () throws -> Result) rethrows -> Result {
        let dictionary = Thread.current.threadDictionary
        let outer = dictionary[serialKey] != nil
        dictionary[serialKey] = true
        let threads = OpenMP.maxThreads
        OpenMP.setMaxThreads(1)
        defer {
            if !outer {
                dictionary.removeObject(forKey: serialKey)
                OpenMP.setMaxThreads(threads)
            }
        }
        return try body()
    }

    /// Threads a oneDNN primitive started on this thread may use: the core count, 1 inside `serially`.
    public static var primitiveThreads: Int { OpenMP.maxThreads }

    /// True inside `serially` (or on a one-core machine): loops started on this thread stay on it.
    public static var onOneThread: Bool {
        workers == 1 || Thread.current.threadDictionary[serialKey] != nil
    }

    /// Calls `body` once for every index in 0..<count, each index its own work item (for few, large items).
    public static func each(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1 && !onOneThread else {
            for i in 0..<count { body(i) }
            return
        }
        if OpenMP.team(min(count, workers), { thread, threads in
            for i in stride(from: thread, to: count, by: threads) { body(i) }
        }) { return }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: count) { body($0) }
        }
    }

    /// Calls `body` for every index in 0..<count, in contiguous chunks spread over the cores.
    /// Each index is visited exactly once, so results do not depend on the number of workers.
    ///
    /// The loops run on oneDNN's OpenMP threads where they exist: between two primitives those threads spin
    /// waiting for work, and a second pool (Dispatch's) beside them would fight them for the cores (measured:
    /// 16% of an adaptation's samples in libgomp's spin loop).
    public static func rows(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || onOneThread {
            for i in 0..<count { body(i) }
            return
        }
        if OpenMP.team(min(count, workers), { thread, threads in
            for i in (thread * count / threads)..<((thread + 1) * count / threads) { body(i) }
        }) { return }
        let chunks = min(count, workers * 4)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = chunk * count / chunks, end = (chunk + 1) * count / chunks
                for i in start..<end { body(i) }
            }
        }
    }
}

/// The OpenMP runtime oneDNN runs its primitives on (Debian's libdnnl is built with libgomp). Its thread
/// count is a per-thread setting: a thread that lowers it gets single-threaded primitives (created while
/// it is lowered: primitives are cached per thread count) while other threads keep all cores. Looked up
/// at run time, so nothing links against libgomp directly.
enum OpenMP {
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private typealias GetThreads = @convention(c) () -> Int32
    private typealias Outlined = @convention(c) (UnsafeMutableRawPointer?) -> Void
    /// libgomp's entry for `#pragma omp parallel` (GCC 4.9 on): runs fn(data) on a team, the caller included.
    private typealias StartTeam = @convention(c) (Outlined, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: type) }
    }
    private static let startTeam = symbol("GOMP_parallel", as: StartTeam.self)
    private static let threadNumber = symbol("omp_get_thread_num", as: GetThreads.self)
    private static let teamSize = symbol("omp_get_num_threads", as: GetThreads.self)

    private final class Work {
        let body: (Int, Int) -> Void
        init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
    }

    /// Runs `body(thread, threads)` on a team of up to `threads` OpenMP threads; false (nothing run) where
    /// libgomp is not loaded.
    static func team(_ threads: Int, _ body: (Int, Int) -> Void) -> Bool {
        guard let startTeam, threadNumber != nil, teamSize != nil else { return false }
        withoutActuallyEscaping(body) { body in
            let work = Work(body)
            withExtendedLifetime(work) {
                startTeam({ raw in
                    let work = Unmanaged<Work>.fromOpaque(raw!).takeUnretainedValue()
                    work.body(Int(OpenMP.threadNumber!()), Int(OpenMP.teamSize!()))
                }, Unmanaged.passUnretained(work).toOpaque(), UInt32(threads), 0)
            }
        }
        return true
    }

    private static let setter = symbol("omp_set_num_threads", as: SetThreads.self)
    private static let getter = symbol("omp_get_max_threads", as: GetThreads.self)

    /// The calling thread's OpenMP thread count (the core count unless lowered).
    static var maxThreads: Int { getter.map { Int($0()) } ?? Parallel.workers }

    static func setMaxThreads(_ count: Int) { setter?(Int32(count)) }
}
