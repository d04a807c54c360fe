import Foundation
import Pipeline
import TestSupport
import XCTest

final class AtomicOutputTests: XCTestCase {
    func testWritesUnderAHiddenNameAndRenamesOnCommit() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let output = try AtomicOutput(finalPath: folder.file("out.mkv"), overwrite: false, inputs: [])
        XCTAssertTrue(output.temporaryPath.hasSuffix(".mkv"), "the extension still chooses the container")
        XCTAssertTrue((output.temporaryPath as NSString).lastPathComponent.hasPrefix("."))
        XCTAssertTrue(FileManager.default.createFile(atPath: output.temporaryPath, contents: Data("x".utf8)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("out.mkv")))
        try output.commit()
        XCTAssertEqual(folder.listing(), ["out.mkv"])
    }

    func testAbandonedOutputIsDeleted() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        do {
            let output = try AtomicOutput(finalPath: folder.file("out.mp4"), overwrite: false, inputs: [])
            XCTAssertTrue(FileManager.default.createFile(atPath: output.temporaryPath, contents: Data("partial".utf8)))
        }
        XCTAssertEqual(folder.listing(), [])
    }

    func testRefusesToReplaceFilesOrInputs() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.file("a.mp4"), contents: Data("a".utf8)))
        XCTAssertThrowsError(try AtomicOutput(finalPath: folder.file("a.mp4"), overwrite: false, inputs: [])) {
            XCTAssertEqual(($0 as? JobError)?.kind, .cannotCreate)
        }
        XCTAssertThrowsError(try AtomicOutput(finalPath: folder.file("a.mp4"), overwrite: true, inputs: [folder.file("./a.mp4")])) {
            XCTAssertEqual(($0 as? JobError)?.kind, .usage)
        }
        XCTAssertThrowsError(try AtomicOutput(finalPath: folder.file("missing/a.mp4"), overwrite: true, inputs: [])) {
            XCTAssertEqual(($0 as? JobError)?.kind, .cannotCreate)
        }
        XCTAssertNoThrow(try AtomicOutput(finalPath: folder.file("a.mp4"), overwrite: true, inputs: []))
    }
}
