import Foundation
import Pipeline
import TestSupport
import XCTest

/// `onsr-video in.mp4 frames/f_%04d.png`: one picture per frame, numbered from 1, as FFmpeg writes a sequence, and
/// no picture under its final name before the run is complete; and such a sequence as input.
final class PictureSequenceTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-sequence")
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=0.4", "-f", "lavfi", "-i", "sine=d=0.4",
                          "-c:v", "libx264", "-c:a", "aac", "-shortest", "clip.mp4"], in: folder.path)
        try FileManager.default.createDirectory(atPath: folder.file("frames"), withIntermediateDirectories: false)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments + ["--method", "bicubic"], in: folder.path)
    }

    func listing(_ subfolder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.file(subfolder))) ?? []).sorted()
    }

    /// Each video frame's MD5 as FFmpeg decodes `input` (a file or a sequence pattern) to RGB.
    func frameMD5s(_ input: String) throws -> [String] {
        let result = try Shell.run(["ffmpeg", "-v", "error", "-i", input, "-map", "0:v", "-pix_fmt", "rgb24", "-f", "framemd5", "-"], in: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map(String.init) }
    }

    /// The sequence holds exactly the frames the same encoder writes into a NUT file, in order, at twice the
    /// size; the audio is left out; a second run needs --overwrite.
    func testAPNGSequenceHoldsEveryFrameInOrder() throws {
        let result = try onsr(["clip.mp4", "frames/f_%04d.png", "--report", "report.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(listing("frames"), (1...10).map { String(format: "f_%04d.png", $0) }, "no hidden folder is left")
        XCTAssertEqual(try onsr(["clip.mp4", "frames.nut", "--codec", "png"]).status, 0)
        XCTAssertEqual(try frameMD5s("frames/f_%04d.png"), try frameMD5s("frames.nut"))
        let size = try Shell.ffprobe(["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", "frames/f_0001.png"],
                                     in: folder.path)
        XCTAssertEqual(size.trimmingCharacters(in: .whitespacesAndNewlines), "png,320,240")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("report.json")))) as? [String: Any]
        let streams = report?["streams"] as? [[String: Any]]
        XCTAssertEqual(streams?.map { $0["action"] as? String }, ["upscaled", "dropped"])
        let again = try onsr(["clip.mp4", "frames/f_%04d.png"])
        XCTAssertEqual(again.status, 73, again.stderr)
        XCTAssertTrue(again.stderr.contains("--overwrite"), again.stderr)
        XCTAssertEqual(try onsr(["clip.mp4", "frames/f_%04d.png", "--overwrite", "--duration", "0.2"]).status, 0)
        XCTAssertEqual(listing("frames").count, 10, "the first five are replaced, the rest stay")
    }

    /// A sequence reads back as a 25 fps video (FFmpeg's image2 default), found by its first picture; a pattern
    /// with no picture is a missing input.
    func testASequenceIsAnInput() throws {
        XCTAssertEqual(try onsr(["clip.mp4", "frames/f_%04d.png"]).status, 0)
        let result = try onsr(["frames/f_%04d.png", "back.mkv", "--codec", "ffv1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let stream = try Shell.ffprobe(["-v", "error", "-count_frames", "-show_entries", "stream=width,height,nb_read_frames,r_frame_rate",
                                        "-of", "csv=p=0", "back.mkv"], in: folder.path)
        XCTAssertEqual(stream.trimmingCharacters(in: .whitespacesAndNewlines), "640,480,25/1,10")
        let missing = try onsr(["frames/g_%04d.png", "out.mkv"])
        XCTAssertEqual(missing.status, 66, missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
    }

    /// A JPEG sequence is written full range (FFmpeg's mjpeg takes nothing else) at a good fixed quantiser: its
    /// pictures match the PNG ones in level and closely in value.
    func testAJPEGSequenceKeepsLevelsAndQuality() throws {
        XCTAssertEqual(try onsr(["clip.mp4", "frames/f_%04d.png"]).status, 0)
        let result = try onsr(["clip.mp4", "frames/j_%03d.jpg", "--pix-fmt", "yuv444p"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let psnr = try Shell.run(["ffmpeg", "-i", "frames/j_001.jpg", "-i", "frames/f_0001.png", "-lavfi",
                                  "[0]format=rgb24[a];[1]format=rgb24[b];[a][b]psnr", "-f", "null", "-"], in: folder.path)
        let average = psnr.stderr.components(separatedBy: "average:").last.flatMap { Double($0.prefix { $0 == "." || $0.isNumber }) }
        XCTAssertGreaterThan(average ?? 0, 44, "q 2 JPEG against the PNG (the 200 kb/s default gives about 42 dB): \(psnr.stderr.suffix(300))")
    }

    /// Interrupted, the run removes its hidden folder; killed, the next run to the same pattern removes it.
    func testAnInterruptedSequenceLeavesNothing() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=20", "-c:v", "libx264", "-preset", "ultrafast",
                          "long.mp4"], in: folder.path)
        for signal in [SIGINT, SIGKILL] {
            let process = try Shell.startOnsrVideo(["long.mp4", "frames/f_%04d.png", "--method", "lanczos", "--scale", "4"], in: folder.path)
            let deadline = Date().addingTimeInterval(30)
            func written() -> Int {
                listing("frames").first { $0.contains("onsr-partial") }.map { listing("frames/\($0)").count } ?? 0
            }
            while Date() < deadline && written() < 3 { usleep(20_000) }
            XCTAssertGreaterThanOrEqual(written(), 3, "the job had started writing pictures")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            if signal == SIGINT {
                XCTAssertEqual(process.terminationStatus, 130)
                XCTAssertEqual(listing("frames"), [], "no picture and no hidden folder")
            } else {
                XCTAssertEqual(listing("frames").filter { $0.contains("onsr-partial") }.count, 1, "SIGKILL leaves the folder")
            }
        }
        XCTAssertEqual(try onsr(["clip.mp4", "frames/f_%04d.png"]).status, 0)
        XCTAssertEqual(listing("frames"), (1...10).map { String(format: "f_%04d.png", $0) }, "the killed run's folder is gone")
    }
}
