import ArgumentParser
import Decode
import Engine
import Foundation
import ONSR
import Pipeline

extension UpscaleMethod: ExpressibleByArgument {}
extension AdaptPolicy: ExpressibleByArgument {}
extension DropPolicy: ExpressibleByArgument {}
extension DeinterlaceMode: ExpressibleByArgument {}
extension KernelShape: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension SelfEnsemble: ExpressibleByArgument {}

/// A time on the command line: seconds (`90`, `12.5`) or `[HH:]MM:SS[.fff]` (`TimeArgument`).
struct TimeValue: ExpressibleByArgument {
    let seconds: Double

    init?(argument: String) {
        guard let seconds = TimeArgument.seconds(argument) else { return nil }
        self.seconds = seconds
    }
}

/// How frames are upscaled.
struct MethodOptions: ParsableArguments {
    @Option(name: .customLong("method"), help: """
        Upscaling method: \(UpscaleMethod.allCases.map(\.rawValue).joined(separator: ", ")) (default: onsr for `image`, \
        pretrained for video, frames and batch).
        """)
    var chosenMethod: UpscaleMethod?

    /// The method in effect: the one asked for, else pretrained (a command with another default sets
    /// `chosenMethod` before use).
    var method: UpscaleMethod { chosenMethod ?? .pretrained }

    @Option(help: "Magnification: 2 or 4.")
    var scale: Int = 2

    @Option(help: "Gr model for learned methods: a shipped model's name (see `onsr-video models`) or a .safetensors path.")
    var model: String?

    @Option(help: "ONSR: folder of external HR photos (default: the set from scripts/setup-data).")
    var external: String?

    @Option(name: .customLong("steps"), help: "ONSR: adaptation steps (default: 200 for `image`, 400 for `image --scale 4`, 100 per scene or frame otherwise).")
    var chosenSteps: Int?

    /// The step budget in effect: the one asked for, else 100 (per scene on video; `image` sets `imageSteps`).
    var steps: Int { chosenSteps ?? 100 }

    /// `image`'s default budget: 200 steps at x2, 400 at x4. On training-set crops x4 kept gaining past 200 (set 0,
    /// blind seeds 1-2, blend 0.5: +0.160 → +0.263 dB over fast-x4-g, crops below it 4 → 3), where x2 had stopped
    /// (docs/onsr-study.md, "x4: 400 steps for a picture").
    var imageSteps: Int { scale >= 4 ? 400 : 200 }

    @Option(help: "ONSR: how far the adapted Gr's weights count against the pretrained ones (1: fully adapted; default 0.75 where Gr is fine-tuned through the blur estimator's kernel, x2 input not lossy-coded, else 0.5).")
    var blend: Float?

    @Option(help: "Inference precision: auto (bf16 where the CPU computes it natively, else fp32), fp32 or bf16. Adaptation is always fp32.")
    var precision = Precision.auto

    /// What the learned methods compute with on this machine, where `--verbose` or `--report` will show it (nil
    /// otherwise, and for interpolation: the probe builds a primitive).
    func computeReport(for run: RunOptions) throws -> ComputeReport? {
        guard run.verbose || run.report != nil, method == .pretrained || method == .onsr else { return nil }
        let info = try ModelStore.resolve(model, scale: scale)
        return ComputeReport(precision: precision.resolved, channels: info.configuration.features)
    }

    /// The adaptation these options ask for.
    var adaptation: AdaptationOptions {
        var adaptation = AdaptationOptions()
        adaptation.steps = steps
        adaptation.blend = blend
        return adaptation
    }

    /// The upscaler these options ask for.
    func makeUpscaler(progress: @escaping (AdaptationStep) -> Void = { _ in }) throws -> FrameUpscaler {
        try method.makeUpscaler(scale: scale, model: model, external: external, adaptation: adaptation, precision: precision.resolved,
                                progress: progress)
    }

