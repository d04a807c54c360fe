import ArgumentParser
import Decode
import Engine
import Foundation
import Pipeline
import Training

extension TrainingDegradation: ExpressibleByArgument {}
extension RealCompressionRange: ExpressibleByArgument {}
extension FrameWidening: ExpressibleByArgument {}
extension SafeTensors.StorageType: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
}

/// `onsr-video train`: trains an RRDBNet on the external photo set with the project's own engine.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an RRDBNet (Gr) on the external photo set.",
        discussion: """
        Random HR crops with flips and rotations, degraded by bicubic downsampling or by random Gaussian blur and \
        subsampling; L1 loss, Adam (0.9, 0.99) with the rate halved at 50% and 75% of the steps. A checkpoint is \
        written every --checkpoint-every steps and --resume continues from it exactly; every step's loss goes to \
        OUTPUT.log.jsonl. The same command and seed reproduce the same losses.
        """)

    @Option(help: "Where the trained model goes (.safetensors).") var output: String
    @Option(help: "Magnification: 2 or 4.") var scale = 2
    @Option(help: "Degradation of the training pairs: bicubic, blur, or real (blur, noise and H.264 / MPEG-2 / MPEG-4 compression).") var degradation = TrainingDegradation.blur
    @Option(parsing: .upToNextOption, help: "Eigenvalue range LOW HIGH (HR pixels²) of the blur kernels of blur and real (default 0.35 5 at x2, 0.7 10 at x4).")
    var blurVariances: [Double] = []
    @Option(help: "Quantisers of real's codec round trips: all (light to heavy), heavy (where video is handed to the real model), or crf (as all, H.264 at a CRF through x264's rate control).")
    var compressionRange: RealCompressionRange?
    @Option(help: "Share of crops blur and real degrade by bicubic downscaling alone instead of a random blur (0 to 1; real then codes them as the others): video that was only downscaled.")
    var noBlurShare: Double?
    @Option(help: "Consecutive frames Gr reads at once (an odd number; over 1, a multi-frame model for video, trained on panning crops).") var frames = 1
    @Flag(help: "With --frames: motion-compensate the neighbours to the middle frame (block matching) before Gr reads them; the model file records it.") var align = false
    @Option(help: "With --frames and a one-frame --initial: middle (neighbours start unread) or average (every frame an equal share of conv_first).") var widen = FrameWidening.middle
    @Option(help: "Take each HR crop up to this many times larger and shrink it back (antialiased bicubic) before degrading it, so that crops hold content as densely as video frames do (1: off).")
    var rescaleMax = 1.0
    @Option(help: "Condition Gr on the blur kernel (a study option): each patch comes with its kernel's code, the log size perturbed by Gaussian noise of this standard deviation (the shape by a third of it); a blind --initial starts with the code unread.")
    var conditionNoise: Double?
    @Option(help: "RRDBNet num_feat.") var features = 32
    @Option(help: "RRDBNet num_block.") var blocks = 2
    @Option(help: "RRDBNet num_grow_ch.") var growth = 16
    @Flag(inversion: .prefixedNo, help: "Learn the residual over bicubic upsampling (stored in the model's metadata).")
    var bicubicSkip = true
    @Option(help: "Optimisation steps.") var steps = 10000
    @Option(help: "Patches per step.") var batch = 16
    @Option(help: "HR patch side (default 64 at x2, 128 at x4).") var patch = 0
    @Option(name: .customLong("lr"), help: "Initial learning rate.") var learningRate: Float = 2e-4
    @Option(help: "Seed of initial weights and of the patch sequence.") var seed: UInt64 = 1
    @Option(help: "Folder of HR training photos (default: the external set from scripts/setup-data).") var external: String?
    @Option(help: "Folder of held-out photos for validation PSNR (default: the eval set).") var validation: String?
    @Option(help: "Steps between validations (0: never).") var validateEvery = 500
    @Option(help: "Steps between checkpoints.") var checkpointEvery = 200
    @Option(help: "Storage of the final model: f16 or f32.") var storage = SafeTensors.StorageType.f16
    @Flag(help: "Continue from OUTPUT.checkpoint.safetensors (same options only).") var resume = false
    @Option(help: "Start from these weights instead of random ones (a model file of the same architecture, or with fewer blocks: it is deepened without changing its output).") var initial: String?
    @Flag(name: [.short, .long], help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        guard scale == 2 || scale == 4 else { throw ValidationError("--scale must be 2 or 4") }
        guard steps > 0, batch > 0, features > 0, blocks > 0, growth > 0, checkpointEvery > 0 else { throw ValidationError("sizes and counts must be positive") }
        guard patch == 0 || patch % (4 * scale) == 0 else { throw ValidationError("--patch must be a multiple of \(4 * scale)") }
        guard blurVariances.isEmpty || (blurVariances.count == 2 && blurVariances[0] > 0 && blurVariances[0] < blurVariances[1]) else {
            throw ValidationError("--blur-variances takes two numbers, 0 < LOW < HIGH")
        }
        guard blurVariances.isEmpty || degradation != .bicubic else { throw ValidationError("--blur-variances needs a blurring --degradation (blur or real)") }
        guard frames >= 1 && frames % 2 == 1 else { throw ValidationError("--frames must be an odd number") }
        guard !align || frames > 1 else { throw ValidationError("--align needs --frames 3 or more") }
        guard compressionRange == nil || degradation == .real else { throw ValidationError("--compression-range needs --degradation real") }
        if let noBlurShare {
            guard (0...1).contains(noBlurShare) else { throw ValidationError("--no-blur-share must be between 0 and 1") }
            guard degradation != .bicubic, frames == 1 else { throw ValidationError("--no-blur-share needs --degradation blur or real and one frame") }
            // An unblurred crop has no kernel whose code a conditioned Gr could be told.
            guard conditionNoise == nil else { throw ValidationError("--no-blur-share does not go with --condition-noise") }
        }
        guard rescaleMax >= 1 else { throw ValidationError("--rescale-max must be at least 1") }
        guard rescaleMax == 1 || frames == 1 else { throw ValidationError("--rescale-max is for one-frame models") }
        if let conditionNoise {
            guard conditionNoise >= 0 else { throw ValidationError("--condition-noise must be 0 or more") }
            guard degradation == .blur, frames == 1 else { throw ValidationError("--condition-noise needs --degradation blur and one frame") }
        }
    }

    func run() throws {
        // Training patches go through in-process encoders (`--degradation real`), whose statistics are no news.
        MediaLog.silent.apply()
        try reportingFailures {
            var options = TrainingOptions()
            options.scale = scale; options.degradation = degradation
            options.features = features; options.blocks = blocks; options.growth = growth
            options.bicubicSkip = bicubicSkip
            options.steps = steps; options.batch = batch; options.patch = patch
            options.learningRate = learningRate; options.seed = seed
            if blurVariances.count == 2 { options.blurVariances = blurVariances[0]...blurVariances[1] }
            options.compressionRange = compressionRange
            options.noBlurShare = noBlurShare
            if frames > 1 { options.frames = frames }
            if align { options.alignment = BlockAlignment() }
            options.rescaleMax = rescaleMax > 1 ? rescaleMax : nil
            options.conditionNoise = conditionNoise
            guard let externalFolder = external ?? DataLocation.folder("external") else {
                throw JobError(.noInput, "no external photo set: run scripts/setup-data or pass --external DIR")
            }
            let photos = try PhotoSet(folder: externalFolder)
            let validationFolder = validation ?? DataLocation.folder("eval")
            let held = try validationFolder.map { try PhotoSet(folder: $0) }
            let log = TrainingLog(path: output + ".log.jsonl", quiet: quiet)
            let trainer = try Trainer(options: options, photos: photos, validation: held, events: log.handle)
            // A continued run's model says how many steps its weights have seen in all, not only this run's.
            var initialSteps: Int?
            if let initial {
                let info = try ModelStore.describe(path: initial)
                var deeper = info.configuration
                deeper.blocks = options.configuration.blocks
                if deeper.frames == 1 { deeper.frames = options.frameCount }
                if deeper.conditions == 0 { deeper.conditions = options.configuration.conditions }
                guard deeper == options.configuration, info.configuration.blocks <= options.blocks else {
                    throw JobError(.usage, "\(initial) is \(info.configuration), not the \(options.configuration) asked for (or the same with fewer blocks or one frame)")
                }
                let (tensors, _) = try SafeTensors.read(path: initial)
                // The same architecture loads as it is; fewer blocks are deepened.
                try trainer.network.loadGrowing(from: tensors, widening: widen)
                var grown = info.configuration.blocks < options.blocks ? ", grown from \(info.configuration.blocks) to \(options.blocks) blocks" : ""
                if info.configuration.frames < options.frameCount { grown += ", widened from one frame to \(options.frameCount) (\(widen.rawValue))" }
                initialSteps = (info.metadata["total_steps"] ?? info.metadata["steps"]).flatMap { Int($0) }
                log.note("starting from the weights of \(initial)\(grown)")
            }
            let checkpoint = output + ".checkpoint.safetensors"
            if resume && FileManager.default.fileExists(atPath: checkpoint) {
                try trainer.resume(from: checkpoint)
                log.note("resumed at step \(trainer.step) from \(checkpoint)")
            }
            try log.open(truncatingAfter: trainer.step)
            log.note("training \(options.configuration) (\(trainer.network.parameterCount) parameters), \(options.degradation) x\(scale), "
                     + "\(photos.images.count) photos from \(externalFolder)")
            if trainer.step == 0, validateEvery > 0 { _ = trainer.validate() }
            while trainer.step < options.steps {
                trainer.trainStep()
                if trainer.step % checkpointEvery == 0 || trainer.step == options.steps { try trainer.saveCheckpoint(to: checkpoint) }
                if validateEvery > 0 && trainer.step % validateEvery == 0 { _ = trainer.validate() }
            }
            let final = trainer.validate(limit: Int.max)
            var record = ["seed": String(seed), "photos": String(photos.images.count)]
            if let initialSteps { record["total_steps"] = String(initialSteps + trainer.step) }
            if let initial, frames > 1, (try? ModelStore.describe(path: initial).configuration.frames) == 1 { record["widening"] = widen.rawValue }
            if let final {
                record["val_psnr"] = String(format: "%.3f", final.psnr)
                record["val_bicubic_psnr"] = String(format: "%.3f", final.bicubic)
                // Which photos the number is on: the held-out set's numbers and training-set crops' are not comparable.
                record["val_photos"] = validation == nil ? "held-out photos" : URL(fileURLWithPath: validationFolder ?? "").lastPathComponent
            }
            try trainer.saveModel(to: output, storage: storage, record: record)
            log.note("wrote \(output)")
        }
    }
}

