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