    /// The same choices as command-line arguments, for a child process.
    var arguments: [String] {
        var result = ["--method", method.rawValue, "--scale", String(scale), "--steps", String(steps),
                      "--precision", precision.rawValue]
        if let blend { result += ["--blend", String(blend)] }
        if let model { result += ["--model", model] }
        if let external { result += ["--external", external] }
        return result
    }

    func validate() throws {
        guard scale == 2 || scale == 4 else { throw ValidationError("--scale must be 2 or 4, got \(scale)") }
        guard steps >= 0 else { throw ValidationError("--steps must not be negative") }
        if let blend, !(0...2).contains(blend) { throw ValidationError("--blend must be between 0 and 2, got \(blend)") }
    }
}

/// How ONSR is scheduled over a video's frames.
struct ScheduleFlags: ParsableArguments {
    @Option(help: "ONSR on video: when to adapt (\(AdaptPolicy.allCases.map(\.rawValue).joined(separator: ", "))).")
    var adapt = AdaptPolicy.perScene

    @Option(help: "ONSR on video: extra adaptation steps on each later frame of a scene (0 keeps a scene's weights fixed).")
    var warmSteps = 0

    @Option(help: "Scene-cut sensitivity: frame distance (0-1) above which a new scene starts; lower finds more cuts.")
    var sceneThreshold: Float = 0.3

    @Option(help: "Frames after which a long scene is split and its adaptation refreshed.")
    var maxSceneLength = 300

    @Option(help: "Frames of a new scene whose patches its adaptation sees (held in memory meanwhile).")
    var lookAhead = 8

    @Flag(help: "Streaming mode: never hold frames back; adapt in the background and switch models at a scene cut (automatic for pipes and network inputs).")
    var live = false

    @Option(help: "Live mode: seconds an adapted model waits for a scene cut before it is cross-faded in.")
    var maxSwitchDelay = 2.0

    @Flag(inversion: .prefixedNo, help: "ONSR on video: reproduce the input's codec, quantiser and noise in the external branch (H.264, MPEG-2, MPEG-4 part 2 input).")
    var codecAware = true

    @Flag(inversion: .prefixedNo, help: "Average each frame's output over turned and mirrored copies of it, those its model keeps (the pretrained model: all eight; one ONSR adapted: the half turn): 2-8 inferences a frame instead of one. Not in live mode, where no frame may wait.")
    var selfEnsemble = false

    /// The same choices as command-line arguments, for a child process.
    var arguments: [String] {
        ["--adapt", adapt.rawValue, "--warm-steps", String(warmSteps), "--scene-threshold", String(sceneThreshold),
         "--max-scene-length", String(maxSceneLength), "--look-ahead", String(lookAhead)] + (codecAware ? [] : ["--no-codec-aware"])
            + (selfEnsemble ? ["--self-ensemble"] : [])
    }

    func validate() throws {
        guard warmSteps >= 0 else { throw ValidationError("--warm-steps must not be negative") }
        guard sceneThreshold > 0 && sceneThreshold <= 1 else { throw ValidationError("--scene-threshold must be in (0, 1]") }
        guard maxSceneLength > 0, lookAhead > 0 else { throw ValidationError("--max-scene-length and --look-ahead must be positive") }
        guard maxSwitchDelay >= 0 else { throw ValidationError("--max-switch-delay must not be negative") }
    }

    /// Live mode: asked for, or implied by an input that cannot be read twice (a pipe or a network stream).
    func isLive(input: String) -> Bool {
        live || InputCheck.isStream(input)
    }