/// The JSON-lines loss log of a training run, plus progress lines on stderr.
final class TrainingLog: @unchecked Sendable {
    let path: String
    let quiet: Bool
    private var handle: FileHandle?

    init(path: String, quiet: Bool) {
        self.path = path
        self.quiet = quiet
    }

    /// Opens the log for appending, keeping only the lines of steps up to `step` (a resumed run rewrites the rest).
    func open(truncatingAfter step: Int) throws {
        let kept = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").filter { line in
            guard let data = line.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let lineStep = object["step"] as? Int else { return false }
            return lineStep <= step && step > 0
        }
        let text = kept.isEmpty ? "" : kept.joined(separator: "\n") + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), let handle = FileHandle(forWritingAtPath: path) else {
            throw JobError(.cannotCreate, "\(path): cannot write the training log")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case .step(let step, let total, let loss, let seconds):
            write(String(format: #"{"step":%d,"loss":%.7f,"seconds":%.2f}"#, step, loss, seconds))
            if !quiet && (step % 50 == 0 || step == total) {
                let eta = seconds / Double(step) * Double(total - step)
                note(String(format: "step %d/%d  loss %.5f  %.3f s/step  ETA %.0f min", step, total, loss, seconds / Double(step), eta / 60))
            }
        case .validation(let step, let psnr, let bicubic):
            write(String(format: #"{"step":%d,"val_psnr":%.3f,"val_bicubic_psnr":%.3f}"#, step, psnr, bicubic))
            note(String(format: "step %d  validation Y-PSNR %.3f dB (bicubic interpolation %.3f dB, %+.3f)", step, psnr, bicubic, psnr - bicubic))
        }
    }

    func note(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
    }

    private func write(_ line: String) { handle?.write((line + "\n").data(using: .utf8)!) }
}
