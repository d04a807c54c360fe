import Decode
import Engine
import Foundation
import ONSR
import Pipeline

/// How training pairs are degraded.
public enum TrainingDegradation: String, Codable, CaseIterable, Sendable {
    /// MATLAB-style antialiased bicubic downsampling: the paper's RRDB initialisation.
    case bicubic
    /// Random isotropic / anisotropic Gaussian blur, then s-fold subsampling: RRDB-G widened to the blind range.
    case blur
    /// Real footage: the blur of `blur`, then noise and a codec round trip (`RealDegradation`) on the LR patches.
    case real

    /// The kernels' eigenvalue range (HR pixels²) of `blur` and `real` unless a run names another.
    public static func defaultVariances(scale: Int) -> ClosedRange<Double> { scale >= 4 ? 0.7...10 : 0.35...5 }

    /// Degrades a planar square HR patch of `size` into its LR version; `rng` draws the random kernel, its
    /// eigenvalues from `variances`. For `real` this is the blur only: the noise and compression act on a whole
    /// batch (`RealDegradation.compress`).
    func apply(_ patch: [Float], size: Int, scale: Int, variances: ClosedRange<Double>, rng: inout SeededRandom) -> [Float] {
        apply(frames: [patch], size: size, scale: scale, variances: variances, rng: &rng)[0]
    }

    /// `apply` on consecutive frames of one place: one kernel for all of them, as one camera and lens give.
    func apply(frames: [[Float]], size: Int, scale: Int, variances: ClosedRange<Double>, rng: inout SeededRandom) -> [[Float]] {
        degrade(frames: frames, size: size, scale: scale, variances: variances, rng: &rng).frames
    }

    /// `apply`, and the kernel it drew (nil for `bicubic`).
    func degrade(frames: [[Float]], size: Int, scale: Int, variances: ClosedRange<Double>,
                 rng: inout SeededRandom) -> (frames: [[Float]], kernel: BlurKernel?) {
        switch self {
        case .bicubic:
            return (frames.map { Degrade.bicubic($0, channels: 3, height: size, width: size, scale: scale) }, nil)
        case .blur, .real:
            let kernel = BlurKernel.random(scale: scale, variances: variances, noise: 0.15, isotropicShare: 0.3, rng: &rng)
            return (frames.map { Degrade.blurSubsample($0, channels: 3, height: size, width: size, kernel: kernel, scale: scale) }, kernel)
        }
    }
}

/// Everything that defines a training run; stored in checkpoints and model metadata.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var scale = 2
    public var degradation = TrainingDegradation.blur
    public var features = 32
    public var blocks = 2
    public var growth = 16
    /// Train the residual over bicubic upsampling (see `RRDBNet.Configuration.bicubicSkip`).
    public var bicubicSkip = true
    public var steps = 10000
    public var batch = 16
    /// HR patch side (64 at x2, 128 at x4 unless set).
    public var patch = 0
    public var learningRate: Float = 2e-4
    public var seed: UInt64 = 1
    /// The blur kernels' eigenvalue range (nil: `TrainingDegradation.defaultVariances`); a narrower range trains a
    /// Gr for one part of the blind range.
    public var blurVariances: ClosedRange<Double>? = nil
    public var variances: ClosedRange<Double> { blurVariances ?? TrainingDegradation.defaultVariances(scale: scale) }
    /// The share of crops `blur` and `real` degrade by antialiased bicubic downscaling alone instead of a random blur
    /// (nil: none, what runs before the option had): video that was only downscaled before it was coded, the most
    /// common web video, which a Gr trained on blur alone sharpens as if it were blurred.
    public var noBlurShare: Double? = nil
    /// The quantisers of `real`'s codec round trips (nil: `.all`, what runs before the option had).
    public var compressionRange: RealCompressionRange? = nil
    var realRange: RealCompressionRange { compressionRange ?? .all }
    /// Consecutive frames Gr sees at once (nil: one; see `MultiFrameBatch`).
    public var frames: Int? = nil
    public var frameCount: Int { frames ?? 1 }
    /// Multi-frame only: the neighbours are motion-compensated to the middle frame before Gr reads them, in training
    /// and wherever the model is used (recorded in the model's metadata).
    public var alignment: BlockAlignment? = nil
    /// Each HR crop is taken this many times larger (a factor drawn from 1 up to it) and shrunk back (antialiased
    /// bicubic) before it is degraded (nil: off). The external photos are about 1,000 pixels high, while video
    /// frames hold a whole scene in a few hundred, so shrunk crops hold content as densely as video does. A study
    /// option: no shipped model uses it (training/README.md has what it gave).
    public var rescaleMax: Double? = nil
    /// Condition Gr on the blur kernel (nil: blind): each LR patch comes with its kernel's code (`KernelCode.condition`)
    /// as constant planes, the log size perturbed by Gaussian noise of this standard deviation and the shape by a third
    /// of it, so that the model learns to take an estimate's code as the estimate it is. A study option: no shipped
    /// model uses it.
    public var conditionNoise: Double? = nil

    public init() {}

    public var hrPatch: Int { patch > 0 ? patch : 32 * scale }
    public var configuration: RRDBNet.Configuration {
        .init(features: features, blocks: blocks, growth: growth, scale: scale, bicubicSkip: bicubicSkip, frames: frameCount,
              conditions: conditionNoise == nil ? 0 : KernelCode.conditions)
    }

    /// The step schedule: the rate halves at 50% and again at 75% of the steps.
    public func learningRate(at step: Int) -> Float {
        learningRate * (step >= steps * 3 / 4 ? 0.25 : step >= steps / 2 ? 0.5 : 1)
    }
}