    /// The frame processor for a video: the scene scheduler for ONSR, one fixed upscaler otherwise.
    func makeProcessor(_ method: MethodOptions, live: Bool = false, inputWaits: Bool = false,
                       events: @escaping (JobEvent) -> Void) throws -> FrameProcessor {
        guard method.method == .onsr else {
            let upscaler: FrameUpscaler
            if method.method == .pretrained {
                // The model file is read once: its frame count decides the processor.
                let model = try ModelStore.resolve(method.model, scale: method.scale)
                if model.configuration.frames > 1 {
                    if selfEnsemble { events(.warning("\(model.name) reads \(model.configuration.frames) frames at once: --self-ensemble is not applied")) }
                    return try MultiFrameProcessor(model: model, sceneThreshold: sceneThreshold, precision: method.precision.resolved)
                }
                upscaler = try PretrainedUpscaler(model: model, precision: method.precision.resolved)
            } else {
                upscaler = try method.makeUpscaler()
            }
            return PerFrameProcessor(selfEnsemble ? SelfEnsembleUpscaler.unadapted(upscaler) : upscaler)
        }
        var schedule = ScheduleOptions()
        schedule.policy = method.steps == 0 ? .none : adapt
        schedule.steps = method.steps
        schedule.warmSteps = warmSteps
        schedule.sceneThreshold = sceneThreshold
        schedule.maxSceneLength = maxSceneLength
        schedule.lookAhead = lookAhead
        schedule.codecAware = codecAware
        schedule.selfEnsembles = selfEnsemble
        let adaptation = method.adaptation
        let model = try ModelStore.resolve(method.model, scale: method.scale)
        // The model's own mismatch first: no photo set would make a multi-frame model adaptable.
        try ModelStore.requireOneFrame(model, for: "ONSR, which adapts a one-frame Gr")
        let external = schedule.policy == .none ? nil : try DataLocation.externalPhotos(method.external)
        if live && schedule.policy != .none, let external {
            if selfEnsemble { events(.warning("live mode upscales each frame once, so that no frame waits: --self-ensemble is not applied")) }
            var options = LiveOptions()
            options.steps = method.steps
            options.sceneThreshold = sceneThreshold
            options.maxSwitchDelay = maxSwitchDelay
            options.favourAdaptation = inputWaits
            options.codecAware = codecAware
            return try LiveScheduler(model: model, external: external, adaptation: adaptation, options: options,
                                     precision: method.precision.resolved, events: events)
        }
        return try SceneScheduler(model: model, external: external, adaptation: adaptation, options: schedule,
                                  precision: method.precision.resolved, events: events)
    }
}

/// The output picture size (`OutputSize`), shared by every command that writes pictures.
struct SizeOptions: ParsableArguments {
    @Option(help: "Output width in pixels (even): the upscaled frames are resampled to it (Lanczos); alone, the height keeps the picture's shape.")
    var width: Int?

    @Option(help: "Output height in pixels (even; e.g. 1080 for a 720p input: upscaled x2, then brought to 1080 lines); alone, the width keeps the shape.")
    var height: Int?

    func validate() throws {
        for (name, value) in [("--width", width), ("--height", height)] {
            guard let value else { continue }
            guard (2...16_384).contains(value) else { throw ValidationError("\(name) must be between 2 and 16384 pixels") }
            // 4:2:0 video, the default and most codecs' only form, needs even sides.
            guard value % 2 == 0 else { throw ValidationError("\(name) must be even, got \(value)") }
        }
    }

    var size: OutputSize { OutputSize(width: width, height: height) }

    /// The same choices as command-line arguments, for a child process.
    var arguments: [String] { (width.map { ["--width", String($0)] } ?? []) + (height.map { ["--height", String($0)] } ?? []) }
}

/// How the upscaled video is encoded.
struct EncodingOptions: ParsableArguments {
    @Option(help: "Video encoder FFmpeg offers (libx264, libx265, libsvtav1, libaom-av1, libvpx-vp9, ffv1, ...); default libx264, or the pictures' own codec for a numbered sequence (frame_%04d.png).")
    var codec: String?

    @Option(parsing: .unconditional, help: "Constant rate factor (default 18 for libx264 / libx265, the encoder's own default otherwise).")
    var crf: Double?

