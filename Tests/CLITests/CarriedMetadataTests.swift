import Decode
import Foundation
import TestSupport
import XCTest

/// What the video carries besides its pictures survives the upscale: HDR10 metadata reaches the output's bitstream and
/// container, and closed captions stay on the frames they belong to.
final class CarriedMetadataTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-carried") }
    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments + ["--method", "bicubic"], in: folder.path)
    }

    func report(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file(name)))) as? [String: Any] ?? [:]
    }

    /// ffprobe's `key=value` lines for the first video frame's side data, or the video stream's.
    func sideData(_ file: String, stream: Bool = false) throws -> [String] {
        let arguments = stream ? ["-select_streams", "v", "-show_entries", "stream_side_data", file]
            : ["-select_streams", "v", "-read_intervals", "%+#1", "-show_entries", "frame_side_data", file]
        return try Shell.ffprobe(arguments, in: folder.path).split(separator: "\n").map(String.init)
    }

    /// The lines of FFmpeg's trace of `file`'s video headers that name HDR10 fields (H.264's SEI, which FFmpeg 5.1's
    /// decoder does not export).
    func tracedHDRFields(_ file: String) throws -> [String] {
        let trace = try Shell.run(["ffmpeg", "-nostdin", "-i", file, "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"],
                                  in: folder.path)
        return trace.stderr.split(separator: "\n").compactMap { line in
            ["max_display_mastering_luminance", "min_display_mastering_luminance", "display_primaries_x[0]", "max_content_light_level",
             "max_pic_average_light_level"].first { line.contains(" \($0) ") }.map { "\($0) = \(line.split(separator: " ").last ?? "")" }
        }
    }

    func testHDR10MetadataReachesTheEncoderAndTheContainer() throws {
        // x265 writes the metadata as SEI only: FFmpeg finds it on the first frame, and the MP4 states nothing.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-pix_fmt", "yuv420p10le",
                          "-c:v", "libx265", "-x265-params",
                          "log-level=none:master-display=G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1):max-cll=1000,400",
                          "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "hdr.mp4"], in: folder.path)
        XCTAssertFalse(try sideData("hdr.mp4", stream: true).contains { $0.contains("Mastering") })

        let hevc = try onsr(["hdr.mp4", "hevc.mkv", "--codec", "libx265", "--report", "hevc.json"])
        XCTAssertEqual(hevc.status, 0, hevc.stderr)
        let frame = try sideData("hevc.mkv")
        for expected in ["red_x=35400/50000", "green_y=39850/50000", "white_point_x=15635/50000", "max_luminance=10000000/10000",
                         "min_luminance=1/10000", "max_content=1000", "max_average=400"] {
            XCTAssertTrue(frame.contains(expected), "\(expected) in the HEVC bitstream: \(frame)")
        }
        let track = try sideData("hevc.mkv", stream: true)
        XCTAssertTrue(track.contains("max_luminance=1000/1") && track.contains("max_content=1000"), "and in the Matroska track: \(track)")
        let hdr = try report("hevc.json")["hdr"] as? [String: Any]
        XCTAssertEqual(hdr?["source"] as? String, "frame")
        XCTAssertEqual((hdr?["contentLight"] as? [String: Any])?["maxContent"] as? Int, 1000)

        // H.264 (the default codec) carries it in x264's SEI.
        let avc = try onsr(["hdr.mp4", "avc.mp4"])
        XCTAssertEqual(avc.status, 0, avc.stderr)
        let traced = try tracedHDRFields("avc.mp4")
        for expected in ["display_primaries_x[0] = 8500", "max_display_mastering_luminance = 10000000", "min_display_mastering_luminance = 1",
                         "max_content_light_level = 1000", "max_pic_average_light_level = 400"] {
            XCTAssertTrue(traced.contains(expected), "\(expected) in the H.264 SEI: \(traced)")
        }

        // Read from the container where it is stated there; an encoder without the syntax leaves it to the container, and says so.
        let lossless = try onsr(["hevc.mkv", "ffv1.mkv", "--codec", "ffv1", "--report", "ffv1.json"])
        XCTAssertEqual(lossless.status, 0, lossless.stderr)
        XCTAssertTrue(lossless.stderr.contains("ffv1 does not write HDR10 metadata"), lossless.stderr)
        XCTAssertEqual((try report("ffv1.json")["hdr"] as? [String: Any])?["source"] as? String, "stream")
        XCTAssertTrue(try sideData("ffv1.mkv", stream: true).contains("max_luminance=1000/1"))

        // SDR input gets none.
        XCTAssertEqual(try onsr(["avc.mp4", "sdr.mkv", "--codec", "libx265", "--report", "sdr.json"]).status, 0)
        XCTAssertNotNil(try report("sdr.json")["hdr"], "avc.mp4 is PQ too")
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "2", "-c:v", "libx264", "plain.mp4"], in: folder.path)
        XCTAssertEqual(try onsr(["plain.mp4", "plain-x2.mkv", "--codec", "libx265", "--report", "plain.json"]).status, 0)
        XCTAssertNil(try report("plain.json")["hdr"])
        XCTAssertFalse(try sideData("plain-x2.mkv").contains { $0.contains("Mastering") })
    }

    /// A QuickTime timecode track is the video's `timecode` tag, which MOV, MP4 and Matroska keep: no warning that it was
    /// dropped there, and the same start timecode after.
    func testTheTimecodeIsKept() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "5", "-timecode", "01:02:03:04", "-c:v", "libx264",
                          "tc.mov"], in: folder.path)
        for output in ["tc.mov", "tc.mp4", "tc.mkv"].map({ "out-\($0)" }) {
            let result = try onsr(["tc.mov", output, "--report", "\(output).json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stderr, "", "nothing is dropped")
            let streams = try report("\(output).json")["streams"] as? [[String: Any]]
            XCTAssertEqual(streams?.map { $0["action"] as? String }, ["upscaled", "timecode"])
            let tags = try Shell.ffprobe(["-show_entries", "stream_tags=timecode", "-of", "csv=p=0", output], in: folder.path)
            XCTAssertTrue(tags.contains("01:02:03:04"), "\(output): \(tags)")
        }
        // MPEG-TS keeps no timecode tag: the track is copied as data there, as `ffmpeg -map 0 -c copy` copies it.
        XCTAssertEqual(try onsr(["tc.mov", "out.ts", "--report", "ts.json"]).status, 0)
        XCTAssertEqual((try report("ts.json")["streams"] as? [[String: Any]])?.map { $0["action"] as? String }, ["upscaled", "copied"])
    }

    /// The alpha plane at row 50 of `file`'s first frame (192 wide), as FFmpeg decodes it (`decoder`: libvpx for VP9's
    /// alpha, which FFmpeg's own VP9 decoder drops).
    func alphaRow(_ file: String, decoder: [String] = []) throws -> [Int] {
        let plane = try Shell.run(["ffmpeg", "-v", "error"] + decoder + ["-i", file, "-frames:v", "1", "-vf", "format=rgba,alphaextract",
                                  "-f", "rawvideo", "-pix_fmt", "gray", "-"], in: folder.path).stdoutBytes
        return plane.count >= 51 * 192 ? (0..<192).map { Int(plane[50 * 192 + $0]) } : []
    }

    /// Transparency is kept where the output codec has an alpha plane (the plane upscaled with bicubic interpolation, as
    /// for pictures), and where it has none a warning says it is dropped.
    func testTransparencyIsKeptWhereTheCodecHasAlpha() throws {
        // Left half opaque, right half at 40 of 255.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=0.3,format=rgba,"
                          + "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,48),255,40)'", "-c:v", "qtrle", "-pix_fmt", "argb", "anim.mov"],
                         in: folder.path)
        try Shell.ffmpeg(["-i", "anim.mov", "-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "prores.mov"], in: folder.path)
        for (input, output, codec, decoder) in [("anim.mov", "anim.mov", "qtrle", []), ("prores.mov", "prores.mov", "prores_ks", []),
                                                ("prores.mov", "ffv1.mkv", "ffv1", []), ("anim.mov", "vp9.webm", "libvpx-vp9", ["-c:v", "libvpx-vp9"])] {
            let result = try onsr([input, "out-\(output)", "--codec", codec, "--report", "\(output).json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stderr, "", output)
            let row = try alphaRow("out-\(output)", decoder: decoder)
            XCTAssertEqual(row.count, 192, output)
            XCTAssertTrue(row[0..<90].allSatisfy { $0 >= 253 } && row[102...].allSatisfy { abs($0 - 40) <= 2 }, "\(output): \(row)")
            XCTAssertEqual(try report("\(output).json")["alphaFrames"] as? Int, 3, output)
        }
        let dropped = try onsr(["prores.mov", "out.mp4", "--report", "dropped.json"])
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertTrue(dropped.stderr.contains("has transparency, which libx264 in yuv444p10le cannot keep"), dropped.stderr)
        XCTAssertNil(try report("dropped.json")["alphaFrames"])
    }

    /// Each frame's A/53 captions, in presentation order, as FFmpeg decodes them.
    func captions(_ file: String) throws -> [[UInt8]?] {
        var read: [(Int64, [UInt8]?)] = []
        try forEachDecodedFrame(of: folder.file(file)) { read.append(($0.bestEffortTimestamp ?? 0, $0.closedCaptions)) }
        return read.sorted { $0.0 < $1.0 }.map(\.1)
    }

    func testClosedCaptionsStayWithTheirFrames() throws {
        let written = try CaptionedClip.make("cc.mkv", frames: 10, in: folder.path)
        XCTAssertEqual(try captions("cc.mkv"), written)
        // libx264 reorders the output into B-frames; each picture's captions still come back with it.
        let result = try onsr(["cc.mkv", "cc.mp4", "--report", "cc.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try captions("cc.mp4"), written)
        let record = try report("cc.json")["closedCaptions"] as? [String: Int]
        XCTAssertEqual(record, ["frames": 10, "written": 10])
        XCTAssertTrue(try Shell.ffprobe(["-show_entries", "stream=has_b_frames", "-of", "csv=p=0", "cc.mp4"], in: folder.path).hasPrefix("2"))

        // An encoder that cannot write them says so, once.
        let hevc = try onsr(["cc.mkv", "cc-hevc.mkv", "--codec", "libx265", "--report", "hevc.json"])
        XCTAssertEqual(hevc.status, 0, hevc.stderr)
        XCTAssertEqual(hevc.stderr.components(separatedBy: "closed captions").count - 1, 1, hevc.stderr)
        XCTAssertEqual(try report("hevc.json")["closedCaptions"] as? [String: Int], ["frames": 10, "written": 0])
        XCTAssertTrue(try captions("cc-hevc.mkv").allSatisfy { $0 == nil })
        // Nor are they written when the user turns them off.
        XCTAssertEqual(try onsr(["cc.mkv", "off.mp4", "--encoder-option", "a53cc=0", "--report", "off.json"]).status, 0)
        XCTAssertEqual(try report("off.json")["closedCaptions"] as? [String: Int], ["frames": 10, "written": 0])
        XCTAssertTrue(try captions("off.mp4").allSatisfy { $0 == nil })
    }

    /// With `--drop-policy drop` the captions of a dropped frame go out with the next frame kept: the written stream
    /// is the input's, in order, less only what the report counts as lost (no room left in a frame, or dropped after
    /// the last kept one).
    func testDroppedFramesPassTheirCaptionsOn() throws {
        let sent = try CaptionedClip.make("cc.mkv", frames: 140, in: folder.path).flatMap { $0 }
        // A live source (real time through a pipe) and an upscaler slower than it (eight passes a frame): frames are
        // dropped between kept ones. The source lasts 5.6 s, so that a slow machine, which may take seconds to load
        // the model and finish its first frame, still keeps frames after the first drops.
        let result = try Shell.run(["bash", "-c", "ffmpeg -v error -re -i cc.mkv -c copy -f matroska - | \(BuiltProducts.onsrVideo) - drop.mp4 "
                                    + "--format matroska --drop-policy drop --scale 4 --method pretrained --self-ensemble --report drop.json"],
                                   in: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try report("drop.json")
        XCTAssertGreaterThan(report["droppedFrames"] as? Int ?? 0, 0, "frames were dropped")
        let lost = (report["closedCaptions"] as? [String: Int])?["lostPackets"] ?? 0
        let written = try captions("drop.mp4")
        let perFrame = written.map { ($0?.count ?? 0) / 3 }
        let received = written.compactMap { $0 }.flatMap { $0 }
        XCTAssertEqual(received.count / 3 + lost, sent.count / 3, "every packet written or counted lost")
        // Every packet is unique here: the received ones must appear in the sent stream in the same order.
        var next = 0
        for start in stride(from: 0, to: received.count, by: 3) {
            while next < sent.count && Array(sent[next..<next + 3]) != Array(received[start..<start + 3]) { next += 3 }
            XCTAssertLessThan(next, sent.count, "packet \(start / 3) out of order or unknown")
            next += 3
        }
        XCTAssertTrue(perFrame.contains { $0 > 2 }, "a kept frame carried a dropped one's captions: \(perFrame)")
    }
}
