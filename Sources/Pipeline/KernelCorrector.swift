import Decode
import Engine
import Foundation
import ONSR

/// The second look at a blur estimate, DAN-style: the kernel-conditioned Gr (`fast-xS-cond`) restores the picture as
/// told the estimate, and a small network reads the restored picture for how far the estimate was off. Told a
/// kernel too large, the conditioned Gr oversharpens (halos, ringing along edges); told one too small, it leaves
/// blur; the network, trained on exactly these outputs (`CorrectorTrainer`), maps what it sees to a correction of
/// the kernel's code (`KernelCode`: log size and shape), which is added to the estimate's.
///
/// Why: fitted through any Gr, Gd measures that Gr rather than the input, and the estimator reads one LR picture
/// with no way to tell a soft scene from a blurred one; the restored picture was to show which (docs/onsr-study.md,
/// "A kernel corrector"). A study: no corrector trained so far reads the estimate's error better than the estimator
/// alone, so the product does not use one.
///
/// The network has the estimator's layers (`KernelEstimator`) and reads HR patches of side
/// `KernelEstimator.patchSize` · scale, or, where it `readsDownscaled`, the restored picture bicubic-downscaled back
/// to the input's size in patches of `KernelEstimator.patchSize`, each normalised as the estimator's are; its outputs
/// 1...3 are the correction of (log tr, u, v), output 0 is unused.
public final class KernelCorrector {
    public let network: KernelEstimator
    /// The kernel-conditioned Gr whose outputs the network was trained on.
    public let restorer: RRDBNet
    public let restorerName: String
    /// Reads the restored picture downscaled to the input's size (where a blur estimator's features apply).
    public let readsDownscaled: Bool
    private let tiles: TiledInference

    /// The side of the patches read at `scale`: HR pixels, or LR ones where the picture is read downscaled.
    public static func patchSide(scale: Int, downscaled: Bool = false) -> Int { KernelEstimator.patchSize * (downscaled ? 1 : scale) }

    public init(network: KernelEstimator, restorer: RRDBNet, restorerName: String, readsDownscaled: Bool = false) {
        precondition(restorer.configuration.conditions == KernelCode.conditions, "the corrector reads a kernel-conditioned Gr's output")
        precondition(restorer.scale == network.configuration.scale, "the corrector and its Gr serve one scale")
        self.network = network
        self.restorer = restorer
        self.restorerName = restorerName
        self.readsDownscaled = readsDownscaled
        tiles = TiledInference(network: restorer, tile: 512, precision: .fp32)
    }

    /// Reads a file written by `onsr-video train-corrector` and the shipped conditioned Gr it names.
    public static func load(path: String) throws -> KernelCorrector {
        let tensors: [String: Tensor], metadata: [String: String]
        do { (tensors, metadata) = try SafeTensors.read(path: path) } catch { throw JobError(.dataError, "\(error)") }
        guard metadata["kind"] == "kernel-corrector", let features = metadata["features"].flatMap(Int.init),
              let scale = metadata["scale"].flatMap(Int.init), let restorerName = metadata["restorer"] else {
            throw JobError(.dataError, "\(path): not a kernel corrector (train one with onsr-video train-corrector)")
        }
        let network = KernelEstimator(.init(features: features, scale: scale))
        do { try SafeTensors.load(tensors, into: network) } catch { throw JobError(.dataError, "\(path): \(error)") }
        let info = try ModelStore.resolve(restorerName, scale: scale)
        return KernelCorrector(network: network, restorer: try ModelStore.load(info), restorerName: info.name,
                               readsDownscaled: metadata["reads"] == "downscaled")
    }

    /// The restorer's output for `image` told `estimate` (clamped to [0, 1], as pictures are).
    public func restore(_ image: RGBImage, told estimate: BlurEstimate) -> RGBImage {
        restorer.condition = BlurEstimation.condition(estimate, scale: restorer.scale)
        let output = tiles(Tensor(shape: [1, 3, image.height, image.width], values: image.pixels)).values
        return RGBImage(clamping: output, width: image.width * restorer.scale, height: image.height * restorer.scale)
    }

    /// The network's mean correction of (log tr, u, v) over up to `maxPatches` patches of `restored` (HR, or
    /// downscaled to the input's size where the network `readsDownscaled`), spread evenly; nil where no patch fits.
    public func correction(of restored: RGBImage, maxPatches: Int = 96) -> (logTrace: Double, u: Double, v: Double)? {
        let scale = network.configuration.scale
        let restored = readsDownscaled
            ? RGBImage(width: restored.width / scale, height: restored.height / scale,
                       pixels: Degrade.bicubic(restored.pixels, channels: 3, height: restored.height, width: restored.width, scale: scale))
            : restored
        let p = KernelCorrector.patchSide(scale: scale, downscaled: readsDownscaled)
        guard restored.height >= p, restored.width >= p else { return nil }
        let (rows, columns) = (restored.height / p, restored.width / p)
        let (offsetY, offsetX) = ((restored.height - rows * p) / 2, (restored.width - columns * p) / 2)
        var corners = (0..<rows).flatMap { r in (0..<columns).map { c in (offsetY + r * p, offsetX + c * p) } }
        if corners.count > maxPatches {
            let stride = Double(corners.count) / Double(maxPatches)
            corners = (0..<maxPatches).map { corners[Int(Double($0) * stride)] }
        }
        var sum = [0.0, 0.0, 0.0]
        for start in stride(from: 0, to: corners.count, by: 16) {
            let chunk = corners[start..<min(start + 16, corners.count)]
            let output = network(KernelEstimator.patchTensor(chunk.map { restored.crop(top: $0.0, left: $0.1, height: p, width: p) }, side: p))
            let k = network.configuration.outputs
            for n in 0..<chunk.count {
                for (j, index) in [KernelCode.logTrace, KernelCode.shapeU, KernelCode.shapeV].enumerated() { sum[j] += Double(output[n * k + index]) }
            }
        }
        let count = Double(corners.count)
        return (sum[0] / count, sum[1] / count, sum[2] / count)
    }

    /// `estimate` corrected `rounds` times by its restored picture; the no-blur probability is kept. nil-safe: a
    /// picture too small for one HR patch keeps the estimate.
    public func correct(_ estimate: BlurEstimate, image: RGBImage, rounds: Int = 1) -> BlurEstimate {
        var current = estimate
        for _ in 0..<rounds {
            guard let delta = correction(of: restore(image, told: current)) else { return current }
            current = KernelCorrector.applying(delta, to: current)
        }
        return current
    }

    /// `estimate` with `delta` added to its covariance's code.
    public static func applying(_ delta: (logTrace: Double, u: Double, v: Double), to estimate: BlurEstimate) -> BlurEstimate {
        let code = KernelCode.encode(estimate.covariance)
        let covariance = KernelCode.decode(logTrace: code.logTrace + delta.logTrace, u: code.u + delta.u, v: code.v + delta.v)
        return BlurEstimate(covariance: covariance, noBlurProbability: estimate.noBlurProbability)
    }
}