    @Option(help: "Encoder preset, e.g. medium, slow, veryfast (the encoder's default when omitted).")
    var preset: String?

    @Option(name: .customLong("pix-fmt"), help: "Output pixel format (default: the least lossy one the encoder takes; 10-bit input stays 10-bit where it can).")
    var pixelFormat: String?

    @Option(name: .customLong("encoder-option"), parsing: .singleValue, help: "Encoder option key=value (repeatable), e.g. tune=film, g=48.")
    var encoderOptions: [String] = []

    /// The same choices as command-line arguments, for a child process.
    var arguments: [String] {
        var result = codec.map { ["--codec", $0] } ?? []
        if let crf { result += ["--crf", String(crf)] }
        if let preset { result += ["--preset", preset] }
        if let pixelFormat { result += ["--pix-fmt", pixelFormat] }
        for option in encoderOptions { result += ["--encoder-option", option] }
        return result
    }

    /// x264's and x265's presets: either library prints its own error for another name before FFmpeg's log
    /// level applies, so the name is checked here.
    static let x26xPresets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]

    func validate() throws {
        let codec = self.codec ?? EncoderSettings().codec
        guard EncoderSettings.encoderExists(codec) else { throw ValidationError("this FFmpeg has no encoder named \(codec)") }
        if let preset, ["libx264", "libx264rgb", "libx265"].contains(codec), !EncodingOptions.x26xPresets.contains(preset) {
            throw ValidationError("--preset \(preset) is not a \(codec) preset (\(EncodingOptions.x26xPresets.joined(separator: ", ")))")
        }
        if let crf, !(0...51).contains(crf), ["libx264", "libx264rgb", "libx265"].contains(codec) {
            throw ValidationError("--crf must be between 0 and 51 for \(codec), got \(crf)")
        }
        for option in encoderOptions where !option.contains("=") || option.hasPrefix("=") {
            throw ValidationError("--encoder-option takes key=value, got \(option)")
        }
    }

    var settings: EncoderSettings {
        var settings = EncoderSettings()
        settings.codec = codec ?? settings.codec
        settings.codecChosen = codec != nil
        settings.crf = crf ?? (["libx264", "libx265", "libx264rgb"].contains(settings.codec) ? 18 : nil)
        settings.preset = preset
        settings.pixelFormat = pixelFormat
        settings.options = encoderOptions.map { option in
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            return (key: parts[0], value: parts.count > 1 ? parts[1] : "")
        }
        return settings
    }
}

/// Output safety and reporting, shared by every command that writes files.
struct RunOptions: ParsableArguments {
    @Flag(help: "Replace an existing output.")
    var overwrite = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Option(help: "Write a JSON report (frames, time per stage, settings) to this file.")
    var report: String?

    @Flag(help: "Show FFmpeg's own log messages (otherwise onsr-video reports problems itself, one line each).")
    var verbose = false

    /// Applies the logging these options ask for.
    func applyLogging() { (verbose ? MediaLog.verbose : .silent).apply() }

    /// With `--verbose`, says what the learned methods compute with, so a slow machine shows why.
    func announce(_ compute: ComputeReport?) {
        guard verbose, let compute else { return }
        FileHandle.standardError.write("onsr-video: \(compute)\n".data(using: .utf8)!)
    }

    func validate() throws {
        if let report {
            let folder = URL(fileURLWithPath: report).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--report: folder \(folder) does not exist")
            }
        }
    }
}

/// Runs a command body, turning failures into one line on stderr and the documented exit status.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as JobError {
        FileHandle.standardError.write("onsr-video: error: \(error.message)\n".data(using: .utf8)!)
        throw ExitCode(ExitStatus.code(for: error.kind))
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write("onsr-video: error: \(error)\n".data(using: .utf8)!)
        throw ExitCode(ExitStatus.code(for: .other))
    }
}
