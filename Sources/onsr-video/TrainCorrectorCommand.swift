import ArgumentParser
import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import Training

/// `onsr-video train-corrector`: trains the kernel corrector (`KernelCorrector`) on the external photo set.
struct TrainCorrectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-corrector",
        abstract: "A study: train a network that corrects a blur estimate from the kernel-conditioned Gr's output.",
        discussion: """
        Random crops blurred with random Gaussians of the wide range and subsampled; the kernel-conditioned Gr is \
        told each crop's kernel with an error on its code, and the network learns that error from the Gr's output \
        (L1), Adam with the rate halved at 50% and 75% of the steps. A checkpoint is written every \
        --checkpoint-every steps and --resume continues from it exactly; every step's loss goes to OUTPUT.log.jsonl. \
        The product does not use a corrector: none trained so far reads the estimate's error better than the \
        estimator alone (docs/onsr-study.md, "A kernel corrector"); `eval --corrector` scores one.
        """)

    @Option(help: "Where the trained corrector goes (.safetensors).") var output: String
    @Option(help: "Magnification: 2 or 4.") var scale = 2
    @Option(help: "Channels of the first convolutions.") var features = 32
    @Option(help: "Optimisation steps.") var steps = 3000
    @Option(help: "Patches per step.") var batch = 16
    @Option(name: .customLong("lr"), help: "Initial learning rate.") var learningRate: Float = 5e-4
    @Option(help: "Standard deviation of the error on the told kernel's log size (a third of it on the shape).") var logSizeError = 0.3
    @Option(help: "The kernel-conditioned Gr whose outputs are read (a shipped name or a file; default fast-xS-cond).") var restorer: String?
    @Flag(help: "Read the restorer's output downscaled back to the input's size, where the blur estimator's features apply.") var downscaled = false
    @Option(help: "A blur estimator file whose weights start the network (train-estimator's output; random weights otherwise).") var startFrom: String?
    @Option(help: "Seed of initial weights and of the patch sequence.") var seed: UInt64 = 1
    @Option(help: "Folder of HR training photos (default: the external set from scripts/setup-data).") var external: String?
    @Option(help: "Steps between checkpoints.") var checkpointEvery = 200
    @Flag(help: "Continue from OUTPUT.checkpoint.safetensors (same options only).") var resume = false
    @Flag(name: [.short, .long], help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        guard scale == 2 || scale == 4 else { throw ValidationError("--scale must be 2 or 4") }
        guard steps > 0, batch > 0, features > 0, checkpointEvery > 0 else { throw ValidationError("sizes and counts must be positive") }
        guard logSizeError > 0, logSizeError <= 2 else { throw ValidationError("--log-size-error must lie in (0, 2]") }
    }

    func run() throws {
        try reportingFailures {
            var options = CorrectorTrainingOptions()
            options.scale = scale; options.features = features; options.steps = steps; options.batch = batch
            options.learningRate = learningRate; options.logSizeError = logSizeError; options.seed = seed
            options.restorer = restorer ?? "fast-x\(scale)-cond"
            options.downscaled = downscaled ? true : nil
            options.startFrom = startFrom
            let photos = try DataLocation.externalPhotos(external)
            let log = TrainingLog(path: output + ".log.jsonl", quiet: quiet)
            let trainer = try CorrectorTrainer(options: options, photos: photos)
            let checkpoint = output + ".checkpoint.safetensors"
            if resume && FileManager.default.fileExists(atPath: checkpoint) {
                try trainer.resume(from: checkpoint)
                log.note("resumed at step \(trainer.step) from \(checkpoint)")
            }
            try log.open(truncatingAfter: trainer.step)
            log.note("training the x\(scale) kernel corrector (\(trainer.network.parameterCount) parameters) on \(trainer.restorerName)'s outputs, "
                     + "\(photos.images.count) photos from \(photos.folder)")
            while trainer.step < options.steps {
                let loss = trainer.trainStep()
                log.handle(.step(step: trainer.step, of: options.steps, loss: loss, seconds: trainer.seconds))
                if trainer.step % checkpointEvery == 0 || trainer.step == options.steps { try trainer.saveCheckpoint(to: checkpoint) }
            }
            try trainer.saveModel(to: output, record: ["seed": String(seed), "photos": String(photos.images.count)])
            log.note("wrote \(output)")
        }
    }
}
