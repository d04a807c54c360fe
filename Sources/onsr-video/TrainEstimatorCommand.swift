import ArgumentParser
import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import Training

/// `onsr-video train-estimator`: trains the blur estimator (`KernelEstimator`) on the external photo set.
struct TrainEstimatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-estimator",
        abstract: "Train the blur estimator that starts ONSR's kernel on the external photo set.",
        discussion: """
        LR patches of random crops, blurred with random Gaussians of the wide range and subsampled, or only \
        bicubic-downscaled; L1 on the kernel's (log trace, shape) and cross-entropy on "no extra blur", Adam with \
        the rate halved at 50% and 75% of the steps. A checkpoint is written every --checkpoint-every steps and \
        --resume continues from it exactly; every step's loss goes to OUTPUT.log.jsonl.
        """)

    @Option(help: "Where the trained estimator goes (.safetensors).") var output: String
    @Option(help: "Magnification: 2 or 4.") var scale = 2
    @Option(help: "Channels of the first convolutions.") var features = 32
    @Option(help: "Optimisation steps.") var steps = 4000
    @Option(help: "Patches per step.") var batch = 24
    @Option(name: .customLong("lr"), help: "Initial learning rate.") var learningRate: Float = 5e-4
    @Option(help: "Share of patches with no blur beyond bicubic downscaling.") var noBlurShare = 0.25
    @Option(help: "Share of patches given Gaussian noise after the degradation.") var noisyShare = 0.5
    @Option(help: "Largest noise σ (fraction of the full range).") var noiseLevel = 0.02
    @Option(help: "Share of batches given a random codec round trip (H.264, MPEG-2, MPEG-4 part 2) and noise, as coded video carries.") var codedShare = 0.0
    @Option(help: "Largest σ (fraction of the full range) of noise added to half of the HR crops before the blur, as camera grain is (0: off).") var sourceNoise = 0.0
    @Option(help: "Shrink each HR crop by a factor drawn from 1 up to this (antialiased bicubic) before degrading it, so that the photos' own sharpness varies (1: off).") var rescaleMax = 1.0
    @Option(help: "Seed of initial weights and of the patch sequence.") var seed: UInt64 = 1
    @Option(help: "Folder of HR training photos (default: the external set from scripts/setup-data).") var external: String?
    @Option(help: "Steps between checkpoints.") var checkpointEvery = 200
    @Option(help: "Leave every Nth external photo out of training (names in byte order, from the first: the ones scripts/make-train-crops.py crops with EVERY N), so that crops of them validate the estimator.") var holdOutEvery: Int?
    @Flag(help: "Also train a fifth output, each patch's expected error on its size, by which a picture's patches are weighted.") var sizeSpread = false
    @Option(help: "An estimator file whose weights start the run (a four-output one starts --size-spread's row afresh).") var startFrom: String?
    @Flag(help: "Continue from OUTPUT.checkpoint.safetensors (same options only).") var resume = false
    @Flag(name: [.short, .long], help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        guard scale == 2 || scale == 4 else { throw ValidationError("--scale must be 2 or 4") }
        guard steps > 0, batch > 0, features > 0, checkpointEvery > 0 else { throw ValidationError("sizes and counts must be positive") }
        guard (0...1).contains(noBlurShare), (0...1).contains(noisyShare), (0...1).contains(codedShare) else { throw ValidationError("shares must lie between 0 and 1") }
        guard (0...0.2).contains(sourceNoise) else { throw ValidationError("--source-noise must lie between 0 and 0.2") }
        guard rescaleMax >= 1 else { throw ValidationError("--rescale-max must be at least 1") }
        guard noiseLevel >= 0 else { throw ValidationError("--noise-level must not be negative") }
        guard holdOutEvery.map({ $0 >= 2 }) ?? true else { throw ValidationError("--hold-out-every must be at least 2") }
    }

    func run() throws {
        try reportingFailures {
            var options = EstimatorTrainingOptions()
            options.scale = scale; options.features = features; options.steps = steps; options.batch = batch
            options.learningRate = learningRate; options.noBlurShare = noBlurShare; options.seed = seed
            options.noisyShare = noisyShare; options.noiseLevel = noiseLevel
            options.codedShare = codedShare > 0 ? codedShare : nil
            options.holdOutEvery = holdOutEvery
            options.rescaleMax = rescaleMax > 1 ? rescaleMax : nil
            options.sourceNoiseLevel = sourceNoise > 0 ? sourceNoise : nil
            options.sizeSpread = sizeSpread ? true : nil
            options.startFrom = startFrom
            let photos = try DataLocation.externalPhotos(external)
            let log = TrainingLog(path: output + ".log.jsonl", quiet: quiet)
            let trainer = try EstimatorTrainer(options: options, photos: photos)
            let checkpoint = output + ".checkpoint.safetensors"
            if resume && FileManager.default.fileExists(atPath: checkpoint) {
                try trainer.resume(from: checkpoint)
                log.note("resumed at step \(trainer.step) from \(checkpoint)")
            }
            try log.open(truncatingAfter: trainer.step)
            let count = trainer.photoCount, heldOut = photos.images.count - count
            log.note("training the x\(scale) blur estimator (\(trainer.network.parameterCount) parameters) on \(count) photo\(count == 1 ? "" : "s") from \(photos.folder)"
                     + (holdOutEvery == nil ? "" : ", \(heldOut) held out"))
            while trainer.step < options.steps {
                let loss = trainer.trainStep()
                log.handle(.step(step: trainer.step, of: options.steps, loss: loss, seconds: trainer.seconds))
                if trainer.step % checkpointEvery == 0 || trainer.step == options.steps { try trainer.saveCheckpoint(to: checkpoint) }
            }
            var record = ["seed": String(seed), "photos": String(count)]
            if let holdOutEvery { record["heldOutEvery"] = String(holdOutEvery) }
            try trainer.saveModel(to: output, record: record)
            log.note("wrote \(output)")
        }
    }
}
