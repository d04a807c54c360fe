import ArgumentParser
import Batch
import Engine
import Foundation
import Pipeline

/// The `onsr-video` command line.
@main
struct OnsrVideo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onsr-video",
        abstract: "Restore and upscale video by online super-resolution.",
        discussion: """
        Exit status: 0 success, 64 usage error, 65 bad input data (not a video, damaged, unsupported), \
        66 missing or unreadable input, 73 cannot create output, 130 interrupted, 1 anything else.
        """,
        version: "0.1.0 (\(ComputeReport(precision: Precision.auto.resolved, channels: 32)); --precision auto)",
        subcommands: [Upscale.self, ImageCommand.self, FramesCommand.self, BatchCommand.self, TrainCommand.self, TrainEstimatorCommand.self, TrainCorrectorCommand.self, ModelsCommand.self, EvalCommand.self],
        defaultSubcommand: Upscale.self
    )

    static func main() {
        let parsed = Result { try parseAsRoot() }
        // libgomp has read its wait policy before main, so a changed one needs a fresh start (which parses again;
        // a usage error, --help or --version then prints once, from the fresh start).
        let keepsLongSpinning = ((try? parsed.get()) as? KeepsLongSpinning)?.keepsLongSpinning ?? false
        if !keepsLongSpinning { OpenMPWaiting.startWithShortSpinning() }
        ItemProcess.dieWithParentIfAsked(exitStatus: ExitStatus.code(for: .interrupted))
        Interrupts.install()
        MemoryTuning.reuseLargeBuffers()
        do {
            var command = try parsed.get()
            try command.run()
        } catch {
            exit(withOneLine: error)
        }
    }

    /// Help and the version print as usual; a usage error is one line, like every other error (the usage is
    /// one `--help` away), with the parser's exit status (64).
    static func exit(withOneLine error: Error) -> Never {
        let code = exitCode(for: error)
        guard code != .success, !(error is ExitCode) else { exit(withError: error) }
        let message = self.message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; ")
        FileHandle.standardError.write("onsr-video: error: \(message) (see --help)\n".data(using: .utf8)!)
        Foundation.exit(code.rawValue)
    }
}

/// A command that may run better with libgomp's own long spinning than with `OpenMPWaiting`'s short one.
protocol KeepsLongSpinning {
    var keepsLongSpinning: Bool { get }
}

/// `onsr-video [upscale] IN OUT`: upscale a video, keeping every other stream.
struct Upscale: ParsableCommand, KeepsLongSpinning {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale a video file (the default command).",
        discussion: "Audio, subtitle and attachment streams, chapters, metadata, timestamps, colour tags and rotation are kept."
    )

    @Argument(help: "Input video (any file FFmpeg reads).")
    var input: String

    @Argument(help: "Output video; the container follows the extension (or --output-format).")
    var output: String

    @OptionGroup var method: MethodOptions
    @OptionGroup var schedule: ScheduleFlags
    @OptionGroup var encoding: EncodingOptions
    @OptionGroup var common: RunOptions

    @Option(name: .customLong("format"), help: "Input container format, where probing cannot tell (e.g. nut).")
    var inputFormat: String?

    @Option(name: .customLong("output-format"), help: "Output container format, where the extension cannot tell (e.g. matroska).")
    var outputFormat: String?

    @Flag(help: "Keep going past damaged input, counting the bad packets.")
    var allowDamaged = false

    @Flag(help: "Drop streams the output container cannot hold instead of failing.")
    var dropUnsupportedStreams = false

    @Option(help: "When input comes faster than upscaling: block (back-pressure, the default), drop (count and skip frames) or fallback (late frames get bicubic).")
    var dropPolicy = DropPolicy.block

    @Option(help: "Fallback policy: seconds a frame may wait before it gets the cheap method.")
    var maxLatency = 2.0

    @Option(help: "Interlaced input: auto (deinterlace with FFmpeg's bwdif before upscaling, the default) or off (upscale fields as they are).")
    var deinterlace = DeinterlaceMode.auto

    @Option(help: "Upscale from this time of the input on: seconds (90, 12.5) or [HH:]MM:SS[.fff]; the output starts at zero.")
    var start: TimeValue?

    @Option(help: "Upscale this much of the input: seconds or [HH:]MM:SS[.fff] (with --start, a preview before the whole run).")
    var duration: TimeValue?

    @OptionGroup var size: SizeOptions

    func validate() throws {
        guard maxLatency > 0 else { throw ValidationError("--max-latency must be positive") }
        if let duration, duration.seconds <= 0 { throw ValidationError("--duration must be positive") }
    }

    /// Live ONSR adapts on a background thread beside the upscaling one, in one process, and long spinning keeps
    /// the adaptation's cores: on the sample looped to 240 frames and piped in (`--method onsr --steps 100`, AMD EPYC
    /// family 25 model 17, two cores, two runs each) its first adaptation took 11.0-11.1 s with libgomp's default
    /// against 19.5-20.4 s with 1,000 spins, and the adapted model took over at frame 74 against frame 154.
    var keepsLongSpinning: Bool { method.method == .onsr && schedule.isLive(input: input) }

    func run() throws {
        common.applyLogging()
        try reportingFailures {
            var options = VideoJobOptions(input: input, output: output)
            options.inputFormat = inputFormat
            options.outputFormat = outputFormat
            options.encoder = encoding.settings
            options.overwrite = common.overwrite
            options.allowDamaged = allowDamaged
            options.dropUnsupportedStreams = dropUnsupportedStreams
            options.dropPolicy = dropPolicy
            options.maxLatency = maxLatency
            options.deinterlace = deinterlace
            options.trim = TrimWindow(start: start?.seconds ?? 0, duration: duration?.seconds)
            options.size = size.size
            let printer = ProgressPrinter(quiet: common.quiet)
            let live = schedule.isLive(input: input)
            // Under back-pressure a pipe or file waits for its reader, so live mode may give its background
            // adaptation the larger share of the cores; a network source would deliver late frames instead.
            let inputWaits = dropPolicy == .block && !InputCheck.isNetwork(input)
            var method = self.method
            // Without --model, compressed footage starts from the model trained on compression (StartingModel).
            var start: StartingChoice?
            if method.model == nil, method.method == .pretrained || method.method == .onsr {
                start = StartingModel.decision(forVideo: input, format: inputFormat, scale: method.scale)
                if let chosen = start?.model { method.model = chosen }
            }
            let compute = try method.computeReport(for: common)
            common.announce(compute)
            let processor = try schedule.makeProcessor(method, live: live, inputWaits: inputWaits, events: printer.handle)
            let job = VideoJob(options: options, processor: processor, events: printer.handle)
            defer { printer.finish() }
            var report = try job.run()
            report.compute = compute
            report.start = start
            if report.damagedPackets > 0 {
                printer.handle(.warning("\(report.damagedPackets) damaged packets or frames in \(input)"))
            }
            if report.droppedFrames > 0 { printer.handle(.warning("\(report.droppedFrames) frames dropped to keep up with the input")) }
            if report.lateFrames > 0 { printer.handle(.warning("\(report.lateFrames) late frames upscaled with bicubic interpolation")) }
            if live, let latency = report.latency, !common.quiet {
                FileHandle.standardError.write(String(format: "onsr-video: latency from input to output: max %.2f s, mean %.2f s\n",
                                                      latency.maxSeconds, latency.meanSeconds).data(using: .utf8)!)
            }
            try common.report.map { try report.write(to: $0) }
        }
    }
}

