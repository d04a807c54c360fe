import Foundation

/// Splits independent work across the machine's cores.
public enum Parallel {
    /// Number of worker threads used for data-parallel loops (the active processor count).
    public static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    private static let serialKey = "onsr.Parallel.serial"

    /// Runs `body` with every `Parallel` loop it starts on this thread kept on this thread, leaving the
    /// other cores to work running elsewhere (live mode gives a background adaptation the larger share so).
    public static func serially<Result>(_ body: () throws -> Result) rethrows -> Result {
        let dictionary = Thread.current.threadDictionary
        let outer = dictionary[serialKey] != nil
        dictionary[serialKey] = true
        defer { if !outer { dictionary.removeObject(forKey: serialKey) } }
        return try body()
    }

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
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: count) { body($0) }
        }
    }

    /// Calls `body` for every index in 0..<count, in contiguous chunks spread over the cores.
    /// Each index is visited exactly once, so results do not depend on the number of workers.
    public static func rows(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        let chunks = min(count, workers * 4)
        if chunks <= 1 || onOneThread {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = chunk * count / chunks, end = (chunk + 1) * count / chunks
                for i in start..<end { body(i) }
            }
        }
    }
}
