import Decode
import ONSR

/// Which symmetries of the frame a self-ensemble averages over (EDSR's "+" models: the upscaler runs on turned and
/// mirrored copies of the input, each output is turned back, and the outputs are averaged).
///
/// A transform is only sound where the upscaler's task does not change under it. A blind Gr was trained on blurs of
/// every direction, so all eight symmetries of the square serve it. A Gr that ONSR fine-tuned through one Gaussian
/// kernel restores that kernel only: mirroring or a quarter turn changes a tilted Gaussian's direction, a half turn
/// leaves every centred Gaussian as it was, so such a Gr takes `halfTurn` at most.
public enum SelfEnsemble: String, CaseIterable, Sendable, Codable {
    /// One pass, as the upscaler is.
    case single = "none"
    /// The input and its half turn (two passes).
    case halfTurn = "half-turn"
    /// All eight flips and quarter turns (eight passes).
    case dihedral

    /// The symmetries a Gr's task keeps: all eight for one that restores blurs of every direction or none (an
    /// unadapted blind or bicubic-trained Gr, or one ONSR fine-tuned through the bicubic downscaling alone), the half
    /// turn for one fine-tuned through a blur kernel. On the 11 training-set crops, x2 blind kernels, seed 1
    /// (`onsr-video eval --photos CROPS --methods fast-x2-g onsr:two-phase --checkpoints 0 200 --blends 0.75
    /// --self-ensemble E`): the `image` default's gain over fast-x2-g +0.862 dB (none), +0.973 (half turn), +0.423
    /// (all eight, which turn the adapted Gr's kernel); unadapted fast-x2-g +0.125 (half turn), +0.268 (all eight).
    public static func kept(adaptedThroughBlur: Bool) -> SelfEnsemble { adaptedThroughBlur ? .halfTurn : .dihedral }

    /// The symmetries kept by a Gr adapted with `strategy` (nil: not adapted): it was fine-tuned through a blur
    /// unless two-phase started from a "no extra blur" estimate. An unadapted kernel-conditioned Gr keeps all eight:
    /// each pass is told the blur turned with its picture (`SelfEnsembleUpscaler`).
    public static func kept(adaptedWith strategy: AdaptationStrategy?) -> SelfEnsemble {
        kept(adaptedThroughBlur: strategy.map { !(($0 as? TwoPhase)?.estimate?.isNoBlur ?? false) } ?? false)
    }

    /// The symmetries of a kernel-conditioned Gr's output where it is mixed into an adapted Gr's
    /// (`BlurEstimation.conditionedShare`): the half turn, though all eight serve it alone. On the 11 training-set
    /// crops, x2 blind kernels, seeds 1-3 (33 cases; `onsr-video eval --photos CROPS --methods fast-x2-cond --condition
    /// estimate --self-ensemble half-turn|dihedral --keep-outputs DIR --seed N` beside the `image` default's adapted
    /// outputs, mixed as the product then did, at 0.3): alone, all eight gain +0.124 dB over the half turn (28 of 33 cases
    /// up); in the mix only +0.013 on average, one crop 0.33 dB down (Bridge, seed 3: its adapted output's errors
    /// cancel more of the half turn's).
    public static let conditionedInMix = SelfEnsemble.halfTurn

    /// `pass` run on each of the symmetries' transforms of `image`, its outputs turned back and averaged: one pass
    /// per transform; in mean squared error never worse than the passes' average.
    public func average(_ image: RGBImage, pass: (RGBImage) throws -> RGBImage) rethrows -> RGBImage {
        try average(image) { transformed, _ in try pass(transformed) }
    }

    /// `average`, each pass also told the symmetry its picture went through.
    public func average(_ image: RGBImage, pass: (RGBImage, FrameSymmetry) throws -> RGBImage) rethrows -> RGBImage {
        var sum = try pass(image, .identity)
        guard symmetries.count > 1 else { return sum }
        for symmetry in symmetries.dropFirst() {
            let output = symmetry.invert(try pass(symmetry.apply(image), symmetry))
            precondition(output.width == sum.width && output.height == sum.height, "a transformed pass changed the output size")
            sum.pixels.withUnsafeMutableBufferPointer { a in
                output.pixels.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { a[i] += b[i] }
                }
            }
        }
        let share = 1 / Float(symmetries.count)
        sum.pixels.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] *= share }
        }
        return sum
    }

    /// The transforms averaged over, as `FrameSymmetry` codes.
    public var symmetries: [FrameSymmetry] {
        switch self {
        case .single: return [.identity]
        case .halfTurn: return [.identity, FrameSymmetry(code: 3)]
        case .dihedral: return (0..<8).map { FrameSymmetry(code: $0) }
        }
    }
}

/// One of the eight symmetries of the rectangle's grid: mirror left-right (bit 1), mirror top-bottom (bit 2), then
/// swap rows and columns (bit 4). Codes 1 | 2 = 3 is the half turn.
public struct FrameSymmetry: Equatable, Sendable {
    public let code: Int
    public static let identity = FrameSymmetry(code: 0)

    public init(code: Int) {
        precondition((0..<8).contains(code), "a frame symmetry's code lies in 0..<8, got \(code)")
        self.code = code
    }

