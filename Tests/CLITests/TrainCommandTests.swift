import Decode
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

/// `onsr-video train`, `train-estimator`, `train-corrector` and `models` as a user runs them, and `eval` on what they
/// trained, on small generated photo folders.
final class TrainCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-train-cli")
        try CommandPhotos.writeSmall(in: folder)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments, in: folder.path)
    }

    /// The Y-PSNR column of `method`'s row in an `eval` table (the seconds beside it vary from run to run).
    func psnr(of method: String, in table: String) throws -> String {
        let row = try XCTUnwrap(table.split(separator: "\n").first { $0.contains("| \(method) |") }, table)
        return row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }[1]
    }

    /// The estimated-size column of an `eval --methods estimator` table on `large/`.
    func estimatedSizes(_ table: String) -> [String] {
        table.split(separator: "\n").filter { $0.hasPrefix("| l") }.map { String($0.split(separator: "|")[3]) }
    }

    func losses(_ log: String) throws -> [String] {
        try String(contentsOfFile: folder.file(log), encoding: .utf8).split(separator: "\n")
            .map { $0.replacingOccurrences(of: #","seconds":[0-9.]+"#, with: "", options: .regularExpression) }
    }

    func testSameCommandAndSeedReproduceTheLoggedLosses() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--steps", "6", "--batch", "2", "--patch", "16", "--validate-every", "3", "--checkpoint-every", "3", "-q"]
        var result = try onsr(common + ["--output", "a.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        result = try onsr(common + ["--output", "b.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let first = try losses("a.safetensors.log.jsonl")
        XCTAssertEqual(first.filter { $0.contains("\"loss\"") }.count, 6)
        XCTAssertEqual(first, try losses("b.safetensors.log.jsonl"))
        result = try onsr(common + ["--output", "c.safetensors", "--seed", "2"])
        XCTAssertNotEqual(first, try losses("c.safetensors.log.jsonl"), "another seed, other losses")
        // The trained file is a model the other commands accept.
        result = try onsr(["image", "photos/p0.png", "big.png", "--method", "pretrained", "--model", "a.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.file("big.png")))
    }

    /// `--frames 3` from a one-frame model: the file says so; video takes it frame for frame (each output frame from
    /// its window), while a picture or ONSR, which adapt or read one frame, refuse it with one line.
    func testMultiFrameModelUpscalesVideoAndIsRefusedElsewhere() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "--steps", "2", "-q"]
        XCTAssertEqual(try onsr(common + ["--output", "one.safetensors"]).status, 0)
        var result = try onsr(common + ["--output", "three.safetensors", "--frames", "3", "--degradation", "real", "--initial", "one.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try ModelStore.describe(path: folder.file("three.safetensors")).configuration.frames, 3)
        XCTAssertNotEqual(try onsr(common + ["--output", "x.safetensors", "--frames", "2"]).status, 0)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "7", "-c:v", "libx264", "clip.mp4"], in: folder.path)
        result = try onsr(["clip.mp4", "big.mp4", "--model", "three.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let probe = try Shell.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                   "stream=width,height,nb_read_frames", "-of", "csv=p=0", "big.mp4"], in: folder.path)
        XCTAssertEqual(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "192,128,7")
        for arguments in [["image", "photos/p0.png", "big.png", "--method", "pretrained", "--model", "three.safetensors"],
                          ["clip.mp4", "onsr.mp4", "--method", "onsr", "--steps", "1", "--model", "three.safetensors"]] {
            result = try onsr(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains("reads 3 consecutive frames"), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
    }

    /// A run that continues from `--initial` records the steps its weights have seen in all, through two continuations.
    func testContinuedTrainingCountsEveryStep() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "-q"]
        XCTAssertEqual(try onsr(common + ["--steps", "3", "--output", "a.safetensors"]).status, 0)
        XCTAssertEqual(try onsr(common + ["--steps", "2", "--output", "b.safetensors", "--initial", "a.safetensors"]).status, 0)
        XCTAssertEqual(try onsr(common + ["--steps", "4", "--output", "c.safetensors", "--initial", "b.safetensors"]).status, 0)
        func metadata(_ name: String) throws -> [String: String] { try ModelStore.describe(path: folder.file(name)).metadata }
        XCTAssertNil(try metadata("a.safetensors")["total_steps"], "a first run has no earlier steps")
        XCTAssertEqual(try metadata("b.safetensors")["total_steps"], "5")
        XCTAssertEqual(try metadata("c.safetensors")["total_steps"], "9")
        XCTAssertEqual(try metadata("c.safetensors")["steps"], "4")
        XCTAssertEqual(try metadata("c.safetensors")["val_photos"], "photos", "the validation folder is named")
    }

    /// `--blur-variances` narrows the training kernels (other losses than the default range), is recorded in the
    /// model, and takes only LOW < HIGH.
    func testBlurVariancesNarrowTheKernelsAndAreRecorded() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "--steps", "3", "-q"]
        XCTAssertEqual(try onsr(common + ["--output", "wide.safetensors"]).status, 0)
        let result = try onsr(common + ["--output", "mild.safetensors", "--blur-variances", "0.3", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try ModelStore.describe(path: folder.file("mild.safetensors")).metadata["blur_variances"], "0.3-2.0")
        XCTAssertNil(try ModelStore.describe(path: folder.file("wide.safetensors")).metadata["blur_variances"])
        XCTAssertNotEqual(try losses("wide.safetensors.log.jsonl"), try losses("mild.safetensors.log.jsonl"), "other kernels, other losses")
        XCTAssertNotEqual(try onsr(common + ["--output", "bad.safetensors", "--blur-variances", "2", "0.3"]).status, 0)
        XCTAssertNotEqual(try onsr(common + ["--output", "bad.safetensors", "--blur-variances", "1"]).status, 0)
        XCTAssertNotEqual(try onsr(common + ["--output", "bad.safetensors", "--blur-variances", "0.3", "2", "--degradation", "bicubic"]).status, 0)
        // `models` says which part of the blind range a shipped model was trained on.
        let listing = try onsr(["models"])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        let lines = listing.stdout.split(separator: "\n")
        XCTAssertTrue(try XCTUnwrap(lines.first { $0.hasPrefix("fast-x2-mild ") }).contains("(eigenvalues 0.3-2.0)"), listing.stdout)
        XCTAssertFalse(try XCTUnwrap(lines.first { $0.hasPrefix("fast-x2-g ") }).contains("eigenvalues"), listing.stdout)
    }

    /// Trains `common` without and with `option`: the option is recorded in the model under `key` (absent without
    /// it) and changes the training pairs, so the logged losses differ.
    func assertRecordedAndChangesLosses(_ common: [String], option: [String], key: String, value: String,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try onsr(common + ["--output", "plain.safetensors"]).status, 0, file: file, line: line)
        let result = try onsr(common + ["--output", "varied.safetensors"] + option)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(try ModelStore.describe(path: folder.file("varied.safetensors")).metadata[key], value, file: file, line: line)
        XCTAssertNil(try ModelStore.describe(path: folder.file("plain.safetensors")).metadata[key], file: file, line: line)
        XCTAssertNotEqual(try losses("plain.safetensors.log.jsonl"), try losses("varied.safetensors.log.jsonl"),
                          "other training pairs, other losses", file: file, line: line)
    }

    /// `--compression-range heavy` draws other codec round trips than the default (other losses), is recorded in the
    /// model, and needs `--degradation real`.
    func testCompressionRangeChangesTheRoundTripsAndIsRecorded() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "--steps", "6", "--degradation", "real", "-q"]
        try assertRecordedAndChangesLosses(common, option: ["--compression-range", "heavy"], key: "compression_range", value: "heavy")
        XCTAssertNotEqual(try onsr(common.filter { $0 != "real" && $0 != "--degradation" } + ["--output", "bad.safetensors",
                                                                                               "--compression-range", "heavy"]).status, 0)
        XCTAssertNotEqual(try onsr(common + ["--output", "bad.safetensors", "--compression-range", "medium"]).status, 0)
    }

    /// `--no-blur-share` bicubic-downscales that share of the crops instead of blurring them (other losses), is
    /// recorded in the model, and takes a share from 0 to 1 of a blurring degradation, not for a kernel-conditioned Gr.
    func testNoBlurShareIsRecordedAndChangesThePairs() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "--steps", "3", "--degradation", "real", "-q"]
        try assertRecordedAndChangesLosses(common, option: ["--no-blur-share", "0.5"], key: "no_blur_share", value: "0.5")
        XCTAssertEqual(try onsr(common + ["--output", "bad.safetensors", "--no-blur-share", "1.5"]).status, 64)
        let blur = common.filter { $0 != "real" && $0 != "--degradation" }
        XCTAssertEqual(try onsr(blur + ["--output", "bad.safetensors", "--degradation", "bicubic", "--no-blur-share", "0.5"]).status, 64)
        XCTAssertEqual(try onsr(blur + ["--output", "bad.safetensors", "--no-blur-share", "0.5", "--condition-noise", "0.1"]).status, 64,
                       "an unblurred crop has no kernel to tell a conditioned Gr")
    }

    /// `--rescale-max` shrinks larger crops (other patches, other losses), is recorded in the model, and takes factors
    /// of at least 1 on one-frame models only.
    func testRescaleMaxChangesTheCropsAndIsRecorded() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "--steps", "3", "-q"]
        try assertRecordedAndChangesLosses(common, option: ["--rescale-max", "1.5"], key: "rescale_max", value: "1.5")
        XCTAssertEqual(try onsr(common + ["--output", "bad.safetensors", "--rescale-max", "0.5"]).status, 64)
        XCTAssertEqual(try onsr(common + ["--output", "bad.safetensors", "--rescale-max", "2", "--frames", "3"]).status, 64)
    }

    /// `--condition-noise` trains a kernel-conditioned Gr (recorded in the model, which reads three more planes), on
    /// blur only; `eval` tells it the estimate or the true kernel, and scores the two differently.
    func testConditionNoiseTrainsAKernelConditionedGr() throws {
        let common = ["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1", "--growth", "4",
                      "--batch", "2", "--patch", "16", "--steps", "3", "-q"]
        try assertRecordedAndChangesLosses(common, option: ["--condition-noise", "0.15"], key: "conditions", value: "3")
        XCTAssertEqual(try ModelStore.describe(path: folder.file("varied.safetensors")).configuration.conditions, 3)
        XCTAssertEqual(try onsr(common + ["--output", "bad.safetensors", "--condition-noise", "0.1", "--degradation", "real"]).status, 64)
        XCTAssertEqual(try onsr(common + ["--output", "bad.safetensors", "--condition-noise", "-1"]).status, 64)
        var scores: [String] = []
        for told in ["estimate", "truth"] {
            let result = try onsr(["eval", "--photos", "photos", "--methods", "varied.safetensors", "--condition", told])
            XCTAssertEqual(result.status, 0, result.stderr)
            scores.append(try psnr(of: "pretrained (varied)", in: result.stdout))
        }
        XCTAssertNotEqual(scores[0], scores[1], "told another kernel, the model restores otherwise")
        let smaller = try onsr(["eval", "--photos", "photos", "--methods", "varied.safetensors", "--condition-log-size-offset=-0.5"])
        XCTAssertEqual(smaller.status, 0, smaller.stderr)
        XCTAssertNotEqual(try psnr(of: "pretrained (varied)", in: smaller.stdout), scores[0],
                          "told a smaller blur than the estimate, the model restores otherwise")
    }

    /// Runs `onsr-video image` with `arguments`, which must succeed, and returns its `--report`.
    func imageReport(_ arguments: [String]) throws -> [String: Any] {
        let result = try onsr(["image"] + arguments + ["--report", "image.json", "-q"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("image.json")))) as? [String: Any])
    }

    /// `image` adapts by default (ONSR); `--method pretrained` does not.
    func testImageUsesONSRByDefault() throws {
        var result = try onsr(["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1",
                               "--growth", "4", "--steps", "2", "--batch", "2", "--patch", "16", "--output", "tiny.safetensors", "-q"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try imageReport(["photos/p0.png", "big.png", "--model", "tiny.safetensors", "--external", "photos", "--steps", "2"])
        XCTAssertEqual(report["method"] as? String, "onsr:two-phase:tiny")
        XCTAssertEqual(report["blend"] as? Double, 0.75, "x2 blends the adapted Gr a quarter of the way back by default")
        XCTAssertEqual(report["kernelShape"] as? String, "learned")
        XCTAssertNil(report["compression"], "a PNG carries no coding to reproduce")
        let estimate = try XCTUnwrap(report["blurEstimate"] as? [String: Double], "the reading that chose the starting Gr")
        XCTAssertTrue((0...1).contains(estimate["noBlurProbability"] ?? -1), "\(estimate)")
        XCTAssertEqual(report["startingModel"] as? String, "tiny", "a model the user named is the start")
        XCTAssertNil(report["mixedModel"], "and is never mixed with another")
        // A JPEG: its quantiser is read from the file and reproduced on the external patches; the kernel shape is the
        // spectral one (the estimator reads the blocks as detail).
        try Shell.ffmpeg(["-i", "photos/p0.png", "-q:v", "6", "p0.jpg"], in: folder.path)
        let jpeg = try imageReport(["p0.jpg", "jpeg.png", "--model", "tiny.safetensors", "--external", "photos", "--steps", "2"])
        XCTAssertEqual(jpeg["kernelShape"] as? String, "spectral")
        XCTAssertEqual(jpeg["blend"] as? Double, 0.5, "the spectral shape of coded input blends halfway")
        let compression = try XCTUnwrap(jpeg["compression"] as? [String: Any])
        XCTAssertEqual(compression["codec"] as? String, "jpeg")
        XCTAssertEqual(compression["quantiser"] as? Double ?? 0, 6, accuracy: 0.25)
        let plain = try imageReport(["photos/p0.png", "plain.png", "--model", "tiny.safetensors", "--method", "pretrained"])
        XCTAssertFalse((plain["method"] as? String ?? "onsr").hasPrefix("onsr"))
        // A bad input fails on the input, before any external photos are looked for.
        result = try onsr(["image", "missing.png", "x.png", "--external", "nowhere"])
        XCTAssertEqual(result.status, 66)
        XCTAssertTrue(result.stderr.contains("missing.png"), result.stderr)
    }

    /// `train-estimator --hold-out-every N` trains on the photos it does not hold out and says so.
    func testTrainEstimatorHoldsPhotosOut() throws {
        // The estimator's crops are 144 pixels wide at x2: larger photos than the Gr trainer's.
        try FileManager.default.createDirectory(atPath: folder.file("large"), withIntermediateDirectories: false)
        for i in 0..<2 {
            var image = RGBImage(width: 160, height: 150)
            for y in 0..<150 { for x in 0..<160 { image[i, y, x] = Float((x / 5 + y / 7) % 2) } }
            try ImageFile.writePNG(image, to: folder.file("large/l\(i).png"))
        }
        let common = ["train-estimator", "--external", "large", "--features", "4", "--steps", "1", "--batch", "2"]
        var result = try onsr(common + ["--output", "all.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("on 2 photos from"), result.stderr)
        result = try onsr(common + ["--output", "held.safetensors", "--hold-out-every", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("on 1 photo from") && result.stderr.contains("1 held out"), result.stderr)
        result = try onsr(common + ["--output", "bad.safetensors", "--hold-out-every", "1"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("--hold-out-every"), result.stderr)
    }

    /// `train-corrector` writes a corrector `eval --corrector` applies to the estimator's readings: its readings
    /// differ from the plain estimator's, and a file that is no corrector is refused in one line.
    func testTrainCorrectorAndEvalWithIt() throws {
        try CommandPhotos.writeLarge(in: folder)
        var result = try onsr(["train-corrector", "--external", "large", "--features", "4", "--steps", "2", "--batch", "2",
                               "--output", "corrector.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("fast-x2-cond's outputs"), result.stderr)
        let plain = try onsr(["eval", "--photos", "large", "--methods", "estimator", "--seed", "3"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let corrected = try onsr(["eval", "--photos", "large", "--methods", "estimator", "--seed", "3", "--corrector", "corrector.safetensors"])
        XCTAssertEqual(corrected.status, 0, corrected.stderr)
        XCTAssertEqual(estimatedSizes(plain.stdout).count, 2, plain.stdout)
        XCTAssertNotEqual(estimatedSizes(plain.stdout), estimatedSizes(corrected.stdout), "an untrained corrector moves the readings")
        result = try onsr(["eval", "--photos", "large", "--methods", "estimator", "--corrector", "large/l0.png"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    /// A checkpoint interval of zero is a usage error of every training command, not a crash at the first step.
    func testTrainingCommandsRefuseACheckpointIntervalOfZero() throws {
        for command in ["train", "train-estimator", "train-corrector"] {
            let result = try onsr([command, "--external", "photos", "--steps", "1", "--checkpoint-every", "0", "--output", "m.safetensors"])
            XCTAssertEqual(result.status, 64, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("must be positive"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("m.safetensors")))
        }
    }

    /// `--estimator-companion` averages further estimators into every reading; one of another size is refused.
    func testEvalReadsAnEnsembleOfEstimators() throws {
        try CommandPhotos.writeLarge(in: folder)
        for (name, features, seed) in [("a", "4", "1"), ("b", "4", "5"), ("wide", "8", "1")] {
            let result = try onsr(["train-estimator", "--external", "large", "--features", features, "--steps", "2", "--batch", "2",
                                   "--seed", seed, "--output", "\(name).safetensors"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        func sizes(_ extra: [String]) throws -> [String] {
            let result = try onsr(["eval", "--photos", "large", "--methods", "estimator", "--seed", "3", "--estimator", "a.safetensors"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            return estimatedSizes(result.stdout)
        }
        let alone = try sizes([])
        XCTAssertEqual(alone.count, 2)
        XCTAssertEqual(try sizes(["--estimator-companion", "a.safetensors"]), alone, "an estimator averaged with itself reads as it does alone")
        XCTAssertNotEqual(try sizes(["--estimator-companion", "b.safetensors"]), alone)
        let result = try onsr(["eval", "--photos", "large", "--methods", "estimator", "--estimator", "a.safetensors",
                               "--estimator-companion", "wide.safetensors"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("same architecture"), result.stderr)
    }

    /// With `--keep-outputs` an adaptation keeps, per checkpoint, the kernel Gr was fine-tuned through (as the JSON
    /// reports it); `--condition-file` tells a kernel-conditioned Gr such kernels, and told the true ones it scores as
    /// `--condition truth` does. A photo the file lacks, or a file that is not one, is refused.
    func testEvalKeepsTheFittedKernelsAndTellsThemFromAFile() throws {
        var result = try onsr(["train", "--external", "photos", "--validation", "photos", "--features", "4", "--blocks", "1",
                               "--growth", "4", "--batch", "2", "--patch", "16", "--steps", "2", "--condition-noise", "0.15",
                               "--output", "cond.safetensors", "-q"])
        XCTAssertEqual(result.status, 0, result.stderr)
        result = try onsr(["eval", "--photos", "photos", "--external", "photos", "--methods", "onsr:two-phase", "--checkpoints", "0", "2",
                           "--keep-outputs", "kept", "--json", "eval.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("eval.json")))) as! [[String: Any]]
        let adapted = try XCTUnwrap(rows.first { ($0["method"] as? String)?.hasSuffix(", 2 steps") == true })
        let reported = try XCTUnwrap(adapted["perImageKernelCovariance"] as? [[Double]])
        let kept = try JSONDecoder().decode([String: [Double]].self, from: Data(contentsOf: URL(fileURLWithPath:
            folder.file("kept/kernels--onsr:two-phase (fast-x2-g), 2 steps.json"))))
        XCTAssertEqual(kept.count, 2)
        for i in 0..<2 {
            for (k, r) in zip(try XCTUnwrap(kept["p\(i).png"]), reported[i]) { XCTAssertEqual(k, r, accuracy: 1e-12 * max(1, abs(r))) }
        }

        let truth = try XCTUnwrap(adapted["perImageTrueKernelCovariance"] as? [[Double]])
        try JSONEncoder().encode(["p0.png": truth[0], "p1.png": truth[1]]).write(to: URL(fileURLWithPath: folder.file("truth.json")))
        func score(_ extra: [String]) throws -> String {
            let run = try onsr(["eval", "--photos", "photos", "--methods", "cond.safetensors"] + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
            return try psnr(of: "pretrained (cond)", in: run.stdout)
        }
        XCTAssertEqual(try score(["--condition-file", "truth.json"]), try score(["--condition", "truth"]))
        XCTAssertNotEqual(try score(["--condition-file", folder.file("kept/kernels--onsr:two-phase (fast-x2-g), 2 steps.json")]),
                          try score(["--condition", "truth"]), "told the fitted kernels, the model restores otherwise")
        try JSONEncoder().encode(["p0.png": truth[0]]).write(to: URL(fileURLWithPath: folder.file("one.json")))
        XCTAssertNotEqual(try onsr(["eval", "--photos", "photos", "--methods", "cond.safetensors", "--condition-file", "one.json"]).status, 0)
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: folder.file("list.json")))
        let wrong = try onsr(["eval", "--photos", "photos", "--methods", "cond.safetensors", "--condition-file", "list.json"])
        XCTAssertEqual(wrong.status, 66, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("not a kernel file"), wrong.stderr)
    }
}
