import Decode
import Engine
import Foundation
import ONSR

/// A Gr model on disk: a shipped one or any RRDBNet safetensors file (BasicSR checkpoints included).
public struct ModelInfo: Sendable {
    public let name: String
    public let path: String
    public let configuration: RRDBNet.Configuration
    /// What the file's metadata says (training degradation, steps, validation PSNR, ...); empty for BasicSR files.
    public let metadata: [String: String]
}

/// Finds, describes and loads Gr models.
public enum ModelStore {
    /// The default model for a scale: the fast "-G" model (blind-blur trained), as the paper's ONSR-G starts from.
    public static func defaultName(scale: Int) -> String { "fast-x\(scale)-g" }

    /// The folder of shipped models (a SwiftPM resource beside the executable).
    static var shippedFolder: String? {
        Bundle.module.url(forResource: "Models", withExtension: nil)?.path
    }

    /// Every shipped model, by name.
    public static func shipped() -> [ModelInfo] { shippedModels }

    /// Read once per process (a static let is initialised once, thread-safely): the files ship with the binary and
    /// do not change while it runs, and each look-up would otherwise read all of them.
    private static let shippedModels: [ModelInfo] = {
        guard let folder = shippedFolder,
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(estimatorPrefix) }.sorted().compactMap { name in
            try? describe(path: (folder as NSString).appendingPathComponent(name))
        }
    }()

    /// Resolves `--model`: a shipped model's name or a path to a safetensors file; nil means the default.
    public static func resolve(_ nameOrPath: String?, scale: Int) throws -> ModelInfo {
        let wanted = nameOrPath ?? defaultName(scale: scale)
        let info: ModelInfo
        if let shipped = shipped().first(where: { $0.name == wanted }) {
            info = shipped
        } else if FileManager.default.fileExists(atPath: wanted) {
            info = try describe(path: wanted)
        } else {
            let names = shipped().map(\.name).joined(separator: ", ")
            throw JobError(nameOrPath == nil ? .noInput : .usage,
                            "no model \(wanted) (shipped: \(names.isEmpty ? "none" : names); or pass a .safetensors path)")
        }
        guard info.configuration.scale == scale else {
            throw JobError(.usage, "model \(info.name) upscales x\(info.configuration.scale), not x\(scale); pass --scale \(info.configuration.scale)")
        }
        return info
    }

    /// Shipped blur estimators are named `blur-estimator-x2.safetensors` and so on.
    static let estimatorPrefix = "blur-estimator-"

    /// The shipped blur estimator for a scale, or nil where none is shipped.
    public static func shippedEstimator(scale: Int) throws -> KernelEstimator? {
        guard let folder = shippedFolder else { return nil }
        let path = (folder as NSString).appendingPathComponent("\(estimatorPrefix)x\(scale).safetensors")
        return FileManager.default.fileExists(atPath: path) ? try loadEstimator(path: path, scale: scale) : nil
    }

    /// A blur estimator written by `onsr-video train-estimator`, for `scale`.
    public static func loadEstimator(path: String, scale: Int) throws -> KernelEstimator {
        let tensors: [String: Tensor], metadata: [String: String]
        // SafeTensors.read's errors name the file already.
        do { (tensors, metadata) = try SafeTensors.read(path: path) } catch { throw JobError(.dataError, "\(error)") }
        guard metadata["kind"] == "kernel-estimator", let features = metadata["features"].flatMap(Int.init),
              let fileScale = metadata["scale"].flatMap(Int.init) else {
            throw JobError(.dataError, "\(path): not a blur estimator (train one with onsr-video train-estimator)")
        }
        guard fileScale == scale else { throw JobError(.usage, "\(path): the blur estimator is for x\(fileScale), not x\(scale)") }
        // An estimator with a size spread has a fifth output row (`KernelEstimator.Configuration.sizeSpread`).
        let spread = tensors["head.bias"]?.count == KernelCode.outputs + 1
        let estimator = KernelEstimator(.init(features: features, scale: scale, sizeSpread: spread))
        do { try SafeTensors.load(tensors, into: estimator) } catch { throw JobError(.dataError, "\(path): \(error)") }
        estimator.setTrainable(false)
        return estimator
    }

    /// Reads a model's architecture from its tensors' shapes (so BasicSR files need no metadata).
    public static func describe(path: String) throws -> ModelInfo {
        let tensors: [String: Tensor], metadata: [String: String]
        do {
            (tensors, metadata) = try SafeTensors.read(path: path)
        } catch {
            throw JobError(.dataError, "\(error)")
        }
        // BasicSR's training checkpoints nest the weights under params_ema / params in .pth; converted files are flat.
        guard let first = tensors["conv_first.weight"], first.shape.count == 4 else {
            throw JobError(.dataError, "\(path): not an RRDBNet model (no conv_first.weight)")
        }
        let features = first.shape[0]
        // A multi-frame model stacks its frames' channels, a conditioned one adds its condition planes; the metadata
        // says how many of each.
        guard let frames = Int(metadata["frames"] ?? "1"), frames >= 1, frames % 2 == 1,
              let conditions = Int(metadata["conditions"] ?? "0"), conditions >= 0, conditions == 0 || frames == 1 else {
            throw JobError(.dataError, "\(path): its metadata's frames (\(metadata["frames"] ?? "1")) or conditions (\(metadata["conditions"] ?? "0")) make no RRDBNet")
        }
        // conv_first reads the pixel-unshuffled input: 1, 4 or 16 channels per input channel at x4, x2, x1.
        guard let scale = [(4, 1), (2, 4), (1, 16)].first(where: { first.shape[1] == (3 * frames + conditions) * $0.1 })?.0 else {
            throw JobError(.dataError, "\(path): conv_first takes \(first.shape[1]) channels; expected 3, 12 or 48 per frame"
                           + (conditions > 0 ? ", plus 1, 4 or 16 per condition plane (\(conditions))" : ""))
        }
        let blocks = Set(tensors.keys.compactMap { key -> Int? in
            guard key.hasPrefix("body.") else { return nil }
            return Int(key.split(separator: ".")[1])
        }).count
        guard blocks > 0, let growth = tensors["body.0.rdb1.conv1.weight"]?.shape[0] else {
            throw JobError(.dataError, "\(path): no RRDB blocks found")
        }
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return ModelInfo(name: name, path: path,
                         configuration: .init(features: features, blocks: blocks, growth: growth, scale: scale,
                                              bicubicSkip: metadata["skip"] == "bicubic", frames: frames, conditions: conditions),
                         metadata: metadata)
    }

    /// Refuses a kernel-conditioned model where nothing reads the blur per scene (`use`: what it was asked for).
    public static func requireBlind(_ model: ModelInfo, for use: String) throws {
        guard model.configuration.conditions == 0 else {
            throw JobError(.usage, "\(model.name) is told the blur kernel: it serves image and --method pretrained, not \(use)")
        }
    }

    /// Refuses a multi-frame model where one frame is all there is (`use`: what it was asked for, e.g. "ONSR").
    public static func requireOneFrame(_ model: ModelInfo, for use: String) throws {
        guard model.configuration.frames == 1 else {
            throw JobError(.usage, "\(model.name) reads \(model.configuration.frames) consecutive frames at once: it serves --method pretrained on video and frame folders, not \(use)")
        }
    }

    /// Builds the network and loads the weights.
    public static func load(_ info: ModelInfo) throws -> RRDBNet {
        let network = RRDBNet(info.configuration)
        do {
            let (tensors, _) = try SafeTensors.read(path: info.path)
            try SafeTensors.load(tensors, into: network)
        } catch let error as JobError {
            throw error
        } catch {
            throw JobError(.dataError, "\(info.path): \(error)")
        }
        network.setTrainable(false)
        return network
    }
}

