import Decode
import Foundation
import TestSupport
import XCTest

/// `onsr-video frames` and `onsr-video image`.
final class FramesCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-frames") }
    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + BuiltProducts.withFastMethod(arguments), in: folder.path)
    }

    /// The alpha plane of a picture, 8 bits a sample, row-major.
    func alphaPlane(_ file: String) throws -> [UInt8] {
        try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-vf", "extractplanes=a", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                      in: folder.path).stdoutBytes
    }

    func describe(_ file: String) throws -> String {
        try Shell.ffprobe(["-show_entries", "stream=width,height,pix_fmt", "-of", "csv=p=0", file], in: folder.path)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A folder of frames is a video: with ONSR the scene scheduler finds the cut between a sharp and a blurred
    /// shot and adapts each scene on its own, and every frame still comes out under its own name.
    func testFramesWithOnsrAdaptOncePerScene() throws {
        for path in ["in", "photos"] { try FileManager.default.createDirectory(atPath: folder.file(path), withIntermediateDirectories: false) }
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x96", "-frames:v", "1", "photos/p.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "6", "-start_number", "1", "in/frame%d.png"],
                         in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=96x64:rate=25,gblur=sigma=2", "-frames:v", "6", "-start_number", "7",
                          "in/frame%d.png"], in: folder.path)
        let result = try onsr(["frames", "in", "out", "--method", "onsr", "--steps", "4", "--external", "photos", "--report", "r.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.file("out")).sorted(),
                       (1...12).map { "frame\($0).png" }.sorted())
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any])
        XCTAssertEqual(report["frames"] as? Int, 12)
        let scenes = try XCTUnwrap(report["scenes"] as? [[String: Any]], "the report lists the scenes")
        XCTAssertEqual(scenes.map { $0["firstFrame"] as? Int }, [0, 6])
        let adaptations = scenes.compactMap { $0["adaptation"] as? [String: Any] }
        XCTAssertEqual(adaptations.map { $0["kind"] as? String }, ["full", "full"], "one adaptation per scene")
        XCTAssertEqual(adaptations.map { $0["steps"] as? Int }, [4, 4])
        XCTAssertEqual(scenes.map { $0["kernelShape"] as? String }, ["learned", "learned"], "PNG frames: the estimate's kernel")
    }

    /// A JPEG sequence is lossily coded like a video: Gr is fine-tuned through the spectral shape, since the blur
    /// estimator reads JPEG blocks as sharpness (docs/onsr-study.md, "JPEG stills").
    func testJPEGFramesUseTheSpectralShape() throws {
        for path in ["in", "photos"] { try FileManager.default.createDirectory(atPath: folder.file(path), withIntermediateDirectories: false) }
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x96", "-frames:v", "1", "photos/p.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-q:v", "5", "in/frame%d.jpg"], in: folder.path)
        let result = try onsr(["frames", "in", "out", "--method", "onsr", "--steps", "4", "--external", "photos", "--report", "r.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any])
        let scenes = try XCTUnwrap(report["scenes"] as? [[String: Any]])
        XCTAssertEqual(scenes.map { $0["kernelShape"] as? String }, ["spectral"])
    }

    /// ONSR learns from 32x32 patches of the input: a smaller picture or video is bad input for it (exit 65, one
    /// line), not a trap inside the adapter, and nothing is written.
    func testOnsrOnInputSmallerThanAPatchIsADataError() throws {
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x96", "-frames:v", "1", "photos/p.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=24x20", "-frames:v", "1", "tiny.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=24x20:rate=10:duration=1", "-c:v", "libx264", "tiny.mp4"], in: folder.path)
        for arguments in [["image", "tiny.png", "out.png"], ["tiny.mp4", "out.mp4"], ["tiny.mp4", "out.mp4", "--live"]] {
            let before = folder.listing()
            let result = try onsr(arguments + ["--method", "onsr", "--external", "photos", "--steps", "2"])
            XCTAssertEqual(result.status, 65, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("at least 32x32") && result.stderr.contains("24x20"), result.stderr)
            XCTAssertTrue(result.stderr.contains(arguments[0] == "image" ? "tiny.png:" : "tiny.mp4:"), "names the file: \(result.stderr)")
            XCTAssertEqual(folder.listing(), before, "no output for \(arguments)")
        }
    }

    /// `image` adapts by default, but a picture smaller than a patch (an icon, a thumbnail) is still a picture:
    /// without `--method` it is upscaled with the fixed model and a one-line warning says so.
    func testImageTooSmallForOnsrFallsBackToPretrainedWhenNoMethodIsAsked() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=24x20", "-frames:v", "1", "tiny.png"], in: folder.path)
        // Not `onsr(_:)`, which names the fast method: this is about the default.
        let result = try Shell.run([BuiltProducts.onsrVideo, "image", "tiny.png", "out.png", "--external", "nowhere", "--report", "report.json"],
                                   in: folder.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("warning: tiny.png: 24x20 is smaller than ONSR's 32x32 patch")
                      && result.stderr.contains("pretrained"), result.stderr)
        let decoded = try ImageFile.read(path: folder.file("out.png"))
        XCTAssertEqual([decoded.image.width, decoded.image.height], [48, 40])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("report.json")))) as? [String: Any]
        XCTAssertEqual((report?["method"] as? String)?.hasPrefix("pretrained"), true, "\(String(describing: report))")
    }

    // Acceptance 7.
    func testFolderOfTwelveFramesGivesTwelvePNGsWithTheSameNames() throws {
        try FileManager.default.createDirectory(atPath: folder.file("in"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "12", "-start_number", "1", "in/frame%d.png"],
                         in: folder.path)
        let result = try onsr(["frames", "in", "out"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.file("out")).sorted()
        XCTAssertEqual(names, (1...12).map { "frame\($0).png" }.sorted())
        for name in names { XCTAssertEqual(try describe("out/\(name)"), "192,128,rgb24") }
        // Frame 10 of the output must come from frame 10 of the input: compare with a plain ffmpeg upscale.
        try Shell.ffmpeg(["-i", "in/frame10.png", "-vf", "scale=192:128:flags=bicubic", "ref10.png"], in: folder.path)
        try Shell.ffmpeg(["-i", "in/frame2.png", "-vf", "scale=192:128:flags=bicubic", "ref2.png"], in: folder.path)
        func psnr(_ a: String, _ b: String) throws -> Double {
            let out = try Shell.run(["ffmpeg", "-i", a, "-i", b, "-lavfi", "psnr", "-f", "null", "-"], in: folder.path).stderr
            let field = out.split(separator: " ").first { $0.hasPrefix("average:") }!
            return Double(field.dropFirst("average:".count)) ?? .infinity
        }
        XCTAssertGreaterThan(try psnr("out/frame10.png", "ref10.png"), try psnr("out/frame10.png", "ref2.png") + 3)
        XCTAssertGreaterThan(try psnr("out/frame10.png", "ref10.png"), 30)
    }

    func testACorruptFrameFailsBeforeAnyOutputOrIsSkippedWhenAllowed() throws {
        try FileManager.default.createDirectory(atPath: folder.file("in"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "4", "-start_number", "1", "in/f%d.png"],
                         in: folder.path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: folder.file("in/f3.png")))
        try whole.prefix(100).write(to: URL(fileURLWithPath: folder.file("in/f3.png")))
        let refused = try onsr(["frames", "in", "out", "--method", "bicubic"])
        XCTAssertEqual(refused.status, 65)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("f3.png") && refused.stderr.contains("nothing written"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("out")), "no output before the check")
        let skipped = try onsr(["frames", "in", "out", "--method", "bicubic", "--allow-damaged", "--report", "r.json"])
        XCTAssertEqual(skipped.status, 65, "skipping is still a failure")
        XCTAssertTrue(skipped.stderr.contains("1 unreadable frames skipped (f3.png)"), skipped.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.file("out")).sorted(), ["f1.png", "f2.png", "f4.png"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
        XCTAssertEqual(report?["skippedFrames"] as? [String], ["f3.png"])
    }

    func testGreyFramesStayGrey() throws {
        try FileManager.default.createDirectory(atPath: folder.file("in"), withIntermediateDirectories: false)
        // One picture with R = G = B, written grey and written RGB: the RGB one's upscaled channels are the grey
        // output's values.
        var picture = RGBImage(width: 64, height: 48)
        for y in 0..<48 { for x in 0..<64 {
            let v = Float((x * 7 + y * 13) % 64) / 63 * (x > 30 ? 1 : 0.5)
            for c in 0..<3 { picture[c, y, x] = v }
        } }
        try ImageFile.writePNG(picture, to: folder.file("in/a.png"), grey: true)
        try FileManager.default.createDirectory(atPath: folder.file("rgb"), withIntermediateDirectories: false)
        try ImageFile.writePNG(picture, to: folder.file("rgb/a.png"))
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-pix_fmt", "gray16be", "in/b.png"], in: folder.path)
        XCTAssertEqual(try describe("in/a.png"), "64,48,gray")
        let greyIn = try Shell.run(["ffmpeg", "-v", "error", "-i", "in/a.png", "-f", "rawvideo", "-pix_fmt", "gray", "-"], in: folder.path)
        let redIn = try Shell.run(["ffmpeg", "-v", "error", "-i", "rgb/a.png", "-vf", "extractplanes=r", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                                  in: folder.path)
        XCTAssertEqual(greyIn.stdoutBytes, redIn.stdoutBytes, "the two inputs hold the same values")
        let result = try onsr(["frames", "in", "out", "--method", "bicubic"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try describe("out/a.png"), "128,96,gray")
        XCTAssertEqual(try describe("out/b.png"), "128,96,gray16be")
        XCTAssertEqual(try onsr(["frames", "rgb", "rgb-out", "--method", "bicubic"]).status, 0)
        XCTAssertEqual(try describe("rgb-out/a.png"), "128,96,rgb24")
        let grey = try Shell.run(["ffmpeg", "-v", "error", "-i", "out/a.png", "-f", "rawvideo", "-pix_fmt", "gray", "-"], in: folder.path)
        let red = try Shell.run(["ffmpeg", "-v", "error", "-i", "rgb-out/a.png", "-vf", "extractplanes=r", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                                in: folder.path)
        XCTAssertEqual(grey.stdoutBytes, red.stdoutBytes, "grey written as the value every channel holds")
    }

    /// Alpha is kept: RGBA stays RGBA (8 and 16 bits), grey + alpha stays grey + alpha, and the alpha plane is the
    /// input's upscaled (bicubic, said in the report): transparent stays transparent, opaque stays opaque, and
    /// the colour is what the same picture gives without alpha.
    func testAlphaIsKept() throws {
        try FileManager.default.createDirectory(atPath: folder.file("in"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: folder.file("rgb"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,32),0,255)'",
                          "-frames:v", "1", "in/a.png"], in: folder.path)
        try Shell.ffmpeg(["-i", "in/a.png", "-pix_fmt", "rgb24", "rgb/a.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48,format=rgba64be", "-frames:v", "1", "in/deep.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48,format=ya8", "-frames:v", "1", "in/grey.png"], in: folder.path)
        let result = try onsr(["frames", "in", "out", "--method", "bicubic", "--report", "r.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try describe("out/a.png"), "128,96,rgba")
        XCTAssertEqual(try describe("out/deep.png"), "128,96,rgba64be")
        XCTAssertEqual(try describe("out/grey.png"), "128,96,ya8")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as? [String: Any]
        XCTAssertEqual(report?["alphaFrames"] as? Int, 3)
        XCTAssertEqual(report?["alphaMethod"] as? String, "bicubic")

        let alpha = try alphaPlane("out/a.png")
        XCTAssertEqual(alpha.count, 128 * 96)
        for y in [0, 40, 95] {
            XCTAssertEqual(alpha[y * 128 + 10], 0, "transparent stays transparent")
            XCTAssertEqual(alpha[y * 128 + 120], 255, "opaque stays opaque")
        }
        XCTAssertEqual(try onsr(["image", "rgb/a.png", "rgb-out.png", "--method", "bicubic"]).status, 0)
        func colour(_ file: String) throws -> [UInt8] {
            try Shell.run(["ffmpeg", "-v", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], in: folder.path).stdoutBytes
        }
        XCTAssertEqual(try colour("out/a.png"), try colour("rgb-out.png"), "the colour planes are upscaled as without alpha")
    }

    /// --height on pictures: the colour resampled to the output size, the alpha plane with it (transparent and opaque
    /// areas stay so), and `image` takes it as `frames` does.
    func testAnOutputSizeReachesPicturesAndTheirAlpha() throws {
        try FileManager.default.createDirectory(atPath: folder.file("in"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,32),0,255)'",
                          "-frames:v", "1", "in/a.png"], in: folder.path)
        let result = try onsr(["frames", "in", "out", "--method", "bicubic", "--height", "72"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try describe("out/a.png"), "96,72,rgba")
        let alpha = try alphaPlane("out/a.png")
        XCTAssertEqual(alpha.count, 96 * 72)
        for y in [0, 36, 71] {
            XCTAssertEqual(alpha[y * 96 + 8], 0, "transparent stays transparent")
            XCTAssertEqual(alpha[y * 96 + 90], 255, "opaque stays opaque")
        }
        XCTAssertEqual(try onsr(["image", "in/a.png", "one.png", "--method", "bicubic", "--width", "100"]).status, 0)
        XCTAssertEqual(try describe("one.png"), "100,76,rgba")
    }

    /// `image` writes a JPEG where the output is named so: full range, 4:4:4, close to the PNG of the same run; a
    /// picture with alpha cannot go into one, and another extension is refused.
    func testImageWritesAJPEGWhereTheNameAsks() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "pic.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48,format=rgba", "-frames:v", "1", "alpha.png"], in: folder.path)
        XCTAssertEqual(try onsr(["image", "pic.png", "big.png", "--method", "bicubic"]).status, 0)
        let result = try onsr(["image", "pic.png", "big.jpg", "--method", "bicubic"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let stream = try Shell.ffprobe(["-show_entries", "stream=codec_name,width,height,pix_fmt,color_range", "-of", "csv=p=0", "big.jpg"],
                                       in: folder.path)
        XCTAssertEqual(stream.trimmingCharacters(in: .whitespacesAndNewlines), "mjpeg,128,96,yuvj444p,pc")
        let psnr = try Shell.run(["ffmpeg", "-i", "big.jpg", "-i", "big.png", "-lavfi", "[0]format=rgb24[a];[1]format=rgb24[b];[a][b]psnr",
                                  "-f", "null", "-"], in: folder.path)
        let average = psnr.stderr.components(separatedBy: "average:").last.flatMap { Double($0.prefix { $0 == "." || $0.isNumber }) }
        XCTAssertGreaterThan(average ?? 0, 40, String(psnr.stderr.suffix(300)))
        for (input, output, needle) in [("alpha.png", "a.jpg", "holds no alpha"), ("pic.png", "big.webp", "PNG or JPEG")] {
            let refused = try onsr(["image", input, output, "--method", "bicubic"])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains(needle), refused.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file(output)))
        }
    }

    func testSixteenBitPNGAndJPEGInputs() throws {
        try FileManager.default.createDirectory(atPath: folder.file("in"), withIntermediateDirectories: false)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-pix_fmt", "rgb48be", "in/deep.png"], in: folder.path)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "in/photo.jpg"], in: folder.path)
        let result = try onsr(["frames", "in", "out", "--scale", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try describe("out/deep.png"), "256,192,rgb48be")
        XCTAssertEqual(try describe("out/photo.png"), "256,192,rgb24")
        let again = try onsr(["frames", "in", "out"])
        XCTAssertEqual(again.status, 73, "existing frames need --overwrite")
    }

    func testImageCommandAndItsErrors() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "pic.png"], in: folder.path)
        var result = try onsr(["image", "pic.png", "big.png", "--method", "lanczos"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try describe("big.png"), "128,96,rgb24")
        result = try onsr(["image", "missing.png", "x.png"])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.file("junk.png"), contents: Data("not a picture".utf8)))
        result = try onsr(["image", "junk.png", "x.png"])
        XCTAssertEqual(result.status, 65)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("x.png")))
        result = try onsr(["frames", "nowhere", "out"])
        XCTAssertEqual(result.status, 66)
    }
}
