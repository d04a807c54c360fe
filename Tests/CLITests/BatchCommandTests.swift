import Foundation
import TestSupport
import XCTest

/// `onsr-video batch` as archive runs use it: failures isolated, kills survived, shards, changed inputs.
final class BatchCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-batch-cli")
        try FileManager.default.createDirectory(atPath: folder.file("in/more"), withIntermediateDirectories: true)
        for i in 1...5 {
            // c3 is long enough to be killed in the middle of.
            let (size, seconds) = i == 3 ? ("320x240", "8") : ("96x64", "1")
            let name = i == 5 ? "in/more/c5.mp4" : "in/c\(i).mp4"
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=\(size):rate=25:duration=\(seconds)", "-vf", "hue=h=\(i * 40)",
                              "-c:v", "libx264", "-preset", "ultrafast", name], in: folder.path)
        }
        // c4 is damaged: its first bytes are missing.
        let whole = try Data(contentsOf: URL(fileURLWithPath: folder.file("in/c4.mp4")))
        try whole.suffix(from: 4000).write(to: URL(fileURLWithPath: folder.file("in/c4.mp4")))
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=1", "-c:v", "libx264", "in/c6.mp4"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments, in: folder.path)
    }

    func batch(_ out: String, _ extra: [String] = []) -> [String] { ["batch", "in", "--out", out, "--method", "bicubic"] + extra }

    /// Decoded-frame checksums: equal for equal pictures, whatever the container's bytes.
    func frames(_ path: String) throws -> String {
        let result = try Shell.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "framemd5", "-"], in: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
    }

    func files(under root: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder.file(root))
        return (enumerator?.allObjects as? [String] ?? []).filter { !$0.hasPrefix(".onsr-batch") }.sorted()
    }

    func manifestLines(_ out: String) throws -> [[String: Any]] {
        let dir = folder.file("\(out)/.onsr-batch")
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jsonl") }.flatMap { name in
            try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }
    }

    func testOneDamagedClipFailsAloneAndIsRecorded() throws {
        let result = try onsr(batch("out"))
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertTrue(result.stderr.contains("batch: 5 done, 1 failed, 0 skipped"), result.stderr)
        XCTAssertEqual(files(under: "out"), ["c1.mp4", "c2.mp4", "c3.mp4", "c6.mp4", "more", "more/c5.mp4"])
        let failed = try manifestLines("out").filter { $0["state"] as? String == "failed" }
        XCTAssertEqual(failed.map { $0["item"] as? String }, ["c4.mp4"])
        XCTAssertTrue((failed[0]["error"] as? String ?? "").contains("c4.mp4"), "\(failed)")
    }

    func testKilledRunResumesWithoutRedoingFinishedItems() throws {
        try onsr(batch("reference")).status == 65 ? () : XCTFail("the uninterrupted run ends with the damaged clip failed")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProducts.onsrVideo)
        process.arguments = batch("out")
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        func c3Started() -> Bool {
            ((try? manifestLines("out")) ?? []).contains { $0["item"] as? String == "c3.mp4" && $0["state"] as? String == "started" }
        }
        while Date() < deadline && !c3Started() { usleep(10_000) }
        usleep(400_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        usleep(500_000)
        XCTAssertEqual(files(under: "out").filter { !$0.hasPrefix(".") }, ["c1.mp4", "c2.mp4"], "killed in c3: nothing of it looks finished")
        let firstDone = try FileManager.default.attributesOfItem(atPath: folder.file("out/c1.mp4"))[.modificationDate] as? Date

        let rerun = try onsr(batch("out"))
        XCTAssertEqual(rerun.status, 65)
        XCTAssertTrue(rerun.stderr.contains("c1.mp4: skipped") && rerun.stderr.contains("c2.mp4: skipped"), rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("c3.mp4: done"), rerun.stderr)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: folder.file("out/c1.mp4"))[.modificationDate] as? Date, firstDone)
        let everything = (FileManager.default.enumerator(atPath: folder.file("out"))?.allObjects as? [String]) ?? []
        XCTAssertFalse(everything.contains { $0.contains("onsr-partial") || $0.hasSuffix(".lock") }, "\(everything)")
        for name in ["c1.mp4", "c2.mp4", "c3.mp4", "c6.mp4", "more/c5.mp4"] {
            XCTAssertEqual(try frames("out/\(name)"), try frames("reference/\(name)"), name)
        }
    }

    func testThreeShardsCoverEveryItemExactlyOnce() throws {
        XCTAssertEqual(try onsr(batch("single")).status, 65)
        let workers = try (0..<3).map { i -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: BuiltProducts.onsrVideo)
            process.arguments = batch("sharded", ["--shard", "\(i)/3"])
            process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        workers.forEach { $0.waitUntilExit() }
        let finished = try manifestLines("sharded").filter { ["done", "failed"].contains($0["state"] as? String) }
        XCTAssertEqual(finished.compactMap { $0["item"] as? String }.sorted(),
                       ["c1.mp4", "c2.mp4", "c3.mp4", "c4.mp4", "c6.mp4", "more/c5.mp4"], "each item once")
        XCTAssertEqual(files(under: "sharded"), files(under: "single"))
        for name in ["c1.mp4", "c2.mp4", "c3.mp4", "c6.mp4", "more/c5.mp4"] {
            XCTAssertEqual(try frames("sharded/\(name)"), try frames("single/\(name)"), name)
        }
        let bad = try onsr(batch("x", ["--shard", "3/3"]))
        XCTAssertEqual(bad.status, 64)
    }

    func testAReplacedInputIsRedone() throws {
        XCTAssertEqual(try onsr(batch("out")).status, 65)
        // Same name, same size, same modification time, other content: only the content hash tells.
        let path = folder.file("in/c1.mp4")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: path)
        let rerun = try onsr(batch("out"))
        XCTAssertTrue(rerun.stderr.contains("c1.mp4: done"), rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("c2.mp4: skipped"), rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("batch: 1 done, 1 failed, 4 skipped"), rerun.stderr)
        // Other settings redo everything that can be done.
        let other = try onsr(batch("out", ["--crf", "30"]))
        XCTAssertTrue(other.stderr.contains("batch: 5 done, 1 failed, 0 skipped"), other.stderr)
        // --deinterlace off is a setting too (the default, auto, is not written, so older manifests still count).
        let unchanged = try onsr(batch("out", ["--crf", "30", "--deinterlace", "auto"]))
        XCTAssertTrue(unchanged.stderr.contains("batch: 0 done, 1 failed, 5 skipped"), unchanged.stderr)
        let off = try onsr(batch("out", ["--crf", "30", "--deinterlace", "off"]))
        XCTAssertTrue(off.stderr.contains("batch: 5 done, 1 failed, 0 skipped"), off.stderr)
    }

    /// Interlaced items are deinterlaced by default, as `upscale` does them (judged by FFmpeg's idet).
    func testInterlacedItemsAreDeinterlaced() throws {
        try FileManager.default.createDirectory(atPath: folder.file("tv"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50", "-vf", "interlace=scan=tff:lowpass=0", "-frames:v", "25",
                          "-c:v", "libx264", "-flags", "+ildct+ilme", "tv/i.mp4"], in: folder.path)
        for (mode, combed) in [("auto", false), ("off", true)] {
            let result = try onsr(["batch", "tv", "--out", "out-\(mode)", "--method", "bicubic", "--deinterlace", mode])
            XCTAssertEqual(result.status, 0, result.stderr)
            let idet = try Shell.run(["ffmpeg", "-nostdin", "-i", "out-\(mode)/i.mp4", "-vf", "idet", "-f", "null", "-"], in: folder.path)
            let line = idet.stderr.split(separator: "\n").first { $0.contains("Multi frame detection") } ?? ""
            XCTAssertEqual(line.contains("TFF:     0"), !combed, "\(mode): \(line)")
        }
    }

    func testFrameFoldersAreProcessedFolderByFolder() throws {
        for shot in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: folder.file("frames/shot-\(shot)"), withIntermediateDirectories: true)
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=0.6", "frames/shot-\(shot)/f%d.png"], in: folder.path)
        }
        let result = try onsr(["batch", "frames", "--out", "restored", "--method", "lanczos"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(files(under: "restored"), ["shot-a", "shot-a/f1.png", "shot-a/f2.png", "shot-a/f3.png",
                                                  "shot-b", "shot-b/f1.png", "shot-b/f2.png", "shot-b/f3.png"])
        let size = try Shell.ffprobe(["-show_entries", "stream=width,height", "-of", "csv=p=0", "restored/shot-b/f3.png"], in: folder.path)
        XCTAssertEqual(size.trimmingCharacters(in: .whitespacesAndNewlines), "128,96")
        let rerun = try onsr(["batch", "frames", "--out", "restored", "--method", "lanczos"])
        XCTAssertTrue(rerun.stderr.contains("batch: 0 done, 0 failed, 2 skipped"), rerun.stderr)
        // An output size reaches videos and frame folders alike, and is a setting: asked for, every item is redone.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=0.6", "-c:v", "libx264", "frames/clip.mp4"], in: folder.path)
        let sized = try onsr(["batch", "frames", "--out", "restored", "--method", "lanczos", "--height", "72"])
        XCTAssertEqual(sized.status, 0, sized.stderr)
        XCTAssertTrue(sized.stderr.contains("batch: 3 done, 0 failed, 0 skipped"), sized.stderr)
        for path in ["restored/shot-a/f1.png", "restored/clip.mp4"] {
            let probe = try Shell.ffprobe(["-select_streams", "v", "-show_entries", "stream=width,height", "-of", "csv=p=0", path], in: folder.path)
            XCTAssertEqual(probe.trimmingCharacters(in: .whitespacesAndNewlines), "96,72", path)
        }
    }
}