/// `onsr-video image IN OUT`: upscale one picture.
struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "image", abstract: "Upscale one image (PNG or JPEG in, PNG or JPEG out).")

    @Argument(help: "Input image.") var input: String
    @Argument(help: "Output picture: .png (alpha, 16 bits and grey kept) or .jpg (full range, 4:4:4, q 2).") var output: String
    @OptionGroup var method: MethodOptions
    @OptionGroup var common: RunOptions
    @OptionGroup var size: SizeOptions

    @Flag(inversion: .prefixedNo, help: "Average the learned model's output over turned and mirrored copies of the picture, those its task keeps (a model ONSR fine-tuned through a blur: the half turn; an unadapted one: all eight); 2-8 inferences instead of one.")
    var selfEnsemble = true

    func run() throws {
        common.applyLogging()
        try reportingFailures {
            let printer = ProgressPrinter(quiet: common.quiet)
            defer { printer.finish() }
            // One picture is where adaptation pays most for its time: ONSR by default, with `imageSteps` (200 at x2,
            // where every held-out photo gained and at 100 two ended a hair below the unadapted model; docs/onsr-study.md).
            var options = method
            let methodChosen = options.chosenMethod != nil
            options.chosenMethod = options.chosenMethod ?? .onsr
            options.chosenSteps = options.chosenSteps ?? options.imageSteps
            // Bad input fails before the adaptation's setup (external photos, model) costs anything.
            // Without --model the fixed Gr is picked from the picture's blur, which needs the picture read as well.
            let decoded = options.method == .onsr || (options.method == .pretrained && options.model == nil)
                ? try FrameFolderJob.readImage(input) : nil
            if !methodChosen, let picture = decoded?.image, !AdaptationInputCheck.holdsPatch(picture, options: options.adaptation) {
                // A picture too small to learn from (an icon, a thumbnail) is still a picture to upscale: the
                // default gives way to the fixed model; `--method onsr` asked for keeps the error.
                options.chosenMethod = .pretrained
                printer.handle(.warning("\(input): \(picture.width)x\(picture.height) is smaller than ONSR's "
                                        + "\(options.adaptation.patchSize)x\(options.adaptation.patchSize) patch; upscaled with the pretrained model"))
            }
            let picksFixedModel = options.method == .pretrained && options.model == nil
            let steps = options.steps
            let compute = try options.computeReport(for: common)
            common.announce(compute)
            var upscaler = try options.makeUpscaler { printer.handle(.adaptation(step: $0.step, of: steps, internalLoss: $0.heldAsideInternalLoss)) }
            if picksFixedModel, let fixed = upscaler as? PretrainedUpscaler, fixed.network.configuration.frames == 1 {
                let estimated = EstimatedStartUpscaler(model: try ModelStore.resolve(nil, scale: options.scale), precision: fixed.precision)
                estimated.inputIsCoded = decoded?.isLossyCoded ?? false
                estimated.selfEnsembles = selfEnsemble
                upscaler = estimated
            } else if let onsr = upscaler as? OnsrUpscaler {
                if let decoded { onsr.describeInput(decoded, path: input) }
                onsr.selfEnsembles = selfEnsemble
            } else if selfEnsemble {
                upscaler = SelfEnsembleUpscaler.unadapted(upscaler)
            }
            let job = FrameFolderJob(upscaler: upscaler, overwrite: common.overwrite, size: size.size)
            var report = try job.runImage(input, into: output, decoded: decoded)
            report.compute = compute
            if let onsr = upscaler as? OnsrUpscaler {
                (report.kernelShape, report.compression, report.blurEstimate) = (onsr.kernelShape, onsr.compression, onsr.blurEstimate)
                (report.startingModel, report.mixedModel) = (onsr.startedFrom?.name, onsr.mixedWith?.model.name)
                report.mixedShare = onsr.mixedWith.map { Double($0.weight) }
                report.blend = onsr.blend
                report.selfEnsemble = onsr.selfEnsembles ? onsr.selfEnsemble : nil
            } else if let estimated = upscaler as? EstimatedStartUpscaler {
                report.blurEstimate = estimated.start?.estimate
                (report.startingModel, report.mixedModel) = (estimated.start?.model.name, estimated.start?.mix?.model.name)
                report.mixedShare = estimated.start?.mix.map { Double($0.weight) }
                report.selfEnsemble = estimated.selfEnsemble
            } else if let ensembled = upscaler as? SelfEnsembleUpscaler {
                report.selfEnsemble = ensembled.ensemble
            }
            try common.report.map { try JSONReport.write(report, to: $0) }
        }
    }
}

