import Batch
import Foundation
import Pipeline
import TestSupport
import XCTest

final class ItemLockTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-lock") }
    override func tearDown() { folder.remove() }

    func testOnlyOneHolderAtATime() throws {
        let path = folder.file("a.lock")
        let first = try XCTUnwrap(try ItemLock.acquire(path))
        XCTAssertNil(try ItemLock.acquire(path), "held by a live process (this one)")
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains(" \(getpid()) "))
        first.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertNotNil(try ItemLock.acquire(path))
    }

    func testALockOfADeadProcessIsTakenOver() throws {
        let path = folder.file("b.lock")
        // A process of this host that has exited: its pid is free.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        try "\(ProcessInfo.processInfo.hostName) \(child.processIdentifier) 0\n".write(toFile: path, atomically: false, encoding: .utf8)
        let lock = try XCTUnwrap(try ItemLock.acquire(path))
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains(" \(getpid()) "))
        lock.release()
    }

    func testAnotherHostsLockIsStaleOnlyWithoutHeartbeat() throws {
        let path = folder.file("c.lock")
        try "elsewhere 1 0\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertNil(try ItemLock.acquire(path, staleAfter: 60), "fresh heartbeat: still owned")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: path)
        XCTAssertNotNil(try ItemLock.acquire(path, staleAfter: 60), "heartbeat stopped two minutes ago")
    }
}
