import Foundation
import TestSupport
import XCTest

/// Without --codec, the output is H.264 wherever the container takes it, and otherwise the container's own codec, as
/// FFmpeg writes it; a container that refuses what it is given says so on one line.
final class ContainerCodecTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-containers")
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=0.4", "-f", "lavfi", "-i", "sine=d=0.4",
                          "-c:v", "libx264", "-c:a", "aac", "-shortest", "clip.mp4"], in: folder.path)
        try Shell.ffmpeg(["-i", "clip.mp4", "-map", "0:v", "-c", "copy", "silent.mp4"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments + ["--method", "bicubic"], in: folder.path)
    }

    func report(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file(name)))) as? [String: Any] ?? [:]
    }

    func probe(_ file: String) throws -> String {
        try Shell.ffprobe(["-v", "error", "-count_frames", "-select_streams", "v", "-show_entries", "stream=codec_name,width,height,nb_read_frames",
                           "-of", "csv=p=0", file], in: folder.path).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// WebM gets VP9 at constant quality (libvpx's own default is a 256 kb/s budget); its AAC audio cannot go along.
    func testWebMIsVP9AtConstantQuality() throws {
        let result = try onsr(["silent.mp4", "out.webm", "--report", "webm.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try probe("out.webm"), "vp9,192,128,10")
        let settings = try report("webm.json")["settings"] as? [String: Any]
        XCTAssertEqual(settings?["codec"] as? String, "libvpx-vp9")
        XCTAssertEqual(settings?["crf"] as? Double, 31)
        XCTAssertEqual(settings?["encoderOptions"] as? [String], ["b=0", "row-mt=1"])
        let withAudio = try onsr(["clip.mp4", "out2.webm"])
        XCTAssertEqual(withAudio.status, 64, withAudio.stderr)
        XCTAssertTrue(withAudio.stderr.contains("--drop-unsupported-streams"), withAudio.stderr)
    }

    /// Animations take their own codec and the video alone: the audio is dropped, not an error.
    func testAGIFOrAPNGKeepsTheVideoAlone() throws {
        for (name, codec) in [("out.gif", "gif"), ("out.apng", "apng")] {
            let result = try onsr(["clip.mp4", name, "--report", "\(name).json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(try probe(name), "\(codec),192,128,10")
            let streams = try report("\(name).json")["streams"] as? [[String: Any]]
            XCTAssertEqual(streams?.map { $0["action"] as? String }, ["upscaled", "dropped"], name)
        }
    }

    /// DV takes only its broadcast sizes: a 192x128 picture is refused on one line, as a usage error, with no output.
    func testAContainerThatRefusesTheVideoSaysSo() throws {
        let result = try onsr(["silent.mp4", "out.dv"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("out.dv: a dv file refuses libx264 video at 192x128"), result.stderr)
        XCTAssertFalse(folder.listing().contains { $0.contains("out.dv") }, "\(folder.listing())")
    }
}