/// `onsr-video frames IN_DIR OUT_DIR`: upscale a folder of numbered frames.
struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames", abstract: "Upscale a folder of PNG / JPEG frames into PNGs with the same names.")

    @Argument(help: "Folder of frames.") var inputFolder: String
    @Argument(help: "Folder for the upscaled frames (created if missing).") var outputFolder: String
    @OptionGroup var method: MethodOptions
    @OptionGroup var schedule: ScheduleFlags
    @OptionGroup var common: RunOptions
    @OptionGroup var size: SizeOptions

    @Flag(help: "Skip frames that cannot be read (listed in the report; the run still exits 65).")
    var allowDamaged = false

    func run() throws {
        common.applyLogging()
        try reportingFailures {
            let printer = ProgressPrinter(quiet: common.quiet)
            defer { printer.finish() }
            let compute = try method.computeReport(for: common)
            common.announce(compute)
            // Frames are a video's frames: with --method onsr the scene scheduler adapts once per scene.
            let processor = try schedule.makeProcessor(method, events: printer.handle)
            let job = FrameFolderJob(processor: processor, overwrite: common.overwrite, size: size.size, events: printer.handle)
            var report = try job.runFolder(inputFolder, into: outputFolder, allowDamaged: allowDamaged)
            report.compute = compute
            try common.report.map { try JSONReport.write(report, to: $0) }
            if let skipped = report.skippedFrames {
                throw JobError(.dataError, "\(inputFolder): \(skipped.count) unreadable frames skipped (\(skipped.prefix(3).joined(separator: ", "))"
                                + (skipped.count > 3 ? ", ..." : "") + "); the other \(report.frames) were written")
            }
        }
    }
}

/// `onsr-video models`: the shipped Gr models.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List the shipped Gr models.")

    func run() throws {
        let models = ModelStore.shipped()
        if models.isEmpty { print("no shipped models") }
        for model in models {
            let c = model.configuration
            let on = model.metadata["val_photos"].map { " on \($0)" } ?? ""
            let psnr = model.metadata["val_psnr"].map { " val Y-PSNR \($0) dB\(on) (bicubic \(model.metadata["val_bicubic_psnr"] ?? "?"))" } ?? ""
            let range = model.metadata["blur_variances"].map { " (eigenvalues \($0))" } ?? ""
            let trained = (model.metadata["total_steps"] ?? model.metadata["steps"]).map { ", \($0) steps, \(model.metadata["degradation"] ?? "?")-trained\(range)" } ?? ""
            let skip = c.bicubicSkip ? " + bicubic skip" : ""
            // A conditioned model's validation is told the true kernel, so its number is not comparable with a blind one's.
            let told = c.conditions > 0 ? ", kernel-conditioned (validated with the true kernel)" : ""
            print("\(model.name)  x\(c.scale)  RRDBNet(\(c.features), \(c.blocks), \(c.growth))\(skip)\(trained)\(told)\(psnr)")
        }
    }
}
