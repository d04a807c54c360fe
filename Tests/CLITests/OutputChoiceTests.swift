import Foundation
import TestSupport
import XCTest

/// What the output is made of. Without --codec, H.264 wherever the container takes it, and otherwise the container's
/// own codec, as FFmpeg writes it; audio it cannot hold is re-encoded with its own audio codec; a container that
/// refuses what it is given says so on one line; --width / --height resample the upscaled frames.
final class OutputChoiceTests: XCTestCase {
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

    /// Mono 48 kHz samples of `file`'s first audio stream, as FFmpeg decodes them.
    func samples(_ file: String) throws -> [Float] {
        try Shell.ffmpeg(["-i", file, "-map", "0:a:0", "-ar", "48000", "-ac", "1", "-f", "f32le", "\(file).raw"], in: folder.path)
        let data = try Data(contentsOf: URL(fileURLWithPath: folder.file("\(file).raw")))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// WebM gets VP9 at constant quality (libvpx's own default is a 256 kb/s budget), and the AAC audio it cannot hold
    /// is re-encoded as Opus: the same sine, as long, at the same level, in time with the video.
    func testWebMIsVP9AtConstantQualityWithOpusAudio() throws {
        let result = try onsr(["silent.mp4", "out.webm", "--report", "webm.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try probe("out.webm"), "vp9,192,128,10")
        let settings = try report("webm.json")["settings"] as? [String: Any]
        XCTAssertEqual(settings?["codec"] as? String, "libvpx-vp9")
        XCTAssertEqual(settings?["crf"] as? Double, 31)
        XCTAssertEqual(settings?["encoderOptions"] as? [String], ["b=0", "row-mt=1"])
        let withAudio = try onsr(["clip.mp4", "out2.webm", "--report", "audio.json"])
        XCTAssertEqual(withAudio.status, 0, withAudio.stderr)
        XCTAssertTrue(withAudio.stderr.contains("re-encoded as libopus"), withAudio.stderr)
        let streams = try report("audio.json")["streams"] as? [[String: Any]]
        XCTAssertEqual(streams?.map { $0["action"] as? String }, ["upscaled", "transcoded"])
        XCTAssertEqual(streams?.last?["outputCodec"] as? String, "libopus")
        let (input, output) = (try samples("clip.mp4"), try samples("out2.webm"))
        XCTAssertEqual(Double(output.count), Double(input.count), accuracy: Double(input.count) * 0.02, "as long")
        func rms(_ x: [Float]) -> Double { (x.reduce(0) { $0 + Double($1 * $1) } / Double(max(x.count, 1))).squareRoot() }
        // Zero crossings of the middle half (the codecs' priming and padding make the ends ragged).
        func crossings(_ x: [Float]) -> Int {
            let middle = x[(x.count / 4)..<(3 * x.count / 4)]
            return zip(middle, middle.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        }
        XCTAssertEqual(rms(output), rms(input), accuracy: rms(input) * 0.1, "the same level")
        XCTAssertEqual(Double(crossings(output)), Double(crossings(input)), accuracy: Double(crossings(input)) * 0.02, "the same tone")
        let first = try Shell.ffprobe(["-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time", "-of", "csv=p=0",
                                       "out2.webm"], in: folder.path).split(separator: "\n").first.flatMap { Double($0) }
        XCTAssertEqual(first ?? 9, 0, accuracy: 0.05, "the audio starts with the video")
        // Asked to drop what the container cannot hold, it drops it.
        let dropped = try onsr(["clip.mp4", "out3.webm", "--drop-unsupported-streams", "--report", "dropped.json"])
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertEqual((try report("dropped.json")["streams"] as? [[String: Any]])?.map { $0["action"] as? String }, ["upscaled", "dropped"])
    }

    /// Where FFmpeg cannot say what a container holds (Ogg, MPEG program streams), a header written into memory asks
    /// the muxer itself: Ogg gets its own Theora (at quality 7, not a 200 kb/s budget) and Vorbis, an MPEG program
    /// stream keeps H.264 and gets MP2 for the AAC it refuses. Before, both were refused at the header.
    func testContainersFFmpegCannotAnswerForAreAskedByATrialHeader() throws {
        let ogg = try onsr(["clip.mp4", "out.ogv", "--report", "ogg.json"])
        XCTAssertEqual(ogg.status, 0, ogg.stderr)
        XCTAssertTrue(ogg.stderr.contains("re-encoded as libvorbis"), ogg.stderr)
        XCTAssertEqual(try Shell.ffprobe(["-show_entries", "stream=codec_name", "-of", "csv=p=0", "out.ogv"], in: folder.path)
                        .split(separator: "\n").map(String.init), ["theora", "vorbis"])
        let settings = try report("ogg.json")["settings"] as? [String: Any]
        XCTAssertEqual(settings?["encoderOptions"] as? [String], ["flags=+qscale", "global_quality=826"])
        let program = try onsr(["clip.mp4", "out.mpg"])
        XCTAssertEqual(program.status, 0, program.stderr)
        XCTAssertEqual(try Shell.ffprobe(["-show_entries", "stream=codec_name", "-of", "csv=p=0", "out.mpg"], in: folder.path)
                        .split(separator: "\n").map(String.init), ["h264", "mp2"])
    }

    /// Text subtitles the container cannot hold become its own text subtitles, with their times, as FFmpeg converts them:
    /// MP4's MOV text into Matroska becomes ASS, SubRip into MP4 becomes MOV text. AVI and MPEG-TS hold no text
    /// subtitles: an error, or with --drop-unsupported-streams a warning.
    func testTextSubtitlesBecomeTheContainersOwn() throws {
        try "1\n00:00:00,000 --> 00:00:00,200\nHello\n\n2\n00:00:00,200 --> 00:00:00,400\nWorld\n"
            .write(toFile: folder.file("s.srt"), atomically: true, encoding: .utf8)
        try Shell.ffmpeg(["-i", "silent.mp4", "-i", "s.srt", "-c:v", "copy", "-c:s", "mov_text", "subbed.mp4"], in: folder.path)
        func events(_ file: String) throws -> String {
            try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-map", "0:s", "-f", "srt", "-"], in: folder.path).stdout
        }
        let expected = try events("subbed.mp4")
        XCTAssertTrue(expected.contains("00:00:00,200 --> 00:00:00,400\nWorld"), expected)
        for (input, output, codec) in [("subbed.mp4", "out.mkv", "ass"), ("out.mkv", "back.mp4", "mov_text")] {
            let result = try onsr([input, output, "--report", "\(output).json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stderr.contains("converted to \(codec)"), result.stderr)
            XCTAssertEqual(try events(output), expected, output)
            let streams = try report("\(output).json")["streams"] as? [[String: Any]]
            XCTAssertEqual(streams?.last?["action"] as? String, "transcoded")
            XCTAssertEqual(streams?.last?["outputCodec"] as? String, codec)
        }
        // AVI holds no subtitles; MPEG-TS only DVB's bitmaps (text would be written as unreadable private data).
        for container in ["avi", "mpegts"] {
            let refused = try onsr(["subbed.mp4", "out.\(container == "avi" ? "avi" : "ts")"])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("cannot be stored in a \(container) file"), refused.stderr)
        }
        let dropped = try onsr(["subbed.mp4", "out.ts", "--drop-unsupported-streams"])
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertTrue(dropped.stderr.contains("cannot be stored in mpegts; dropped"), dropped.stderr)
        let kinds = try Shell.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", "out.ts"], in: folder.path)
        XCTAssertFalse(kinds.stdout.contains("data"), kinds.stdout)
    }

    /// HLS and DASH name their segments relative to the playlist: the set is written in a hidden folder and moved
    /// out whole, segments named for the output, the playlist complete.
    func testHLSAndDASHAreMovedIntoPlaceWithTheirSegments() throws {
        let result = try onsr(["clip.mp4", "out.m3u8"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let playlist = try String(contentsOfFile: folder.file("out.m3u8"), encoding: .utf8)
        XCTAssertTrue(playlist.contains("\nout0.ts") && playlist.contains("#EXT-X-ENDLIST"), playlist)
        XCTAssertTrue(folder.listing().contains("out0.ts"), "\(folder.listing())")
        XCTAssertFalse(folder.listing().contains { $0.contains("onsr-partial") }, "\(folder.listing())")
        XCTAssertEqual(try onsr(["clip.mp4", "out.m3u8"]).status, 73, "an existing playlist needs --overwrite")
        XCTAssertEqual(try onsr(["clip.mp4", "out.m3u8", "--overwrite"]).status, 0)
        XCTAssertTrue(try probe("out.m3u8").hasPrefix("h264,192,128,10"), "the playlist plays")

        XCTAssertEqual(try onsr(["clip.mp4", "out.mpd"]).status, 0)
        XCTAssertTrue(folder.listing().contains("init-stream0.m4s"), "\(folder.listing())")
        XCTAssertFalse(folder.listing().contains { $0.contains("onsr-partial") }, "\(folder.listing())")
        XCTAssertTrue(try probe("out.mpd").hasPrefix("h264,192,128,10"), "the manifest plays")
    }

    /// An interrupted HLS run leaves no playlist and no segment under a final name.
    func testAnInterruptedHLSRunLeavesNothing() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=60", "-c:v", "libx264", "-preset", "ultrafast",
                          "long.mp4"], in: folder.path)
        try FileManager.default.createDirectory(atPath: folder.file("live"), withIntermediateDirectories: false)
        let before = Set(folder.listing())
        let process = try Shell.startOnsrVideo(["long.mp4", "live/out.m3u8", "--method", "lanczos", "--scale", "4", "--preset", "ultrafast"],
                                               in: folder.path)
        // The playlist is first written when the first segment is complete (x264's keyframes are 10 s apart here).
        func hidden() -> [String] {
            let live = (try? FileManager.default.contentsOfDirectory(atPath: folder.file("live"))) ?? []
            return live.first { $0.contains("onsr-partial") }.flatMap { try? FileManager.default.contentsOfDirectory(atPath: folder.file("live/\($0)")) } ?? []
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !hidden().contains("out.m3u8") { usleep(20_000) }
        XCTAssertTrue(hidden().contains("out.m3u8") && hidden().contains("out0.ts"), "the job had written a playlist and a segment: \(hidden())")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.file("live")), [], "no playlist, no segment, no hidden folder")
        XCTAssertEqual(Set(folder.listing()), before)
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
        // Each GIF frame has a palette of its own: close to the same x2 in lossless video (32.3 dB on 2026-11-30), where
        // FFmpeg's fixed bgr8 palette bands (23.2 dB with --pix-fmt bgr8).
        XCTAssertEqual((try report("out.gif.json")["settings"] as? [String: Any])?["pixelFormat"] as? String, "pal8")
        XCTAssertEqual(try onsr(["clip.mp4", "lossless.mkv", "--codec", "ffv1", "--pix-fmt", "bgr0"]).status, 0)
        let psnr = try Shell.run(["ffmpeg", "-i", "out.gif", "-i", "lossless.mkv", "-lavfi", "[0:v]format=rgb24,settb=1/25,setpts=N[a];"
                                  + "[1:v]format=rgb24,settb=1/25,setpts=N[b];[a][b]psnr", "-f", "null", "-"], in: folder.path)
        let average = psnr.stderr.components(separatedBy: "average:").last.flatMap { Double($0.prefix { $0 == "." || $0.isNumber }) }
        XCTAssertGreaterThan(average ?? 0, 30, String(psnr.stderr.suffix(300)))
    }

    /// --height 96 on a 96x64 input: upscaled x2 to 192x128, then resampled to 144x96 (Lanczos), close to FFmpeg's
    /// own Lanczos downscaling of the x2 output; an odd side is refused on one line.
    func testAnOutputSizeIsMetByResampling() throws {
        XCTAssertEqual(try onsr(["silent.mp4", "x2.mkv", "--codec", "ffv1"]).status, 0)
        let result = try onsr(["silent.mp4", "sized.mkv", "--codec", "ffv1", "--height", "96", "--report", "sized.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try probe("sized.mkv"), "ffv1,144,96,10")
        XCTAssertEqual(try report("sized.json")["outputSize"] as? [Int], [144, 96])
        try Shell.ffmpeg(["-i", "x2.mkv", "-vf", "scale=144:96:flags=lanczos", "-c:v", "ffv1", "reference.mkv"], in: folder.path)
        let psnr = try Shell.run(["ffmpeg", "-i", "sized.mkv", "-i", "reference.mkv", "-lavfi", "[0:v]setpts=N[a];[1:v]setpts=N[b];[a][b]psnr",
                                  "-f", "null", "-"], in: folder.path)
        let average = psnr.stderr.components(separatedBy: "average:").last.flatMap { Double($0.prefix { $0 == "." || $0.isNumber }) }
        XCTAssertGreaterThan(average ?? 0, 38, String(psnr.stderr.suffix(300)))
        let odd = try onsr(["silent.mp4", "odd.mkv", "--width", "301"])
        XCTAssertEqual(odd.status, 64, odd.stderr)
        XCTAssertTrue(odd.stderr.contains("--width must be even"), odd.stderr)
    }

    /// DV takes only its own codec at its broadcast sizes: a 192x128 picture is refused on one line, as a usage error, with
    /// no output.
    func testAContainerThatRefusesTheVideoSaysSo() throws {
        let result = try onsr(["silent.mp4", "out.dv"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("out.dv: a dv file takes dvvideo video, which refuses 192x128"), result.stderr)
        XCTAssertFalse(folder.listing().contains { $0.contains("out.dv") }, "\(folder.listing())")
    }
}