    /// The symmetry that training draws as `code`. Training's numbering reads the mirrors before the transpose,
    /// so its codes 5 and 6 are `init(code:)`'s 6 and 5; kept so that a seeded training run draws the patches
    /// it always drew and the model cards' commands still give their weights.
    public init(trainingCode code: Int) {
        precondition((0..<8).contains(code), "a frame symmetry's code lies in 0..<8, got \(code)")
        self.init(code: [0, 1, 2, 3, 4, 6, 5, 7][code])
    }

    /// A kernel-conditioned Gr's condition (`KernelCode.condition`: log tr, u = (σxx − σyy) / tr, v = 2σyx / tr) for
    /// the blur `condition` describes, as it appears in a picture under this symmetry: the size stays, a transpose
    /// swaps σxx and σyy (u changes sign), one mirror negates σyx (v changes sign; two mirrors, the half turn, keep it).
    public func transform(condition: [Float]) -> [Float] {
        precondition(condition.count == KernelCode.conditions, "a kernel condition has \(KernelCode.conditions) values, got \(condition.count)")
        return [condition[0], transposes ? -condition[1] : condition[1], mirrorsX != mirrorsY ? -condition[2] : condition[2]]
    }

    var mirrorsX: Bool { code & 1 != 0 }
    var mirrorsY: Bool { code & 2 != 0 }
    var transposes: Bool { code & 4 != 0 }

    /// `image` under this symmetry.
    public func apply(_ image: RGBImage) -> RGBImage {
        if code == 0 { return image }
        return remap(image, transposed: transposes) { y, x in
            // Output (y, x) reads the mirrored input at the swapped position where the symmetry transposes.
            var (sy, sx) = transposes ? (x, y) : (y, x)
            if mirrorsX { sx = image.width - 1 - sx }
            if mirrorsY { sy = image.height - 1 - sy }
            return (sy, sx)
        }
    }

    /// Undoes `apply`: `invert(apply(image)) == image`.
    public func invert(_ image: RGBImage) -> RGBImage {
        if code == 0 { return image }
        // The original's size: `image` is the transformed one.
        let (height, width) = transposes ? (image.width, image.height) : (image.height, image.width)
        return remap(image, transposed: transposes) { y, x in
            var (oy, ox) = (y, x)
            if mirrorsX { ox = width - 1 - ox }
            if mirrorsY { oy = height - 1 - oy }
            return transposes ? (ox, oy) : (oy, ox)
        }
    }

    /// A picture of `image`'s size (swapped where `transposed`) whose pixel (y, x) is `image`'s at `source(y, x)`.
    private func remap(_ image: RGBImage, transposed: Bool, source: (Int, Int) -> (Int, Int)) -> RGBImage {
        let (height, width) = transposed ? (image.width, image.height) : (image.height, image.width)
        let plane = image.planeSize
        return image.pixels.withUnsafeBufferPointer { input in
            RGBImage(width: width, height: height) { output in
                for y in 0..<height {
                    for x in 0..<width {
                        let (sy, sx) = source(y, x)
                        let from = sy * image.width + sx, to = y * width + x
                        output[to] = input[from]
                        output[plane + to] = input[plane + from]
                        output[2 * plane + to] = input[2 * plane + from]
                    }
                }
            }
        }
    }
}

/// An upscaler run on each of a self-ensemble's transforms of the input, its outputs turned back and averaged.
/// Costs one inference per transform; the output is never worse in mean squared error than the passes' average.
public final class SelfEnsembleUpscaler: FrameUpscaler {
    public let inner: FrameUpscaler
    public let ensemble: SelfEnsemble
    public var scale: Int { inner.scale }
    public var name: String { ensemble == .single ? inner.name : "\(inner.name)+\(ensemble.rawValue)" }

    public init(_ inner: FrameUpscaler, ensemble: SelfEnsemble) {
        self.inner = inner
        self.ensemble = ensemble
    }

    /// A fixed upscaler averaged over the symmetries an unadapted Gr keeps, where it is a learned one
    /// (interpolation is symmetric already and is returned as it is).
    public static func unadapted(_ upscaler: FrameUpscaler) -> FrameUpscaler {
        upscaler is PretrainedUpscaler ? SelfEnsembleUpscaler(upscaler, ensemble: SelfEnsemble.kept(adaptedWith: nil)) : upscaler
    }

    /// A kernel-conditioned Gr is told its reading of `image` once, and each transformed pass the same blur turned
    /// with the picture (`FrameSymmetry.transform(condition:)`); it keeps that reading afterwards, as
    /// `PretrainedUpscaler` does (one reading for a whole video).
    public func upscale(_ image: RGBImage) throws -> RGBImage {
        guard let network = (inner as? PretrainedUpscaler)?.network, network.configuration.conditions > 0, ensemble != .single else {
            return try ensemble.average(image, pass: inner.upscale)
        }
        try BlurEstimation.tellBlur(to: network, image: image)
        guard let told = network.condition else { preconditionFailure("tellBlur leaves a conditioned network told") }
        defer { network.condition = told }
        return try ensemble.average(image) { transformed, symmetry in
            network.condition = symmetry.transform(condition: told)
            return try inner.upscale(transformed)
        }
    }
}