/// Fixed-weight SR with a pretrained Gr (the paper's EBSR / "pretrained" baseline).
public final class PretrainedUpscaler: FrameUpscaler {
    public let network: RRDBNet
    public let name: String
    public var scale: Int { network.scale }
    private let tiles: TiledInference

    /// `precision`: the element type of the activations (`Precision.resolved`).
    public init(model: ModelInfo, tile: Int = 512, precision: ElementType = .fp32) throws {
        try ModelStore.requireOneFrame(model, for: "single pictures")
        network = try ModelStore.load(model)
        name = "pretrained:\(model.name)"
        tiles = TiledInference(network: network, tile: tile, precision: precision)
    }

    /// The element type frames are upscaled in.
    public var precision: ElementType { tiles.precision }

    /// oneDNN's kernel for this network's convolutions on frames of this size.
    public func implementation(height: Int, width: Int) -> String {
        network.implementation(height: min(height, tiles.tile), width: min(width, tiles.tile), precision: tiles.precision)
    }

    /// A kernel-conditioned model is told the blur estimator's reading of the first picture it is given, unless its
    /// caller set a condition (`BlurEstimation.tellBlur`): one reading for a whole video, as the starting model is
    /// chosen once per video.
    public func upscale(_ image: RGBImage) throws -> RGBImage {
        try BlurEstimation.tellBlur(to: network, image: image)
        return RGBImage(clamping: tiles(Tensor(shape: [1, 3, image.height, image.width], values: image.pixels)).values,
                        width: image.width * scale, height: image.height * scale)
    }
}

extension RGBImage {
    /// A network's output as an image: samples clamped to [0, 1] (SR networks overshoot at edges).
    init(clamping samples: [Float], width: Int, height: Int) {
        var pixels = samples
        for i in 0..<pixels.count { pixels[i] = min(max(pixels[i], 0), 1) }
        self.init(width: width, height: height, pixels: pixels)
    }
}
