import Foundation
import TestSupport
import XCTest

/// Runs `onsr-video IN OUT` as a user would, on clips that ffmpeg makes, and judges the results with ffprobe.
final class UpscaleCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-cli") }
    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + BuiltProducts.withFastMethod(arguments), in: folder.path)
    }

    func probe(_ arguments: [String]) throws -> String { try Shell.ffprobe(arguments, in: folder.path) }

    func framePTS(_ file: String) throws -> [String] {
        try probe(["-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", file])
            .split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " ,")) }.filter { !$0.isEmpty }
    }

    func audioMD5(_ file: String, stream: Int = 0) throws -> String {
        let result = try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-map", "0:a:\(stream)", "-c", "copy", "-f", "md5", "-"], in: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    /// Partial outputs are hidden files with this marker; none may survive any run.
    func assertNoPartialFiles(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(folder.listing().filter { $0.contains("onsr-partial") }, [], file: file, line: line)
    }

    // Acceptance 1: 640x360 H.264 + AAC MP4 at x2.
    func testMP4KeepsFrameCountTimestampsAndAudioBits() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2", "-f", "lavfi", "-i", "sine=f=440:d=2",
                          "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "in.mp4"], in: folder.path)
        let result = try onsr(["in.mp4", "out.mp4", "--method", "bicubic"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let size = try probe(["-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", "out.mp4"])
        XCTAssertEqual(size.trimmingCharacters(in: .whitespacesAndNewlines), "1280,720")
        let before = try framePTS("in.mp4"), after = try framePTS("out.mp4")
        XCTAssertEqual(before.count, 50)
        XCTAssertEqual(after, before, "every frame keeps its presentation time")
        XCTAssertEqual(try audioMD5("out.mp4"), try audioMD5("in.mp4"), "audio is copied bit for bit")
        assertNoPartialFiles()
    }

    // Acceptance 2: two audio languages, a subtitle track, chapters and global metadata in MKV.
    func testMKVKeepsAudioTracksLanguagesSubtitlesAndChapters() throws {
        try "1\n00:00:00,500 --> 00:00:01,200\nHello\n\n2\n00:00:01,300 --> 00:00:01,900\nWorld\n"
            .write(toFile: folder.file("s.srt"), atomically: true, encoding: .utf8)
        try ";FFMETADATA1\ntitle=Test film\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=Opening\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Closing\n"
            .write(toFile: folder.file("meta.txt"), atomically: true, encoding: .utf8)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-f", "lavfi", "-i", "sine=f=440:d=2",
                          "-f", "lavfi", "-i", "sine=f=880:d=2", "-i", "s.srt", "-i", "meta.txt",
                          "-map", "0", "-map", "1", "-map", "2", "-map", "3", "-map_metadata", "4", "-map_chapters", "4",
                          "-c:v", "libx264", "-c:a", "libopus", "-c:s", "srt",
                          "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:s:0", "language=deu",
                          "in.mkv"], in: folder.path)
        let result = try onsr(["in.mkv", "out.mkv"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let streams = ["-show_entries", "stream=index,codec_type,codec_name:stream_tags=language", "-of", "compact"]
        let inputStreams = try probe(streams + ["in.mkv"]).replacingOccurrences(of: "codec_name=h264", with: "")
        let outputStreams = try probe(streams + ["out.mkv"]).replacingOccurrences(of: "codec_name=h264", with: "")
        XCTAssertEqual(outputStreams, inputStreams)
        XCTAssertTrue(outputStreams.contains("language=fra") && outputStreams.contains("subrip") && outputStreams.contains("language=deu"))
        let chapters = ["-show_entries", "chapter=start_time,end_time:chapter_tags=title:format_tags=title", "-of", "compact"]
        XCTAssertEqual(try probe(chapters + ["out.mkv"]), try probe(chapters + ["in.mkv"]))
        XCTAssertTrue(try probe(chapters + ["out.mkv"]).contains("title=Closing"))
        XCTAssertEqual(try audioMD5("out.mkv", stream: 1), try audioMD5("in.mkv", stream: 1))
        let subtitles = { (file: String) in try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-map", "0:s", "-c", "copy", "-f", "md5", "-"], in: self.folder.path).stdout }
        XCTAssertEqual(try subtitles("out.mkv"), try subtitles("in.mkv"))
    }

    // Acceptance 3: variable frame rate.
    func testMatroskaKeepsAFontAttachment() throws {
        try Data("not really a font".utf8).write(to: URL(fileURLWithPath: folder.file("font.ttf")))
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=1", "-c:v", "libx264", "-attach", "font.ttf",
                          "-metadata:s:t", "mimetype=application/x-truetype-font", "in.mkv"], in: folder.path)
        let result = try onsr(["in.mkv", "out.mkv", "--method", "bicubic"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let streams = try Shell.ffprobe(["-show_entries", "stream=codec_type:stream_tags=filename,mimetype", "-of", "csv=p=0", "out.mkv"],
                                        in: folder.path)
        XCTAssertEqual(streams.split(separator: "\n"), ["video", "attachment,font.ttf,application/x-truetype-font"])
        // MP4 has no attachments: refused with the usual hint.
        let mp4 = try onsr(["in.mkv", "out.mp4", "--method", "bicubic"])
        XCTAssertEqual(mp4.status, 64)
        XCTAssertTrue(mp4.stderr.contains("attachment") && mp4.stderr.contains("--drop-unsupported-streams"), mp4.stderr)
    }

    func testVariableFrameRateKeepsEveryTimestamp() throws {
        // Gaps that grow frame by frame: no two are alike, so no constant rate describes the clip.
        let irregular = "setpts='(N+N*N/50)/25/TB'"
        for name in ["vfr.mkv", "vfr.mp4"] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-vf", irregular, "-fps_mode", "vfr",
                              "-c:v", "libx264", name], in: folder.path)
            let result = try onsr([name, "out-" + name])
            XCTAssertEqual(result.status, 0, result.stderr)
            let before = try framePTS(name)
            XCTAssertEqual(try framePTS("out-" + name), before)
            let times = before.compactMap(Double.init)
            XCTAssertEqual(times.count, before.count, "every frame has a timestamp")
            let gaps = Set(zip(times.dropFirst(), times).map { Int((($0 - $1) * 1000).rounded()) })
            XCTAssertGreaterThan(gaps.count, 2, "the fixture really is variable-rate")
        }
    }

    func meanYUV(_ file: String) throws -> [Double] {
        let result = try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-vf", "signalstats,metadata=print:file=-", "-frames:v", "1",
                                    "-f", "null", "-"], in: folder.path)
        return ["YAVG", "UAVG", "VAVG"].map { key in
            let line = result.stdout.split(separator: "\n").first { $0.contains("signalstats.\(key)=") }!
            return Double(line.split(separator: "=").last!)!
        }
    }

    // Acceptance 4: BT.709 limited range tags and values survive; 10-bit stays 10-bit.
    func testBT709LimitedColourCardKeepsTagsAndValues() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "color=c=0x3080C0:size=320x240:rate=25:duration=1",
                          "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
                          "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
                          "-c:v", "libx264", "card.mp4"], in: folder.path)
        let result = try onsr(["card.mp4", "out.mp4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let tags = ["-select_streams", "v", "-show_entries", "stream=color_space,color_range,color_primaries,color_transfer", "-of", "compact"]
        let outputTags = try probe(tags + ["out.mp4"])
        XCTAssertEqual(outputTags, try probe(tags + ["card.mp4"]))
        XCTAssertTrue(outputTags.contains("color_space=bt709") && outputTags.contains("color_range=tv"), outputTags)
        let before = try meanYUV("card.mp4"), after = try meanYUV("out.mp4")
        for (b, a) in zip(before, after) { XCTAssertEqual(a, b, accuracy: 1.0, "mean code value within 1: \(before) vs \(after)") }
    }

    func testTenBitInputGivesTenBitOutput() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-pix_fmt", "yuv420p10le",
                          "-c:v", "ffv1", "ten.mkv"], in: folder.path)
        for codec in ["libx265", "ffv1"] {
            let result = try onsr(["ten.mkv", "out-\(codec).mkv", "--codec", codec])
            XCTAssertEqual(result.status, 0, result.stderr)
            let format = try probe(["-select_streams", "v", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", "out-\(codec).mkv"])
            XCTAssertEqual(format.trimmingCharacters(in: .whitespacesAndNewlines), "yuv420p10le", codec)
        }
    }

    // Acceptance 5: the display matrix survives.
    func testRotationIsKept() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "plain.mp4"], in: folder.path)
        try Shell.ffmpeg(["-i", "plain.mp4", "-c", "copy", "-metadata:s:v:0", "rotate=90", "rotated.mp4"], in: folder.path)
        let result = try onsr(["rotated.mp4", "out.mp4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let query = ["-select_streams", "v", "-show_entries", "stream_side_data=rotation", "-of", "csv=p=0"]
        let rotation = try probe(query + ["out.mp4"]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(rotation.isEmpty)
        XCTAssertEqual(rotation, try probe(query + ["rotated.mp4"]).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A user can see why a machine is slow: the report, --verbose and --version name the library, the
    /// precision, oneDNN's kernel and how idle threads wait; fp32 asked for is fp32 used.
    func testReportVerboseAndVersionNameThePrecisionAndKernel() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.2", "-c:v", "libx264", "small.mp4"], in: folder.path)
        let result = try onsr(["small.mp4", "out.mp4", "--method", "pretrained", "--precision", "fp32", "--verbose", "--report", "r.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("oneDNN") && result.stderr.contains("inference fp32"), result.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any])
        let compute = try XCTUnwrap(report["compute"] as? [String: String], "the report names the compute")
        XCTAssertEqual(compute["precision"], "fp32")
        XCTAssertTrue(compute["library"]?.hasPrefix("oneDNN ") ?? false)
        XCTAssertFalse((compute["kernel"] ?? "ref").hasPrefix("ref"), "\(compute)")
        let version = try onsr(["--version"])
        XCTAssertTrue(version.stdout.contains("oneDNN") && version.stdout.contains("--precision auto"), version.stdout)
        // Idle threads spin briefly unless the user chose a wait policy, which is then kept.
        let unset = ["-u", "OMP_WAIT_POLICY", "-u", "GOMP_SPINCOUNT"]
        XCTAssertTrue(try Shell.run(unset + [BuiltProducts.onsrVideo, "--version"]).stdout.contains("idle threads: GOMP_SPINCOUNT=1000"))
        let chosen = try Shell.run(unset + ["OMP_WAIT_POLICY=active", BuiltProducts.onsrVideo, "--version"]).stdout
        XCTAssertTrue(chosen.contains("idle threads: OMP_WAIT_POLICY=active"), chosen)
    }

    /// Interlaced input (H.264 with top-field-first fields of moving content) is deinterlaced before upscaling:
    /// one frame out per frame in, tagged progressive, and FFmpeg's idet finds no combing in the output; with
    /// `--deinterlace off` it finds combing in every frame and the run says so. Judged by ffprobe and idet.
    func testInterlacedInputIsDeinterlaced() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50", "-vf", "interlace=scan=tff:lowpass=0",
                          "-c:v", "libx264", "-flags", "+ildct+ilme", "-frames:v", "25", "in.mp4"], in: folder.path)
        func fields(_ file: String) throws -> String {
            try probe(["-select_streams", "v:0", "-show_entries", "stream=field_order,nb_frames", "-of", "csv=p=0", file])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        /// idet's multi-frame verdicts: (top field first, bottom field first, progressive).
        func combing(_ file: String) throws -> [Int] {
            let result = try Shell.run(["ffmpeg", "-nostdin", "-i", file, "-vf", "idet", "-f", "null", "-"], in: folder.path)
            let line = result.stderr.split(separator: "\n").first { $0.contains("Multi frame detection") } ?? ""
            return ["TFF:", "BFF:", "Progressive:"].map { label in
                let tail = line.components(separatedBy: label).dropFirst().first ?? ""
                return Int(tail.split(separator: " ").first ?? "") ?? -1
            }
        }
        XCTAssertEqual(try fields("in.mp4"), "tt,25")
        XCTAssertEqual(try combing("in.mp4")[0], 25, "the fixture is combed")

        let result = try onsr(["in.mp4", "out.mp4", "--method", "bicubic", "--report", "r.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "", "deinterlacing is a decision in the report, not a warning")
        XCTAssertEqual(try fields("out.mp4"), "progressive,25")
        XCTAssertEqual(try combing("out.mp4"), [0, 0, 25])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
        let interlace = report?["interlace"] as? [String: Any]
        XCTAssertEqual(interlace?["fieldOrder"] as? String, "tt")
        XCTAssertEqual(interlace?["deinterlacer"] as? String, "bwdif")
        XCTAssertEqual(interlace?["deinterlacedFrames"] as? Int, 25)

        let off = try onsr(["in.mp4", "off.mkv", "--method", "bicubic", "--deinterlace", "off"])
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertTrue(off.stderr.contains("25 interlaced frames upscaled as progressive frames"), off.stderr)
        XCTAssertEqual(try fields("off.mkv").split(separator: ",").first, "progressive")
        XCTAssertGreaterThan(try combing("off.mkv")[0], 20, "fields scaled together stay combed")

        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "10", "-c:v", "libx264", "p.mp4"], in: folder.path)
        XCTAssertEqual(try onsr(["p.mp4", "p-out.mp4", "--method", "bicubic", "--report", "p.json"]).status, 0)
        let progressive = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("p.json")))) as? [String: Any]
        XCTAssertNil(progressive?["interlace"], "progressive input is not touched")
        XCTAssertEqual(try onsr(["p.mp4", "bad.mp4", "--deinterlace", "maybe"]).status, 64)
    }

    /// A stream that changes size midway (MPEG-TS segments joined as a recording across an ad break would join them) is
    /// upscaled whole: the frames of the other size are fitted into the first size with their shape kept, on black,
    /// where FFmpeg would stretch them. Interlaced segments get a deinterlacer of their own size.
    func testAStreamThatChangesSizeIsFittedWithItsShapeKept() throws {
        for (index, source) in ["testsrc2=size=160x90:rate=25", "smptebars=size=128x96:rate=25"].enumerated() {
            try Shell.ffmpeg(["-f", "lavfi", "-i", source, "-frames:v", "15", "-c:v", "libx264", "-output_ts_offset", String(0.6 * Double(index)),
                              "-f", "mpegts", "part\(index).ts"], in: folder.path)
            try Shell.ffmpeg(["-f", "lavfi", "-i", source, "-frames:v", "16", "-vf", "tinterlace=interleave_top,fieldorder=tff", "-c:v", "libx264",
                              "-flags", "+ildct+ilme", "-output_ts_offset", String(1.28 * Double(index)), "-f", "mpegts", "field\(index).ts"], in: folder.path)
        }
        for name in ["part", "field"] {
            try "file '\(name)0.ts'\nfile '\(name)1.ts'\n".write(toFile: folder.file("\(name).txt"), atomically: true, encoding: .utf8)
            try Shell.ffmpeg(["-f", "concat", "-i", "\(name).txt", "-c", "copy", "\(name)s.ts"], in: folder.path)
        }
        let result = try onsr(["parts.ts", "out.mkv", "--method", "bicubic", "--report", "r.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("are 128x96, not 160x90: fitted into 160x90"), result.stderr)
        XCTAssertEqual(try probe(["-count_frames", "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", "out.mkv"])
                        .trimmingCharacters(in: .whitespacesAndNewlines), "320,180,30")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
        XCTAssertEqual(report?["refittedFrames"] as? Int, 15)
        // The 4:3 bars take 120 of the 160 columns (240 of 320 upscaled): 40 columns of black on each side (0 in
        // FFmpeg's full-range grey).
        let luma = try Shell.run(["ffmpeg", "-v", "error", "-i", "out.mkv", "-vf", "select=eq(n\\,22)", "-frames:v", "1", "-f", "rawvideo",
                                  "-pix_fmt", "gray", "-"], in: folder.path).stdoutBytes
        XCTAssertEqual(luma.count, 320 * 180)
        let columns = { (x: Int) in (0..<180).map { Int(luma[$0 * 320 + x]) } }
        for x in [4, 34, 285, 315] { XCTAssertTrue(columns(x).allSatisfy { $0 <= 3 }, "black at column \(x): \(columns(x))") }
        for x in [50, 160, 270] { XCTAssertGreaterThan(columns(x).max() ?? 0, 60, "picture at column \(x)") }

        let fields = try onsr(["fields.ts", "fields.mkv", "--method", "bicubic", "--report", "f.json"])
        XCTAssertEqual(fields.status, 0, fields.stderr)
        let interlaced = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("f.json")))) as? [String: Any]
        XCTAssertEqual(interlaced?["frames"] as? Int, 32)
        XCTAssertEqual((interlaced?["interlace"] as? [String: Any])?["deinterlacedFrames"] as? Int, 32)
        XCTAssertEqual(interlaced?["refittedFrames"] as? Int, 16)
    }

    /// Without --model, video the blur estimator finds unblurred (the shipped sample, a phone clip downscaled to
    /// 320x180) starts from the bicubic-trained model; the same clip blurred keeps the blind one; --model wins.
    func testUnblurredVideoStartsFromTheBicubicModel() throws {
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/cockatoo-320x180.mp4").standardized.path
        func method(_ arguments: [String]) throws -> String? {
            let result = try Shell.run([BuiltProducts.onsrVideo] + arguments + ["--report", "r.json", "--overwrite"], in: folder.path)
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
            return (report?["settings"] as? [String: Any])?["method"] as? String
        }
        try Shell.ffmpeg(["-i", sample, "-frames:v", "4", "-an", "-c:v", "ffv1", "sharp.mkv"], in: folder.path)
        try Shell.ffmpeg(["-i", sample, "-frames:v", "4", "-an", "-vf", "gblur=sigma=1.5", "-c:v", "ffv1", "soft.mkv"], in: folder.path)
        XCTAssertEqual(try method(["sharp.mkv", "out.mkv", "--codec", "ffv1"]), "pretrained:fast-x2-bicubic")
        XCTAssertEqual(try method(["soft.mkv", "out.mkv", "--codec", "ffv1"]), "pretrained:fast-x2-g")
        XCTAssertEqual(try method(["sharp.mkv", "out.mkv", "--codec", "ffv1", "--model", "fast-x2-g"]), "pretrained:fast-x2-g")
        // Coded at QP 27, where blurred video starts from the real model, the unblurred one keeps the bicubic model.
        try Shell.ffmpeg(["-i", sample, "-frames:v", "4", "-an", "-c:v", "libx264", "-qp", "27", "-x264-params", "ipratio=1:pbratio=1",
                          "sharp27.mp4"], in: folder.path)
        XCTAssertEqual(try method(["sharp27.mp4", "out.mkv", "--codec", "ffv1"]), "pretrained:fast-x2-bicubic")
        // Likewise MPEG-2 at qscale 5.
        try Shell.ffmpeg(["-i", sample, "-frames:v", "4", "-an", "-c:v", "mpeg2video", "-qscale:v", "5", "sharp5.mkv"], in: folder.path)
        XCTAssertEqual(try method(["sharp5.mkv", "out.mkv", "--codec", "ffv1"]), "pretrained:fast-x2-bicubic")
    }

    /// `image` makes the same choice for a picture, and its report names the model the adaptation started from
    /// (the name is taken once the adaptation has chosen it); --model wins.
    func testUnblurredPictureStartsFromTheBicubicModel() throws {
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/cockatoo-320x180.mp4").standardized.path
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: true)
        try Shell.ffmpeg(["-i", sample, "-vf", "select=eq(n\\,30)", "-frames:v", "1", "photos/a.png"], in: folder.path)
        try Shell.ffmpeg(["-i", sample, "-frames:v", "1", "sharp.png"], in: folder.path)
        func method(_ picture: String, _ extra: [String] = []) throws -> String? {
            let result = try Shell.run([BuiltProducts.onsrVideo, "image", picture, "out.png", "--steps", "0", "--external", "photos",
                                        "--report", "r.json", "--overwrite"] + extra, in: folder.path)
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
            return report?["method"] as? String
        }
        XCTAssertEqual(try method("sharp.png"), "onsr:two-phase:fast-x2-bicubic")
        XCTAssertEqual(try method("sharp.png", ["--model", "fast-x2-g"]), "onsr:two-phase:fast-x2-g")
        // The fixed model is picked so as well (EstimatedStartUpscaler), and kept where the user named it.
        try Shell.ffmpeg(["-i", "sharp.png", "-vf", "gblur=sigma=2.5", "soft.png"], in: folder.path)
        XCTAssertEqual(try method("sharp.png", ["--method", "pretrained"]), "pretrained:fast-x2-bicubic+dihedral")
        XCTAssertEqual(try method("soft.png", ["--method", "pretrained"]), "pretrained:fast-x2-g+dihedral")
        XCTAssertEqual(try method("sharp.png", ["--method", "pretrained", "--model", "fast-x2-g"]), "pretrained:fast-x2-g+dihedral")
    }

    /// `image` averages the model's output over the symmetries its task keeps: all eight for an unadapted model, the
    /// half turn for one fine-tuned through a blur; the report says which, and --no-self-ensemble gives the single pass.
    func testImageAveragesOverTheSymmetriesItsModelKeeps() throws {
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../samples/cockatoo-320x180.mp4").standardized.path
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: true)
        try Shell.ffmpeg(["-i", sample, "-vf", "select=eq(n\\,30)", "-frames:v", "1", "photos/a.png"], in: folder.path)
        try Shell.ffmpeg(["-i", sample, "-vf", "crop=96:80:40:30", "-frames:v", "1", "sharp.png"], in: folder.path)
        // A JPEG is fine-tuned through the spectral shape whatever the estimator reads, so Gr learns a blur.
        try Shell.ffmpeg(["-i", sample, "-vf", "crop=128:96:40:30", "-frames:v", "1", "-q:v", "3", "coded.jpg"], in: folder.path)
        func run(_ arguments: [String], output: String) throws -> String? {
            let result = try Shell.run([BuiltProducts.onsrVideo, "image"] + arguments + [output, "--external", "photos",
                                        "--report", "r.json", "--overwrite"], in: folder.path)
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
            return report?["selfEnsemble"] as? String
        }
        XCTAssertEqual(try run(["sharp.png", "--method", "pretrained"], output: "eight.png"), "dihedral")
        XCTAssertNil(try run(["sharp.png", "--method", "pretrained", "--no-self-ensemble"], output: "one.png"))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: folder.file("eight.png"))),
                          try Data(contentsOf: URL(fileURLWithPath: folder.file("one.png"))))
        XCTAssertEqual(try run(["coded.jpg", "--model", "fast-x2-g", "--steps", "2"], output: "adapted.png"), "half-turn")
        XCTAssertEqual(try run(["coded.jpg", "--model", "fast-x2-g", "--steps", "0"], output: "unadapted.png"), "dihedral")
        XCTAssertNil(try run(["coded.jpg", "--model", "fast-x2-g", "--steps", "0", "--no-self-ensemble"], output: "single.png"))
    }

    /// Without --model, video coded at a coarse quantiser starts from the model trained on compression (from a lower
    /// QP or qscale at x4 than at x2, lower still at x2 where the estimator reads blur), and lightly coded blurred video from
    /// the blind one; --model overrides. The report names the model used. (The
    /// clips are blurred so that the blur estimator does not take them for unblurred: that choice is tested above.)
    func testCompressedVideoStartsFromTheRealModel() throws {
        func method(_ arguments: [String]) throws -> String? {
            let result = try Shell.run([BuiltProducts.onsrVideo] + arguments + ["--report", "r.json", "--overwrite"], in: folder.path)
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
            return (report?["settings"] as? [String: Any])?["method"] as? String
        }
        for (qp, model) in [(20, "fast-x2-g"), (34, "fast-x2-real")] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25,gblur=sigma=1.5", "-frames:v", "10", "-c:v", "libx264",
                              "-qp", String(qp), "q\(qp).mp4"], in: folder.path)
            XCTAssertEqual(try method(["q\(qp).mp4", "out.mp4", "--method", "pretrained"]), "pretrained:\(model)", "QP \(qp)")
        }
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "10", "-c:v", "mpeg2video", "-qscale:v", "10",
                          "m.mkv"], in: folder.path)
        XCTAssertEqual(try method(["m.mkv", "out.mp4", "--method", "pretrained"]), "pretrained:fast-x2-real", "MPEG-2 at qscale 10")
        XCTAssertEqual(try method(["q34.mp4", "out.mp4", "--method", "pretrained", "--model", "fast-x2-g"]), "pretrained:fast-x2-g")
        XCTAssertEqual(try method(["q34.mp4", "out.mp4", "--method", "pretrained", "--scale", "4"]), "pretrained:fast-x4-real", "x4")
        XCTAssertEqual(try method(["q20.mp4", "out.mp4", "--method", "pretrained", "--scale", "4"]), "pretrained:fast-x4-g", "x4, light")
        // Every frame at one QP: x4 takes the real model from QP 28; x2 from QP 26 where the estimator reads blur.
        for qp in [25, 27, 29] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25,gblur=sigma=1.5", "-frames:v", "10", "-c:v", "libx264",
                              "-qp", String(qp), "-x264-params", "ipratio=1:pbratio=1", "f\(qp).mp4"], in: folder.path)
        }
        XCTAssertEqual(try method(["f25.mp4", "out.mp4", "--method", "pretrained"]), "pretrained:fast-x2-g", "x2 at QP 25")
        XCTAssertEqual(try method(["f27.mp4", "out.mp4", "--method", "pretrained"]), "pretrained:fast-x2-real", "x2 at QP 27, blurred")
        XCTAssertEqual(try method(["f27.mp4", "out.mp4", "--method", "pretrained", "--scale", "4"]), "pretrained:fast-x4-g", "x4 at QP 27")
        XCTAssertEqual(try method(["f29.mp4", "out.mp4", "--method", "pretrained", "--scale", "4"]), "pretrained:fast-x4-real", "x4 at QP 29")
        // MPEG-2 at one qscale: x4 takes the real model from qscale 4; x2 from 4 where the estimator reads blur.
        for qscale in [3, 5] {
            try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25,gblur=sigma=1.5", "-frames:v", "10", "-c:v", "mpeg2video",
                              "-qscale:v", String(qscale), "m\(qscale).mkv"], in: folder.path)
        }
        XCTAssertEqual(try method(["m3.mkv", "out.mp4", "--method", "pretrained"]), "pretrained:fast-x2-g", "x2 at qscale 3")
        XCTAssertEqual(try method(["m5.mkv", "out.mp4", "--method", "pretrained"]), "pretrained:fast-x2-real", "x2 at qscale 5, blurred")
        XCTAssertEqual(try method(["m3.mkv", "out.mp4", "--method", "pretrained", "--scale", "4"]), "pretrained:fast-x4-g", "x4 at qscale 3")
        XCTAssertEqual(try method(["m5.mkv", "out.mp4", "--method", "pretrained", "--scale", "4"]), "pretrained:fast-x4-real", "x4 at qscale 5")
        // The report keeps what the choice rested on; with --model there is no choice to report.
        func start() throws -> [String: Any]? {
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
            return report?["start"] as? [String: Any]
        }
        XCTAssertEqual(try start()?["model"] as? String, "fast-x4-real")
        XCTAssertEqual(try start()?["codec"] as? String, "mpeg2")
        XCTAssertEqual(try start()?["quantiser"] as? Double, 5)
        XCTAssertEqual(try method(["m5.mkv", "out.mp4", "--method", "pretrained", "--model", "fast-x2-g"]), "pretrained:fast-x2-g")
        XCTAssertNil(try start())
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25,gblur=sigma=1.5", "-frames:v", "10", "-c:v", "ffv1", "l.mkv"], in: folder.path)
        XCTAssertEqual(try method(["l.mkv", "out.mp4", "--method", "pretrained"]), "pretrained:fast-x2-g", "lossless input")
    }
}