/// What a training run reports beside its work.
public enum TrainingEvent: Sendable {
    case step(step: Int, of: Int, loss: Float, seconds: Double)
    case validation(step: Int, psnr: Double, bicubicPSNR: Double)
}

/// Trains an RRDBNet on random crops of an external photo set with L1 and Adam, as `onsr-video train` does.
/// Each step's patches come from a generator seeded by (seed, step), so a resumed run replays exactly
/// what an uninterrupted one would have done.
public final class Trainer {
    public let options: TrainingOptions
    public let network: RRDBNet
    private let optimiser: Adam
    private let photos: PhotoSet
    private let validation: PhotoSet?
    private let events: (TrainingEvent) -> Void
    public private(set) var step = 0
    private var trainingSeconds = 0.0
    /// Photos large enough for a padded crop.
    private let usable: [RGBImage]

    /// Degradation context around each crop, in HR pixels.
    var margin: Int { 12 * options.scale }

    public init(options: TrainingOptions, photos: PhotoSet, validation: PhotoSet?, events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        self.options = options
        self.photos = photos
        let big = options.hrPatch + 24 * options.scale + 2 * MultiFrameBatch.reach(options)
        usable = photos.images.filter { $0.width >= big && $0.height >= big }
        guard !usable.isEmpty else {
            throw JobError(.dataError, "\(photos.folder): no photo is at least \(big)x\(big) pixels, the padded crop size")
        }
        self.validation = validation
        self.events = events
        network = RRDBNet(options.configuration, seed: options.seed)
        optimiser = Adam(network, learningRate: options.learningRate, betas: (0.9, 0.99))
    }

    /// The HR / LR batch of step `step` (LR: N x 3·frames x h x w, the frames stacked oldest first; a conditioned
    /// network's LR also holds each patch's condition planes).
    public func batch(at step: Int) -> (lr: Tensor, hr: Tensor) {
        var rng = SeededRandom(seed: options.seed &* 0x9E37_79B9 &+ UInt64(step))
        if options.frameCount > 1 { return MultiFrameBatch(options: options, photos: usable, margin: margin).make(rng: &rng) }
        let (s, size) = (options.scale, options.hrPatch)
        // Degrade a larger crop and keep its centre, so that the blur sees real pixels at the patch border.
        let big = size + 2 * margin
        let conditions = options.configuration.conditions
        let lr = Tensor(shape: [options.batch, 3 + conditions, size / s, size / s])
        let hr = Tensor(shape: [options.batch, 3, size, size])
        var lows: [[Float]] = []
        var crops: [[Float]] = []
        var kernels: [BlurKernel?] = []
        for _ in 0..<options.batch {
            let image = usable[rng.index(usable.count)]
            let source = rescaledCropSide(big, of: image, rescaleMax: options.rescaleMax, rng: &rng)
            let crop = shrunk(image.crop(top: rng.index(image.height - source + 1), left: rng.index(image.width - source + 1),
                                         height: source, width: source), from: source, to: big)
            let patch = dihedral(crop, size: big, transform: rng.index(8))
            // The draw is made only where the option is set, so that runs without it keep every other draw.
            let unblurred = options.noBlurShare.map { Double(rng.uniform()) < $0 } ?? false
            let degradation = unblurred ? TrainingDegradation.bicubic : options.degradation
            let degraded = degradation.degrade(frames: [patch], size: big, scale: s, variances: options.variances, rng: &rng)
            lows.append(degraded.frames[0])
            kernels.append(degraded.kernel)
            crops.append(patch)
        }
        let bigLR = big / s
        if options.degradation == .real {
            // The whole padded LR crops are compressed, so that the kept centres see the codec's blocks in full.
            lows = RealDegradation.compress(lows, side: bigLR, range: options.realRange, rng: &rng)
        }
        // The condition noise has its own stream, so that conditioning leaves every other draw of a run as it was.
        var conditionRNG = SeededRandom(seed: options.seed &* 0x5851_F42D &+ UInt64(step))
        let plane = (size / s) * (size / s)
        for (b, (patch, low)) in zip(crops, lows).enumerated() {
            copyCentre(of: patch, side: big, offset: margin, size: size, into: hr.data + b * 3 * size * size)
            copyCentre(of: low, side: bigLR, offset: margin / s, size: size / s, into: lr.data + b * (3 + conditions) * plane)
            if let noise = options.conditionNoise, let kernel = kernels[b] {
                let code = KernelCode.condition(KernelComparison.covariance(kernel), logSizeNoise: noise, rng: &conditionRNG)
                for (k, value) in code.enumerated() { (lr.data + (b * (3 + conditions) + 3 + k) * plane).update(repeating: value, count: plane) }
            }
        }
        return (lr, hr)
    }

