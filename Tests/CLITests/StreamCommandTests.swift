import Decode
import Foundation
import TestSupport
import XCTest

/// onsr-video in pipes and on live network sources.
final class StreamCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-streams")
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=2", "-f", "lavfi", "-i", "sine=f=330:d=2",
                          "-c:v", "libx264", "-c:a", "aac", "-shortest", "clip.mp4"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func bash(_ script: String) throws -> CommandResult {
        try Shell.run(["bash", "-o", "pipefail", "-c", script], in: folder.path)
    }

    /// "pts_time" of every packet of the first stream of `kind` in `file` (- reads the given text).
    func times(_ probe: String, kind: String) -> [String] {
        probe.split(separator: "\n").filter { $0.hasPrefix(kind) }.map { String($0.split(separator: ",")[1]) }
    }

    func testPipeInPipeOutKeepsEveryFrameAudioAndTimestamp() throws {
        let onsr = BuiltProducts.onsrVideo
        let probe = "ffprobe -v error -show_entries packet=codec_type,pts_time -of csv=p=0"
        let result = try bash("ffmpeg -nostdin -v error -i clip.mp4 -c copy -f nut - | \(onsr) - - --format nut --output-format nut "
                              + "--method bicubic | \(probe) - > out.txt && ffmpeg -nostdin -v error -i clip.mp4 -c copy -f nut in.nut "
                              + "&& \(probe) in.nut > in.txt")
        XCTAssertEqual(result.status, 0, result.stderr)
        let output = try String(contentsOfFile: folder.file("out.txt"), encoding: .utf8)
        let input = try String(contentsOfFile: folder.file("in.txt"), encoding: .utf8)
        XCTAssertEqual(times(output, kind: "video").count, 50)
        XCTAssertEqual(times(output, kind: "video").sorted(), times(input, kind: "video").sorted())
        XCTAssertEqual(times(output, kind: "audio"), times(input, kind: "audio"))
        let missing = try Shell.run([onsr, "clip.mp4", "-"], in: folder.path)
        XCTAssertEqual(missing.status, 64, "stdout needs --output-format")
    }

    /// Starts onsr-video listening on a TCP port, then streams `seconds` of the clip to it in real time.
    func live(_ arguments: [String], report: String, clip: String = "clip.mp4") throws -> (Int32, String) {
        let port = 20000 + Int(getpid() % 20000) + Int.random(in: 0..<5000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProducts.onsrVideo)
        process.arguments = ["tcp://127.0.0.1:\(port)?listen=1", "out.mkv", "--report", report, "--overwrite"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        var sent = false
        for _ in 0..<100 where !sent {
            let sender = try Shell.run(["ffmpeg", "-nostdin", "-v", "error", "-re", "-i", clip, "-c", "copy", "-f", "mpegts",
                                        "tcp://127.0.0.1:\(port)"], in: folder.path)
            sent = sender.status == 0
            if !sent { usleep(200_000) }
        }
        XCTAssertTrue(sent, "the stream was sent")
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    func report(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file(name)))) as! [String: Any]
    }

    func videoFrames(_ file: String) throws -> Int {
        Int(try Shell.ffprobe(["-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file],
                              in: folder.path).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testLiveSourceAdaptsInTheBackgroundAndReportsLatency() throws {
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: false)
        var photo = RGBImage(width: 128, height: 128)
        for y in 0..<128 { for x in 0..<128 {
            photo[0, y, x] = 0.5 + 0.4 * sinf(Float(x) * 0.3); photo[1, y, x] = 0.5 + 0.4 * cosf(Float(y) * 0.2)
            photo[2, y, x] = Float((x / 7 + y / 5) % 2) * 0.8 + 0.1
        } }
        try ImageFile.writePNG(photo, to: folder.file("photos/p.png"))
        // Six seconds in real time: the adaptation (setup and 3 steps, about a second alone on two cores) must be
        // ready before the stream ends even on a loaded machine, where the 2-second clip once ran out first.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=6", "-c:v", "libx264", "long.mp4"], in: folder.path)
        let (status, stderr) = try live(["--method", "onsr", "--steps", "3", "--external", "photos", "--max-switch-delay", "0.2"],
                                        report: "live.json", clip: "long.mp4")
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stderr.contains("latency from input to output: max"), stderr)
        let json = try report("live.json")
        XCTAssertEqual(json["frames"] as? Int, 150)
        XCTAssertEqual(try videoFrames("out.mkv"), 150, "complete output")
        let switches = try XCTUnwrap(json["modelSwitches"] as? [[String: Any]], "the adapted model took over")
        let first = try XCTUnwrap(switches.first)
        XCTAssertEqual(first["steps"] as? Int, 3)
        XCTAssertGreaterThanOrEqual(first["tookOverAtFrame"] as? Int ?? -1, first["adaptationReadyFrame"] as? Int ?? .max)
        let latency = try XCTUnwrap(json["latency"] as? [String: Any])
        XCTAssertGreaterThan(latency["maxSeconds"] as? Double ?? 0, 0)
        XCTAssertEqual(latency["frames"] as? Int, 150)
    }

    func testDropAndFallbackPoliciesAreCountedTruthfully() throws {
        // A source far faster than the model (640x384 at 50 fps: ~10x the fast model's bf16 rate on the Zen 5 machine,
        // and more than any CPU of this project reaches); whatever happened, the counts in the report must match the
        // output. Frames queue behind the model, so with a budget of a few frame times some must turn late.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x384:rate=50:duration=2", "-c:v", "libx264", "fast.mp4"], in: folder.path)
        var (status, stderr) = try live(["--method", "pretrained", "--drop-policy", "drop"], report: "drop.json", clip: "fast.mp4")
        XCTAssertEqual(status, 0, stderr)
        var json = try report("drop.json")
        let dropped = json["droppedFrames"] as? Int ?? -1
        XCTAssertEqual(try videoFrames("out.mkv"), 100 - dropped)
        XCTAssertEqual(json["frames"] as? Int, 100 - dropped)
        XCTAssertGreaterThan(dropped, 0, "the pretrained model is slower than real time here")
        (status, stderr) = try live(["--method", "pretrained", "--drop-policy", "fallback", "--max-latency", "0.1"], report: "fallback.json",
                                    clip: "fast.mp4")
        XCTAssertEqual(status, 0, stderr)
        json = try report("fallback.json")
        XCTAssertEqual(try videoFrames("out.mkv"), 100, "fallback keeps every frame")
        XCTAssertEqual(json["droppedFrames"] as? Int, 0)
        XCTAssertGreaterThan(json["lateFrames"] as? Int ?? 0, 0)
    }
}
