import Foundation

/// A blocking FIFO with a fixed capacity between two pipeline stages. Closing it wakes both sides:
/// producers stop, consumers drain what is left and then see nil.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    /// A ring: popped slots are cleared at once so that no frame outlives its hand-off.
    private var slots: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "queue capacity must be positive")
        self.capacity = capacity
        slots = [Element?](repeating: nil, count: capacity)
    }

    /// Appends, waiting while the queue is full; false when the queue was closed.
    @discardableResult
    func push(_ item: Element) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while count == capacity && !closed { condition.wait() }
        guard !closed else { return false }
        slots[(head + count) % capacity] = item
        count += 1
        condition.broadcast()
        return true
    }

    /// Appends without waiting: `.full` when there is no room (the item is not queued).
    enum Offer { case queued, full, closed }
    func offer(_ item: Element) -> Offer {
        condition.lock(); defer { condition.unlock() }
        guard !closed else { return .closed }
        guard count < capacity else { return .full }
        slots[(head + count) % capacity] = item
        count += 1
        condition.broadcast()
        return .queued
    }

    /// Removes the oldest item, waiting while empty; nil once closed and drained.
    func pop() -> Element? {
        condition.lock(); defer { condition.unlock() }
        while count == 0 && !closed { condition.wait() }
        guard count > 0 else { return nil }
        let item = slots[head]
        slots[head] = nil
        head = (head + 1) % capacity
        count -= 1
        condition.broadcast()
        return item!
    }

    /// Stops the queue; waiting producers and consumers return.
    func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }
}