    /// One optimisation step; returns the L1 loss.
    @discardableResult
    public func trainStep() -> Float {
        let watch = DispatchTime.now().uptimeNanoseconds
        let (lr, hr) = batch(at: step)
        optimiser.learningRate = options.learningRate(at: step)
        optimiser.zeroGrad()
        let (loss, grad) = Loss.l1(network.forward(lr, saving: true), hr)
        network.backward(grad)
        optimiser.step()
        step += 1
        trainingSeconds += Double(DispatchTime.now().uptimeNanoseconds - watch) / 1e9
        events(.step(step: step, of: options.steps, loss: loss, seconds: trainingSeconds))
        return loss
    }

    /// Mean Y-PSNR on the validation photos (centre crops up to 256 px, degraded with kernels seeded by photo),
    /// with bicubic interpolation of the same inputs as the reference.
    public func validate(limit: Int = 6) -> (psnr: Double, bicubic: Double)? {
        guard let validation else { return nil }
        let s = options.scale
        var total = (0.0, 0.0)
        let count = min(limit, validation.images.count)
        // A multi-frame pair needs room for the pan: a photo too small for it is left out of the mean.
        var scored = 0
        for (i, image) in validation.images.prefix(count).enumerated() {
            var rng = SeededRandom(seed: 1000 + UInt64(i))
            let side: Int, hr: [Float], lr: [Float], output: [Float]
            if options.frameCount > 1 {
                guard let pair = MultiFrameBatch.validationPair(image, options: options, rng: &rng) else { continue }
                (side, hr, lr) = (pair.side, pair.hr, pair.middleLR)
                output = network(pair.lr).values
            } else {
                side = min(256, image.height, image.width) / (4 * s) * (4 * s)
                hr = image.crop(top: (image.height - side) / 2, left: (image.width - side) / 2, height: side, width: side)
                let degraded = options.degradation.degrade(frames: [hr], size: side, scale: s, variances: options.variances, rng: &rng)
                var low = degraded.frames[0]
                if options.degradation == .real { low = RealDegradation.compress([low], side: side / s, range: options.realRange, rng: &rng)[0] }
                lr = low
                // A conditioned network is validated with the true kernel's code.
                network.condition = degraded.kernel.map { KernelCode.condition(KernelComparison.covariance($0)) }
                output = network(Tensor(shape: [1, 3, side / s, side / s], values: lr)).values
            }
            let bicubic = Resampler(inputWidth: side / s, inputHeight: side / s, outputWidth: side, outputHeight: side, kernel: .bicubic)
                .apply(lr, channels: 3)
            total.0 += Quality.psnrY(output, hr, height: side, width: side, shave: s)
            total.1 += Quality.psnrY(bicubic, hr, height: side, width: side, shave: s)
            scored += 1
        }
        guard scored > 0 else { return nil }
        let result = (total.0 / Double(scored), total.1 / Double(scored))
        events(.validation(step: step, psnr: result.0, bicubicPSNR: result.1))
        return result
    }

    // MARK: Checkpoints

