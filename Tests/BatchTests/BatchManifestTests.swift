import Batch
import Foundation
import Pipeline
import TestSupport
import XCTest

final class BatchManifestTests: XCTestCase {
    var folder: TemporaryFolder!
    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-manifest") }
    override func tearDown() { folder.remove() }

    func record(_ item: String, _ state: ManifestRecord.State, time: Double) -> ManifestRecord {
        ManifestRecord(item: item, state: state, input: "/in/\(item)", output: "/out/\(item)", identity: nil, settings: "s",
                       error: nil, seconds: nil, outputBytes: nil, host: "h", pid: 1, time: time)
    }

    func testLatestRecordWinsAcrossWorkersAndTornLinesAreIgnored() throws {
        let a = try BatchManifest(outputFolder: folder.path, worker: "0-of-2")
        let b = try BatchManifest(outputFolder: folder.path, worker: "1-of-2")
        try a.append(record("x", .started, time: 1))
        try b.append(record("x", .done, time: 2))
        try a.append(record("y", .started, time: 3))
        // A worker killed mid-write leaves half a line.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: a.path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"item\":\"y\",\"sta".utf8))
        try handle.close()
        let latest = a.latest()
        XCTAssertEqual(latest["x"]?.state, .done)
        XCTAssertEqual(latest["y"]?.state, .started)
        XCTAssertEqual(latest.count, 2)
    }

    func testContentHashSeesEveryByte() throws {
        let path = folder.file("f")
        var bytes = Data((0..<3_000_001).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try bytes.write(to: URL(fileURLWithPath: path))
        let before = try ContentHash.file(path)
        bytes[2_999_999] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertNotEqual(try ContentHash.file(path), before)
        XCTAssertEqual(try ContentHash.file(path), try ContentHash.file(path))
        XCTAssertThrowsError(try ContentHash.file(folder.file("missing")))
    }
}
