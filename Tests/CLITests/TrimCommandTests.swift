import Foundation
import TestSupport
import XCTest

/// `--start` / `--duration`: a part of the input, as FFmpeg's input -ss / -t cut it.
final class TrimCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-trim")
        // 4 s at 25 fps with one keyframe only, so that a seek must land on it and decode up to the window.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4", "-f", "lavfi", "-i", "sine=d=4",
                          "-c:v", "libx264", "-g", "250", "-c:a", "aac", "-shortest", "clip.mp4"], in: folder.path)
        try Shell.ffmpeg(["-i", "clip.mp4", "-c", "copy", "-f", "mpegts", "clip.ts"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments + ["--method", "bicubic", "--codec", "ffv1"], in: folder.path)
    }

    /// Each video frame's MD5, in order.
    func frameMD5s(_ file: String) throws -> [String] {
        let result = try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-map", "0:v", "-f", "framemd5", "-"], in: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map(String.init) }
    }

    /// (stream index, pts seconds) of every packet.
    func packetTimes(_ file: String) throws -> [(Int, Double)] {
        try Shell.ffprobe(["-v", "error", "-show_entries", "packet=stream_index,pts_time", "-of", "csv=p=0", file], in: folder.path)
            .split(separator: "\n").compactMap { line in
                let fields = line.split(separator: ",")
                guard fields.count == 2, let stream = Int(fields[0]), let time = Double(fields[1]) else { return nil }
                return (stream, time)
            }
    }

    /// Seconds 1 to 3 from an MP4 (which seeks to its keyframe), from MPEG-TS (which cannot seek precisely) and from a
    /// pipe: the same 50 frames the whole run gives as its frames 25 to 74, starting at zero, with the audio of those
    /// two seconds.
    func testAWindowKeepsItsFramesAndAudioAndStartsAtZero() throws {
        XCTAssertEqual(try onsr(["clip.mp4", "whole.mkv"]).status, 0)
        let whole = try frameMD5s("whole.mkv")
        XCTAssertEqual(whole.count, 100)
        let piped = try Shell.run(["bash", "-c", "\(BuiltProducts.onsrVideo) - piped.mkv --format mpegts --start 1 --duration 2 "
                                   + "--method bicubic --codec ffv1 --report piped.json < clip.ts"], in: folder.path)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        for (input, output) in [("clip.mp4", "mp4.mkv"), ("clip.ts", "ts.mkv")] {
            let result = try onsr([input, output, "--start", "1", "--duration", "0:02", "--report", "\(output).json"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        for output in ["mp4.mkv", "ts.mkv", "piped.mkv"] {
            XCTAssertEqual(try frameMD5s(output), Array(whole[25..<75]), output)
            let times = try packetTimes(output)
            let video = times.filter { $0.0 == 0 }.map(\.1), audio = times.filter { $0.0 == 1 }.map(\.1)
            XCTAssertLessThan(video.min() ?? 1, 0.05, "\(output) starts at zero")
            XCTAssertLessThan(video.max() ?? 9, 2, output)
            XCTAssertGreaterThan(audio.count, 80, "\(output) keeps two seconds of audio")
            XCTAssertTrue(audio.allSatisfy { $0 >= 0 && $0 < 2.05 }, "\(output): audio from \(audio.min() ?? -1) to \(audio.max() ?? -1)")
        }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("mp4.mkv.json")))) as? [String: Any]
        XCTAssertEqual(report?["frames"] as? Int, 50)
        XCTAssertEqual(report?["trim"] as? [String: Double], ["start": 1, "duration": 2])
        // --start alone keeps the rest, and the input is judged whole.
        let rest = try onsr(["clip.mp4", "rest.mkv", "--start", "3.5"])
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertEqual(try frameMD5s("rest.mkv"), Array(whole[88...]), "the first frame at or after 3.5 s is the 89th (3.52 s)")
    }

    /// A window past the end is a usage error on one line, and leaves no output.
    func testAStartPastTheEndIsRefused() throws {
        let result = try onsr(["clip.mp4", "out.mkv", "--start", "4.5"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("past the end"), result.stderr)
        for bad in [["--start", "1:75"], ["--duration", "0"], ["--start", "-2"]] {
            XCTAssertEqual(try onsr(["clip.mp4", "out.mkv"] + bad).status, 64, "\(bad)")
        }
        XCTAssertFalse(folder.listing().contains { $0.contains("out") }, "\(folder.listing())")
    }
}
