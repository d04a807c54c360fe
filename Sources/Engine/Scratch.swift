import Foundation

/// Per-thread reusable buffers for unfolded matrices, so convolutions do not allocate per call.
/// Each thread that runs networks gets its own, so adaptation and inference threads never share one.
final class Scratch {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var capacities: [Int] = []

    deinit { buffers.forEach { $0.deallocate() } }

    /// Buffer `slot` with room for at least `count` floats (contents undefined).
    func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= slot { buffers.append(.allocate(capacity: 1)); capacities.append(1) }
        if capacities[slot] < count {
            buffers[slot].deallocate()
            buffers[slot] = .allocate(capacity: count)
            capacities[slot] = count
        }
        return buffers[slot]
    }

    /// The calling thread's scratch space.
    static var current: Scratch {
        let key = "onsr.engine.scratch"
        if let existing = Thread.current.threadDictionary[key] as? Scratch { return existing }
        let created = Scratch()
        Thread.current.threadDictionary[key] = created
        return created
    }
}