    /// Writes parameters, optimiser state and progress, atomically.
    public func saveCheckpoint(to path: String) throws {
        try TrainingCheckpoint.write(network: network, optimiser: optimiser, step: step, seconds: trainingSeconds, options: options, to: path)
    }

    /// Continues from a checkpoint made with the same options.
    public func resume(from path: String) throws {
        (step, trainingSeconds) = try TrainingCheckpoint.read(from: path, network: network, optimiser: optimiser, options: options)
    }

    /// Writes the trained model for shipping: parameters only, with the architecture and training record.
    public func saveModel(to path: String, storage: SafeTensors.StorageType, record: [String: String]) throws {
        var metadata = record
        metadata["features"] = String(options.features)
        metadata["blocks"] = String(options.blocks)
        metadata["growth"] = String(options.growth)
        metadata["skip"] = options.bicubicSkip ? "bicubic" : "none"
        metadata["scale"] = String(options.scale)
        if options.frameCount > 1 { metadata["frames"] = String(options.frameCount) }
        if let alignment = options.alignment { metadata["alignment"] = alignment.metadataValue }
        metadata["degradation"] = options.degradation.rawValue
        if let range = options.blurVariances { metadata["blur_variances"] = "\(range.lowerBound)-\(range.upperBound)" }
        if let range = options.compressionRange { metadata["compression_range"] = range.rawValue }
        if let share = options.noBlurShare { metadata["no_blur_share"] = "\(share)" }
        if let factor = options.rescaleMax { metadata["rescale_max"] = "\(factor)" }
        if let noise = options.conditionNoise {
            metadata["conditions"] = String(KernelCode.conditions)
            metadata["condition"] = "kernel-code"
            metadata["condition_noise"] = "\(noise)"
        }
        metadata["steps"] = String(step)
        metadata["train_seconds"] = String(format: "%.0f", trainingSeconds)
        try TrainingCheckpoint.writeAtomically(SafeTensors.parameters(of: network), to: path, storage: storage, metadata: metadata)
    }
}

/// Copies the centre `size` x `size` square of every plane of `planes` (planar, `side` x `side` each), `offset` pixels in
/// from the top and left, into `target` (planar, `size` x `size` each): a padded crop's kept patch.
func copyCentre(of planes: UnsafePointer<Float>, count: Int, side: Int, offset: Int, size: Int, into target: UnsafeMutablePointer<Float>) {
    for plane in 0..<(count / (side * side)) {
        for y in 0..<size {
            (target + (plane * size + y) * size).update(from: planes + (plane * side + offset + y) * side + offset, count: size)
        }
    }
}

/// `copyCentre` from an array.
func copyCentre(of planes: [Float], side: Int, offset: Int, size: Int, into target: UnsafeMutablePointer<Float>) {
    planes.withUnsafeBufferPointer { copyCentre(of: $0.baseAddress!, count: planes.count, side: side, offset: offset, size: size, into: target) }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Copies `count` floats from `array` starting at `offset`.
    func update(from array: [Float], offset: Int, count: Int) {
        array.withUnsafeBufferPointer { update(from: $0.baseAddress! + offset, count: count) }
    }
}

/// One of the eight symmetries of the square (flips and 90-degree turns), applied to a planar square patch: training's
/// augmentation, `transform` drawn in `FrameSymmetry(trainingCode:)`'s numbering.
func dihedral(_ planes: [Float], size: Int, transform: Int) -> [Float] {
    if transform == 0 { return planes }
    return FrameSymmetry(trainingCode: transform).apply(RGBImage(width: size, height: size, pixels: planes)).pixels
}

/// The side of a crop that is shrunk to `side` afterwards: `side` times a factor drawn from 1 up to `rescaleMax` (nil:
/// `side`, nothing drawn), at most the photo's size. Training's dense-content option (`rescaleMax`) for Gr and the
/// estimator alike.
func rescaledCropSide(_ side: Int, of image: RGBImage, rescaleMax: Double?, rng: inout SeededRandom) -> Int {
    rescaleMax.map { min(Int((Double(side) * rng.uniform(1, $0)).rounded()), image.height, image.width) } ?? side
}

/// A planar square crop of side `source` brought to `side` (antialiased bicubic); as it is where the sides agree.
func shrunk(_ crop: [Float], from source: Int, to side: Int) -> [Float] {
    source == side ? crop
        : Resampler(inputWidth: source, inputHeight: source, outputWidth: side, outputHeight: side, kernel: .bicubic).apply(crop, channels: 3)
}
