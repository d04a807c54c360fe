import Batch
import Foundation
import Pipeline
import TestSupport
import XCTest

final class BatchPlanTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-batch-plan")
        for path in ["in/a.mp4", "in/notes.txt", "in/deep/er/b.MKV", "in/frames/f1.png", "in/.hidden/c.mp4", "in/out/x.mp4"] {
            try FileManager.default.createDirectory(atPath: folder.file((path as NSString).deletingLastPathComponent),
                                                    withIntermediateDirectories: true)
            XCTAssertTrue(FileManager.default.createFile(atPath: folder.file(path), contents: Data([1, 2, 3])))
        }
    }

    override func tearDown() { folder.remove() }

    func testFoldersAreSearchedAndMirrored() throws {
        let items = try BatchPlan.items(inputs: [folder.file("in"), folder.file("missing.mp4")], outputFolder: folder.file("in/out"),
                                        container: "mkv")
        XCTAssertEqual(items.map(\.relativePath), ["a.mp4", "deep/er/b.MKV", "frames", "missing.mp4"],
                       "hidden folders, non-videos and the output folder itself are left out")
        XCTAssertEqual(items.map(\.kind), [.video, .video, .frames, .video])
        XCTAssertEqual(items[1].output, folder.file("in/out/deep/er/b.mkv"))
        XCTAssertEqual(items[2].output, folder.file("in/out/frames"), "frame folders keep their name")
    }

    func testTwoInputsForOneOutputAreRefused() throws {
        try FileManager.default.createDirectory(atPath: folder.file("other"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.file("other/a.mp4"), contents: Data([1])))
        XCTAssertThrowsError(try BatchPlan.items(inputs: [folder.file("in/a.mp4"), folder.file("other/a.mp4")], outputFolder: folder.file("o")))
    }

    func testShardsPartitionTheItemsWhateverTheOrder() throws {
        let items = (0..<50).map { BatchItem(kind: .video, input: "/x/\($0).mp4", relativePath: "\($0).mp4", output: "/o/\($0).mp4") }
        let shards = (0..<4).map { BatchPlan.shard(items, index: $0, count: 4).map(\.relativePath) }
        XCTAssertEqual(shards.flatMap { $0 }.sorted(), items.map(\.relativePath).sorted())
        XCTAssertEqual(Set(shards.flatMap { $0 }).count, 50, "no item in two shards")
        XCTAssertTrue(shards.allSatisfy { $0.count > 4 }, "a fair split: \(shards.map(\.count))")
        XCTAssertEqual(BatchPlan.shard(items.reversed(), index: 2, count: 4).map(\.relativePath).sorted(), shards[2].sorted())
    }
}
