import Engine
import Foundation
import XCTest

final class ParallelTests: XCTestCase {
    func testSeriallyKeepsEveryIndexOnTheCallingThread() {
        let caller = ObjectIdentifier(Thread.current)
        let lock = NSLock()
        var visits = [Int](repeating: 0, count: 64), threads = Set<ObjectIdentifier>()
        Parallel.serially {
            Parallel.rows(64) { i in
                lock.withLock {
                    visits[i] += 1
                    threads.insert(ObjectIdentifier(Thread.current))
                }
            }
            Parallel.each(8) { _ in lock.withLock { _ = threads.insert(ObjectIdentifier(Thread.current)) } }
        }
        XCTAssertEqual(visits, [Int](repeating: 1, count: 64))
        XCTAssertEqual(threads, [caller])
    }

    /// oneDNN's primitives follow `serially` too (one OpenMP thread), and compute the same result there.
    func testSeriallyKeepsPrimitivesOnOneThreadWithTheSameResult() throws {
        try XCTSkipIf(Parallel.workers < 2, "one core: always serial")
        let outside = Parallel.primitiveThreads
        XCTAssertEqual(outside, Parallel.workers)
        var rng = SeededRandom(seed: 9)
        let conv = Conv2d(16, 16, kernelSize: 3, rng: &rng)
        let x = Tensor(shape: [1, 16, 40, 48])
        for i in 0..<x.count { x[i] = rng.uniform() - 0.5 }
        let parallel = conv(x)
        let serial = Parallel.serially { () -> Tensor in
            XCTAssertEqual(Parallel.primitiveThreads, 1)
            Parallel.serially { XCTAssertEqual(Parallel.primitiveThreads, 1) }
            XCTAssertEqual(Parallel.primitiveThreads, 1, "the inner call must not end the outer one")
            return conv(x)
        }
        XCTAssertEqual(Parallel.primitiveThreads, outside)
        for i in 0..<parallel.count { XCTAssertEqual(serial[i], parallel[i], accuracy: 1e-5) }
    }

    func testSeriallyHoldsForItsBodyOnlyAndNests() throws {
        try XCTSkipIf(Parallel.workers < 2, "one core: always serial")
        XCTAssertFalse(Parallel.onOneThread)
        Parallel.serially {
            XCTAssertTrue(Parallel.onOneThread)
            Parallel.serially { XCTAssertTrue(Parallel.onOneThread) }
            XCTAssertTrue(Parallel.onOneThread, "the inner call must not end the outer one")
        }
        XCTAssertFalse(Parallel.onOneThread)
    }

    func testSeriallyIsPerThread() throws {
        try XCTSkipIf(Parallel.workers < 2, "one core: always serial")
        final class Answer: @unchecked Sendable { var serial = true }
        let answer = Answer(), done = DispatchSemaphore(value: 0)
        Parallel.serially {
            let other = Thread { answer.serial = Parallel.onOneThread; done.signal() }
            other.start()
            done.wait()
        }
        XCTAssertFalse(answer.serial)
    }
}
