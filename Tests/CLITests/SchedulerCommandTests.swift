import Decode
import Foundation
import TestSupport
import XCTest

/// The scene-aware scheduler as `onsr-video IN OUT --method onsr` runs it.
final class SchedulerCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-scheduler-cli")
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: false)
        for i in 0..<2 {
            var image = RGBImage(width: 128, height: 128)
            for y in 0..<128 { for x in 0..<128 {
                image[0, y, x] = 0.5 + 0.4 * sinf(Float(x + 5 * i) * 0.3)
                image[1, y, x] = 0.5 + 0.4 * cosf(Float(y) * 0.23)
                image[2, y, x] = Float((x / 7 + y / 5 + i) % 2) * 0.8 + 0.1
            } }
            try ImageFile.writePNG(image, to: folder.file("photos/p\(i).png"))
        }
        // Three scenes of natural pictures, ten frames each: a 320x192 window panning across one third of
        // Tests/Media's three photographs, blurred with its own Gaussian at twice the size and subsampled, as the
        // degradation model has it. Natural pictures, because the scheduler's decisions start from the blur
        // estimator's reading, which has nothing to read in synthetic patterns.
        let strip = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Media/three-photos-990x192.png").standardized.path
        let scene = { (third: Int, sigma: String, label: String) in
            "[\(label)]crop=320:192:\(330 * third)+n:0,trim=end_frame=10,gblur=sigma=\(sigma),scale=160:96:flags=neighbor[s\(label)]"
        }
        try Shell.ffmpeg(["-framerate", "10", "-loop", "1", "-i", strip,
                          "-filter_complex", "[0]format=rgb24,split=3[a][b][c];" + scene(0, "1.2", "a") + ";" + scene(1, "2.4", "b") + ";"
                            + scene(2, "0.6", "c") + ";[sa][sb][sc]concat=n=3:v=1,format=yuv420p",
                          "-c:v", "libx264", "-crf", "12", "three.mp4"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments, in: folder.path)
    }

    func scenes(_ report: String) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file(report)))) as! [String: Any]
        return try XCTUnwrap(json["scenes"] as? [[String: Any]])
    }

    /// Checks that the run found the three scenes at the cuts and adapted once at each scene's first frame, no
    /// more; returns the adaptations.
    func adaptationsAtTheThreeCuts(_ result: CommandResult) throws -> [[String: Any]] {
        XCTAssertEqual(result.status, 0, result.stderr)
        let scenes = try scenes("report.json")
        XCTAssertEqual(scenes.map { $0["firstFrame"] as? Int }, [0, 10, 20])
        XCTAssertEqual(scenes.map { $0["lastFrame"] as? Int }, [9, 19, 29])
        XCTAssertTrue(scenes.allSatisfy { $0["laterAdaptations"] as? Int == 0 })
        let adaptations = scenes.compactMap { $0["adaptation"] as? [String: Any] }
        XCTAssertEqual(adaptations.map { $0["frame"] as? Int }, [0, 10, 20])
        return adaptations
    }

    func testThreeScenesGiveThreeFullAdaptationsAtTheCuts() throws {
        // The default (two-phase): the previous Gd refitted to each new scene gains more than 15% of L_IB, so
        // each scene with a new kernel gets a full adaptation.
        let result = try onsr(["three.mp4", "out.mp4", "--method", "onsr", "--steps", "40", "--external", "photos",
                               "--report", "report.json"])
        let adaptations = try adaptationsAtTheThreeCuts(result)
        XCTAssertEqual(adaptations.map { $0["kind"] as? String }, ["full", "full", "full"], "\(adaptations)")
        XCTAssertEqual(adaptations.map { $0["steps"] as? Int }, [40, 40, 40])
        XCTAssertEqual(adaptations.compactMap { ($0["probe"] as? [String: Any])?["unchanged"] as? Bool }, [false, false])
        // Each full adaptation reports the blur estimate it started from (a covariance and a probability; the
        // synthetic scenes here are no test of its accuracy, which `eval --methods estimator` measures).
        let readings = try scenes("report.json").map { try XCTUnwrap($0["blurEstimate"] as? [String: Double]) }
        XCTAssertTrue(readings.allSatisfy { (0...1).contains($0["noBlurProbability"] ?? -1) }, "\(readings)")
        XCTAssertTrue(readings.allSatisfy { ($0["yy"] ?? -1) > 0 && ($0["xx"] ?? -1) > 0 }, "\(readings)")
        // H.264 input: Gr is fine-tuned through the spectral shape, not the estimate (coded frames read too sharp).
        XCTAssertEqual(try scenes("report.json").map { $0["kernelShape"] as? String }, ["spectral", "spectral", "spectral"])
    }

    /// Input without a codec's quantisers (FFV1 here) keeps the learned shape: the estimate's kernel.
    func testUncodedScenesUseTheEstimatedKernel() throws {
        try Shell.ffmpeg(["-i", "three.mp4", "-frames:v", "10", "-c:v", "ffv1", "first.mkv"], in: folder.path)
        let result = try onsr(["first.mkv", "out.mkv", "--method", "onsr", "--steps", "4", "--external", "photos",
                               "--report", "uncoded.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let scenes = try scenes("uncoded.json")
        XCTAssertEqual(scenes.count, 1)
        XCTAssertEqual(scenes.first?["kernelShape"] as? String, "learned")
        XCTAssertNotNil(scenes.first?["blurEstimate"])
    }

    /// A lossy codec the external branch cannot reproduce (VP9) still marks the input coded: the spectral shape, not
    /// the estimate, which reads the codec's artefacts as sharpness.
    func testLossyInputWithoutAReproducibleCodecUsesTheSpectralShape() throws {
        try Shell.ffmpeg(["-i", "three.mp4", "-frames:v", "10", "-c:v", "libvpx-vp9", "-crf", "40", "-b:v", "0", "first.webm"], in: folder.path)
        let result = try onsr(["first.webm", "out.mkv", "--method", "onsr", "--steps", "4", "--external", "photos",
                               "--codec", "ffv1", "--report", "vp9.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let scenes = try scenes("vp9.json")
        XCTAssertEqual(scenes.count, 1)
        XCTAssertEqual(scenes.first?["kernelShape"] as? String, "spectral")
        XCTAssertNil(scenes.first?["compression"], "VP9 is not reproduced in the external branch")
    }

    /// A kernel-conditioned Gr is told one blur; video ONSR, whose scenes each have their own, refuses it in one line.
    func testVideoONSRRefusesAKernelConditionedModel() throws {
        for mode in [[], ["--live"]] {
            let result = try onsr(["three.mp4", "told.mp4", "--method", "onsr", "--model", "fast-x2-cond", "--external", "photos"] + mode)
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertTrue(result.stderr.contains("fast-x2-cond is told the blur kernel"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("told.mp4")))
        }
    }

    func testAdaptNoneRunsNoAdaptationAndBadOptionsAreRefused() throws {
        var result = try onsr(["three.mp4", "none.mp4", "--method", "onsr", "--adapt", "none", "--report", "none.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(try scenes("none.json").allSatisfy { $0["adaptation"] == nil })
        result = try onsr(["three.mp4", "bad.mp4", "--method", "onsr", "--adapt", "sometimes"])
        XCTAssertEqual(result.status, 64)
        result = try onsr(["three.mp4", "bad.mp4", "--scene-threshold", "0"])
        XCTAssertEqual(result.status, 64)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("bad.mp4")))
    }

    /// The first scene is blurred (σ 1.2 HR pixels), so the fixed default starts from the blind model. Stored 4:2:0,
    /// its colours' upsampled edges read as sharp (the scene's no-blur probability read from R, G and B is 0.79, past
    /// the 0.7 call, which picks fast-x2-bicubic); read from its luma, 0.60.
    func testTheDefaultMethodIsTheShippedModel() throws {
        let result = try onsr(["three.mp4", "default.mp4", "--report", "default.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("default.json")))) as! [String: Any]
        XCTAssertEqual((json["settings"] as? [String: Any])?["method"] as? String, "pretrained:fast-x2-g")
        XCTAssertEqual(json["outputSize"] as? [Int], [320, 192])
    }

    /// `--self-ensemble` on video: a frame of the pretrained model's output is what `image` makes of the same
    /// picture with all eight symmetries (within 8-bit rounding), and not what one pass makes; ONSR's report names
    /// the ensemble; live mode says that it does not apply it.
    func testVideoSelfEnsembleIsTheImageOneAndLiveModeSaysItIsNotApplied() throws {
        try Shell.ffmpeg(["-i", "three.mp4", "-frames:v", "2", "-vf", "crop=96:64:20:10", "-c:v", "ffv1", "-pix_fmt", "bgr0", "clip.mkv"], in: folder.path)
        try Shell.ffmpeg(["-i", "clip.mkv", "-frames:v", "1", "first.png"], in: folder.path)
        let model = ["--method", "pretrained", "--model", "fast-x2-g"]
        XCTAssertEqual(try onsr(["image", "first.png", "eight.png"] + model).status, 0)
        func firstFrame(_ flags: [String]) throws -> RGBImage {
            let result = try onsr(["clip.mkv", "out.mkv", "--codec", "ffv1", "--pix-fmt", "bgr0", "--overwrite"] + model + flags)
            XCTAssertEqual(result.status, 0, result.stderr)
            try Shell.ffmpeg(["-i", "out.mkv", "-frames:v", "1", "-y", "out.png"], in: folder.path)
            return try ImageFile.read(path: folder.file("out.png")).image
        }
        let image = try ImageFile.read(path: folder.file("eight.png")).image
        func largestStep(_ frame: RGBImage) -> Float { zip(frame.pixels, image.pixels).map { abs($0 - $1) * 255 }.max() ?? .infinity }
        XCTAssertLessThanOrEqual(largestStep(try firstFrame(["--self-ensemble"])), 1.01)
        XCTAssertGreaterThan(largestStep(try firstFrame([])), 2, "one pass differs from the ensemble")

        var result = try onsr(["clip.mkv", "onsr.mkv", "--method", "onsr", "--steps", "2", "--external", "photos", "--self-ensemble",
                               "--report", "onsr.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("onsr.json")))) as! [String: Any]
        let method = (json["settings"] as? [String: Any])?["method"] as? String
        XCTAssertTrue(method?.hasSuffix(":per-scene+self-ensemble") == true, "\(method ?? "no method")")
        result = try onsr(["clip.mkv", "live.mkv", "--method", "onsr", "--steps", "2", "--external", "photos", "--self-ensemble", "--live"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("--self-ensemble is not applied"), result.stderr)
    }

    /// Idle OpenMP threads spin briefly (`OpenMPWaiting`), except in live ONSR, whose background adaptation keeps its
    /// cores with libgomp's long spinning; the report says which a run had.
    func testLiveAdaptationKeepsLibgompsLongSpinning() throws {
        func threadWaiting(_ arguments: [String]) throws -> String? {
            let result = try Shell.run(["-u", "OMP_WAIT_POLICY", "-u", "GOMP_SPINCOUNT", BuiltProducts.onsrVideo, "three.mp4", "out.mkv",
                                        "--method", "onsr", "--steps", "2", "--external", "photos", "--overwrite", "--report", "r.json"]
                                       + arguments, in: folder.path)
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("r.json")))) as! [String: Any]
            return (json["compute"] as? [String: Any])?["threadWaiting"] as? String
        }
        XCTAssertEqual(try threadWaiting(["--live"]), "libgomp default")
        XCTAssertEqual(try threadWaiting([]), "GOMP_SPINCOUNT=1000")
    }
}
