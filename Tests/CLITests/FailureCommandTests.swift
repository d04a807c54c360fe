import Foundation
import Pipeline
import TestSupport
import XCTest

/// Bad input, unsafe outputs and interruptions: one line on stderr, the documented status, nothing left behind.
final class FailureCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-fail")
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-f", "lavfi", "-i", "sine=d=2",
                          "-c:v", "libx264", "-c:a", "aac", "-shortest", "-movflags", "+faststart", "good.mp4"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + BuiltProducts.withFastMethod(arguments), in: folder.path)
    }

    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: folder.file(name))) }

    /// Runs on `input`, expects `status`, exactly one stderr line naming the input, and no output at all.
    func assertRejected(_ input: String, status: Int32, mentioning text: String, extra: [String] = [],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let before = folder.listing()
        let result = try onsr([input, "out.mp4"] + extra)
        XCTAssertEqual(result.status, status, "\(input): \(result.stderr)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(input), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.lowercased().contains(text), "\(result.stderr) should mention \(text)", file: file, line: line)
        XCTAssertEqual(folder.listing(), before, "no output or partial file is left", file: file, line: line)
    }

    // Acceptance 6.
    func testTruncatedFileIsRejectedAsDamaged() throws {
        let good = try bytes("good.mp4")
        try good.prefix(good.count * 6 / 10).write(to: URL(fileURLWithPath: folder.file("truncated.mp4")))
        try assertRejected("truncated.mp4", status: 65, mentioning: "damaged")
        // Without the index at the front, the same cut leaves nothing readable at all.
        try Shell.ffmpeg(["-i", "good.mp4", "-c", "copy", "tail.mp4"], in: folder.path)
        let tail = try bytes("tail.mp4")
        try tail.prefix(tail.count / 2).write(to: URL(fileURLWithPath: folder.file("cut.mp4")))
        try assertRejected("cut.mp4", status: 65, mentioning: "not a media file")
    }

    func testTruncatedFileWithAllowDamagedKeepsWhatDecodes() throws {
        let good = try bytes("good.mp4")
        try good.prefix(good.count * 6 / 10).write(to: URL(fileURLWithPath: folder.file("truncated.mp4")))
        let result = try onsr(["truncated.mp4", "out.mp4", "--allow-damaged", "--report", "report.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONSerialization.jsonObject(with: try bytes("report.json")) as! [String: Any]
        XCTAssertGreaterThan(report["damagedPackets"] as! Int, 0)
        let frames = try Shell.ffprobe(["-count_frames", "-select_streams", "v", "-show_entries", "stream=nb_read_frames",
                                        "-of", "csv=p=0", "out.mp4"], in: folder.path)
        XCTAssertEqual(Int(frames.trimmingCharacters(in: .whitespacesAndNewlines)), report["frames"] as? Int)
        XCTAssertGreaterThan(report["frames"] as! Int, 10)
    }

    func testRandomBytesEmptyMissingDirectoryAndAudioOnly() throws {
        var generator = SystemRandomNumberGenerator()
        try Data((0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .write(to: URL(fileURLWithPath: folder.file("random.mp4")))
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.file("empty.mp4"), contents: Data()))
        try FileManager.default.createDirectory(atPath: folder.file("folder.mp4"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "sine=d=1", "audio.m4a"], in: folder.path)
        try assertRejected("random.mp4", status: 65, mentioning: "not a media file")
        try assertRejected("empty.mp4", status: 65, mentioning: "empty")
        try assertRejected("missing.mp4", status: 66, mentioning: "no such file")
        try assertRejected("folder.mp4", status: 66, mentioning: "directory")
        try assertRejected("audio.m4a", status: 65, mentioning: "no video stream")
        // A song with its cover picture: the picture is stored as a video stream, but it is no video.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", "cover.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "sine=d=1", "-i", "cover.png", "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "png",
                          "-disposition:v", "attached_pic", "song.mp3"], in: folder.path)
        try assertRejected("song.mp3", status: 65, mentioning: "no video stream (it has only a cover picture, audio)")
    }

    /// FFmpeg takes `a:` for a protocol; a file named so is still a file, in and out, as a video or a picture sequence.
    func testNamesWithAColonAreFiles() throws {
        try FileManager.default.copyItem(atPath: folder.file("good.mp4"), toPath: folder.file("take:1.mp4"))
        let result = try onsr(["take:1.mp4", "take:1-x2.mkv", "--method", "bicubic", "--duration", "0.2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try Shell.ffprobe(["-show_entries", "stream=width", "-select_streams", "v", "-of", "csv=p=0", "./take:1-x2.mkv"],
                                         in: folder.path).trimmingCharacters(in: .whitespacesAndNewlines), "640")
        let pictures = try onsr(["take:1.mp4", "shot:%02d.png", "--method", "bicubic", "--duration", "0.2"])
        XCTAssertEqual(pictures.status, 0, pictures.stderr)
        XCTAssertEqual(folder.listing().filter { $0.hasPrefix("shot:") }, ["shot:01.png", "shot:02.png", "shot:03.png", "shot:04.png", "shot:05.png"])
        XCTAssertEqual(folder.listing().filter { $0.contains("onsr-partial") }, [])
    }

    func testExistingOutputNeedsOverwriteAndInputIsNeverReplaced() throws {
        let original = try bytes("good.mp4")
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.file("taken.mp4"), contents: Data("keep me".utf8)))
        var result = try onsr(["good.mp4", "taken.mp4"])
        XCTAssertEqual(result.status, 73, result.stderr)
        XCTAssertEqual(try bytes("taken.mp4"), Data("keep me".utf8))
        result = try onsr(["good.mp4", "good.mp4", "--overwrite"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(try bytes("good.mp4"), original)
        result = try onsr(["good.mp4", "taken.mp4", "--overwrite"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertNotEqual(try bytes("taken.mp4"), Data("keep me".utf8))
        XCTAssertEqual(try bytes("good.mp4"), original)
    }

    func testUnwritableDestinationAndUnknownOptions() throws {
        var result = try onsr(["good.mp4", "no/such/folder/out.mp4"])
        XCTAssertEqual(result.status, 73, result.stderr)
        result = try onsr(["good.mp4", "out.mp4", "--codec", "no-such-encoder"])
        XCTAssertEqual(result.status, 64, result.stderr)
        result = try onsr(["good.mp4", "out.mp4", "--scale", "3"])
        XCTAssertEqual(result.status, 64, result.stderr)
        result = try onsr(["good.mp4", "out.mp4", "--method", "onsr", "--blend", "3"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("--blend"), result.stderr)
        result = try onsr(["good.mp4", "out.mp4", "--encoder-option", "no-such-option=1"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("out.mp4")))
    }

    func testStreamTheContainerCannotHoldIsAnErrorUnlessDropped() throws {
        try "1\n00:00:00,500 --> 00:00:01,000\nHi\n".write(toFile: folder.file("s.srt"), atomically: true, encoding: .utf8)
        try Shell.ffmpeg(["-i", "good.mp4", "-i", "s.srt", "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "copy", "-c:s", "srt", "subs.mkv"],
                         in: folder.path)
        let before = folder.listing()
        // AVI holds no text subtitles (MP4 would get them as MOV text: `OutputChoiceTests`).
        var result = try onsr(["subs.mkv", "out.avi"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("subrip"), result.stderr)
        XCTAssertEqual(folder.listing(), before)
        result = try onsr(["subs.mkv", "out.avi", "--drop-unsupported-streams"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let kinds = try Shell.ffprobe(["-show_entries", "stream=codec_type", "-of", "csv=p=0", "out.avi"], in: folder.path)
        XCTAssertEqual(kinds.split(separator: "\n"), ["video", "audio"])
        // Asked to drop what the container cannot hold as it is, MP4 drops the subtitles rather than converting them.
        result = try onsr(["subs.mkv", "out.mp4", "--drop-unsupported-streams"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try Shell.ffprobe(["-show_entries", "stream=codec_type", "-of", "csv=p=0", "out.mp4"], in: folder.path)
                        .split(separator: "\n"), ["video", "audio"])
    }

    /// A long job writing out.mp4, returned once its partial output exists.
    func startLongJob() throws -> Process {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=20", "-c:v", "libx264", "-preset", "ultrafast", "long.mp4"],
                         in: folder.path)
        let process = try Shell.startOnsrVideo(["long.mp4", "out.mp4", "--scale", "4", "--method", "lanczos"], in: folder.path)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !folder.listing().contains(where: { $0.contains("onsr-partial") }) { usleep(20_000) }
        XCTAssertTrue(folder.listing().contains { $0.contains("onsr-partial") }, "the job had started writing")
        usleep(300_000)
        return process
    }

    func testInterruptRemovesThePartialOutput() throws {
        let process = try startLongJob()
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        XCTAssertEqual(folder.listing().filter { $0.hasPrefix(".") || $0.hasPrefix("out") }, [])
    }

    func testAKilledRunsPartialOutputIsRemovedByTheNextRunToTheSameDestination() throws {
        let process = try startLongJob()
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let left = folder.listing().filter { $0.contains("onsr-partial") }
        XCTAssertEqual(left.count, 1, "SIGKILL leaves the partial file: \(folder.listing())")
        // Another host's partial for the same destination, and this host's for another one, stay.
        // A host name with this host's as its prefix is another host.
        let elsewhere = ".out.mp4.onsr-partial-\(process.processIdentifier)@\(StalePartials.host)-2.example@1.mp4"
        let other = ".other.mp4.onsr-partial-\(process.processIdentifier)@\(StalePartials.host)@1.mp4"
        for name in [elsewhere, other] { XCTAssertTrue(FileManager.default.createFile(atPath: folder.file(name), contents: Data())) }
        let result = try onsr(["long.mp4", "out.mp4", "--method", "bicubic", "--scale", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(folder.listing().filter { $0.contains("onsr-partial") }.sorted(), [elsewhere, other].sorted())
    }

    func testEncoderSettingsAreCheckedAndEncodersStayQuiet() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=1", "-c:v", "libx264", "in.mp4"], in: folder.path)
        for (arguments, needle) in [(["--preset", "ludicrous"], "--preset ludicrous is not a libx264 preset"),
                                    (["--crf", "99"], "--crf must be between 0 and 51"),
                                    (["--crf", "-5"], "--crf must be between 0 and 51")] {
            let result = try onsr(["in.mp4", "out.mp4", "--method", "bicubic"] + arguments)
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("onsr-video: error: ") && result.stderr.contains(needle), result.stderr)
        }
        XCTAssertFalse(folder.listing().contains { $0.hasPrefix("out") || $0.hasPrefix(".out") }, "\(folder.listing())")
        let webm = try onsr(["in.mp4", "out.webm", "--method", "bicubic", "--codec", "libx264"])
        XCTAssertEqual(webm.status, 64, webm.stderr)
        XCTAssertEqual(webm.stderr, "onsr-video: error: out.webm: a webm file cannot hold libx264 video; choose another --codec or container\n")
        for codec in ["libx265", "libsvtav1"] {
            let result = try onsr(["in.mp4", "out-\(codec).mp4", "--method", "bicubic", "--codec", codec, "--quiet"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stderr, "", "\(codec) prints its banner only with --verbose")
        }
    }

    func testATruncatedFileIsDamagedNotShort() throws {
        // A faststart MP4 (its index first) cut after its 12th video packet: the demuxer just stops there.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-movflags", "+faststart",
                          "whole.mp4"], in: folder.path)
        let packets = try Shell.ffprobe(["-v", "error", "-select_streams", "v", "-show_entries", "packet=pos,size", "-of", "csv=p=0", "whole.mp4"],
                                        in: folder.path).split(separator: "\n").map { $0.split(separator: ",").compactMap { Int($0) } }
        let end = packets[11][0] + packets[11][1]
        let whole = try Data(contentsOf: URL(fileURLWithPath: folder.file("whole.mp4")))
        try whole.prefix(end).write(to: URL(fileURLWithPath: folder.file("cut.mp4")))
        let result = try onsr(["cut.mp4", "out.mp4", "--method", "bicubic"])
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("cut.mp4") && result.stderr.contains("12 of the 50 frames"), result.stderr)
        XCTAssertFalse(folder.listing().contains { $0.hasPrefix("out") || $0.hasPrefix(".out") }, "\(folder.listing())")
        // Kept with --allow-damaged: what decodes, and the report counts the damage.
        let kept = try onsr(["cut.mp4", "out.mp4", "--method", "bicubic", "--allow-damaged", "--report", "r.json"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
        XCTAssertEqual(report?["frames"] as? Int, 12)
        XCTAssertEqual(report?["damagedPackets"] as? Int, 1)
        // The whole file is not damaged.
        XCTAssertEqual(try onsr(["whole.mp4", "whole-out.mp4", "--method", "bicubic"]).status, 0)
    }

    /// An AVI that repeats frames by empty index entries (as opencv-doc's tree.avi does) holds fewer frames than its
    /// header states but is whole: read from a file (the index gives the count) or a pipe (no index; the frames still
    /// span the stated duration), it upscales without --allow-damaged and keeps its timing. Cut short, it is damaged.
    func testAnAVIThatRepeatsFramesIsWhole() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=4", "-vf", "select=lt(mod(n\\,10)\\,3)",
                          "-fps_mode", "passthrough", "-c:v", "mpeg4", "repeats.avi"], in: folder.path)
        let file = try onsr(["repeats.avi", "file.mkv", "--method", "bicubic", "--report", "file.json"])
        XCTAssertEqual(file.status, 0, file.stderr)
        let piped = try Shell.run(["bash", "-c", "\(BuiltProducts.onsrVideo) - piped.mkv --method bicubic < repeats.avi"], in: folder.path)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        let report = try JSONSerialization.jsonObject(with: try bytes("file.json")) as? [String: Any]
        XCTAssertEqual(report?["frames"] as? Int, 18)
        for output in ["file.mkv", "piped.mkv"] {
            let times = try Shell.ffprobe(["-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0", output], in: folder.path)
                .split(separator: "\n").compactMap { Double($0) }.sorted()
            XCTAssertEqual(times.count, 18, output)
            XCTAssertEqual(times.last ?? 0, 52.0 / 15, accuracy: 0.01, "\(output) keeps the repeats as gaps in time")
        }
        let whole = try bytes("repeats.avi")
        try whole.prefix(whole.count * 6 / 10).write(to: URL(fileURLWithPath: folder.file("cut.avi")))
        try assertRejected("cut.avi", status: 65, mentioning: "damaged", extra: ["--method", "bicubic"])
    }

    /// Damage outside the video: every frame decodes, but the file ends before the audio its index states, or
    /// inside an audio packet (which the demuxer flags corrupt). Both are damage, named with the time in the audio.
    func testDamageInACopiedStreamIsDamage() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-f", "lavfi", "-i", "sine=d=2.5",
                          "-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart", "whole.mp4"], in: folder.path)
        let packets = try Shell.ffprobe(["-show_entries", "packet=stream_index,pos,size", "-of", "csv=p=0", "whole.mp4"], in: folder.path)
            .split(separator: "\n").map { $0.split(separator: ",").compactMap { Int($0) } }.filter { $0.count == 3 }
        let videoEnd = packets.filter { $0[0] == 0 }.map { $0[1] + $0[2] }.max()!
        let lastAudio = packets.filter { $0[0] == 1 }.max { $0[2] < $1[2] }!
        XCTAssertGreaterThan(lastAudio[2], videoEnd, "the fixture ends with audio")
        let whole = try bytes("whole.mp4")
        try whole.prefix(videoEnd).write(to: URL(fileURLWithPath: folder.file("no-audio-end.mp4")))
        try whole.prefix(lastAudio[2] + lastAudio[1] / 2).write(to: URL(fileURLWithPath: folder.file("cut-audio-packet.mp4")))
        try assertRejected("no-audio-end.mp4", status: 65, mentioning: "bytes before the end its index states")
        try assertRejected("cut-audio-packet.mp4", status: 65, mentioning: "stream #1 flagged corrupt")
        let kept = try onsr(["cut-audio-packet.mp4", "out.mp4", "--allow-damaged", "--report", "r.json"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
        XCTAssertEqual(report?["frames"] as? Int, 50)
        XCTAssertGreaterThanOrEqual(report?["damagedPackets"] as? Int ?? 0, 1)
        let audio = try Shell.ffprobe(["-select_streams", "a", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "out.mp4"], in: folder.path)
        XCTAssertEqual(audio.trimmingCharacters(in: .whitespacesAndNewlines), "aac", "what decodes of the audio is kept")
        XCTAssertEqual(try onsr(["whole.mp4", "whole-out.mp4"]).status, 0, "the whole file is not damaged")
    }

    /// A full disk (a 64 KiB tmpfs) is reported as one, with the output's name and no hidden temporary name, exit
    /// 73, and nothing left on the disk by `image`, `frames` and video. Needs the right to mount (root in CI).
    func testFullDiskIsReportedAsFullDisk() throws {
        try FileManager.default.createDirectory(atPath: folder.file("full"), withIntermediateDirectories: false)
        let mounted = try Shell.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder.file("full")])
        try XCTSkipIf(mounted.status != 0, "cannot mount a small tmpfs here: \(mounted.stderr)")
        defer { _ = try? Shell.run(["umount", folder.file("full")]) }
        try FileManager.default.createDirectory(atPath: folder.file("frames"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "nullsrc=s=256x256,geq=random(1)*255:128:128", "-frames:v", "1", "frames/noise.png"], in: folder.path)
        for arguments in [["image", "frames/noise.png", "full/out.png"], ["frames", "frames", "full/out"], ["good.mp4", "full/out.mp4"]] {
            let result = try onsr(arguments + ["--method", "bicubic"])
            XCTAssertEqual(result.status, 73, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("full/out") && result.stderr.contains("No space left on device"), result.stderr)
            XCTAssertFalse(result.stderr.contains("onsr-partial"), "the hidden temporary name is not shown: \(result.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.file("full")), [], "\(arguments) left nothing")
        }
    }
}
