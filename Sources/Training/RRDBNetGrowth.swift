import Engine
import Foundation

/// How a one-frame model's `conv_first` is spread over a multi-frame network's frames. Either way the network computes
/// the one-frame function on a still shot (all frames alike).
public enum FrameWidening: String, CaseIterable, Codable, Sendable {
    /// The middle frame gets the weights, the neighbours zeros: the same function on any input, and the neighbours are
    /// read only as far as training moves their weights off zero. Measured (`docs/onsr-study.md`, "A multi-frame Gr"):
    /// it hardly does, their weights stay at 2% of the middle's.
    case middle
    /// Every frame gets an equal share: at the start the network reads the frames' mean (with `--align`, a
    /// motion-compensated average, which lowers the coding noise), and training sorts the frames apart.
    case average
}

/// Deepening a trained RRDBNet without changing what it computes, so that a larger model can start from a
/// smaller trained one instead of from noise (net2net-style).
extension RRDBNet {
    /// Loads the weights of a shallower or one-frame RRDBNet (same features, growth, scale and skip; fewer blocks, or
    /// one frame where this network takes several) into this network so that it computes exactly the same function
    /// (for several frames: on frames that are all the same), the given blocks first; every dense block
    /// of the new RRDBs gets a zero `conv5`, which makes it the identity, so each new RRDB multiplies its input
    /// by 1.2 (BasicSR's `rdb3(rdb2(rdb1(x))) * 0.2 + x`), and `conv_body`'s weight is divided by
    /// 1.2^(new blocks) to undo that (`conv_body` is linear, and nothing else reads the trunk).
    /// The new blocks' other convs keep their random initialisation: once training moves `conv5` off zero,
    /// they receive gradients.
    public func loadGrowing(from tensors: [String: Tensor], widening: FrameWidening = .middle) throws {
        let given = Self.blockCount(in: tensors)
        guard given <= configuration.blocks else {
            throw SafeTensorsError("the weights have \(given) blocks, more than this network's \(configuration.blocks)")
        }
        try SafeTensors.load(widened(tensors, widening), into: self, only: { name in Self.blockIndex(of: name).map { $0 < given } ?? true })
        for (name, parameter) in namedParameters() {
            guard let block = Self.blockIndex(of: name), block >= given else { continue }
            if name.hasSuffix(".conv5.weight") || name.hasSuffix(".conv5.bias") { parameter.value.zero() }
        }
        let undo = 1 / pow(1.2, Float(configuration.blocks - given))
        let weight = convBody.weight.value
        for i in 0..<weight.count { weight.data[i] *= undo }
    }

    /// A one-frame model's weights for this multi-frame network, computing the same function on a still shot (see
    /// `FrameWidening`).
    private func widened(_ tensors: [String: Tensor], _ widening: FrameWidening) -> [String: Tensor] {
        let target = convFirst.weight.value
        guard let given = tensors["conv_first.weight"] else { return tensors }
        if configuration.conditions > 0 && given.shape[1] * configuration.inputChannels == target.shape[1] * configuration.imageChannels {
            return conditionWidened(tensors, given: given)
        }
        guard configuration.frames > 1, given.shape[1] * configuration.frames == target.shape[1] else { return tensors }
        let (out, perFrame, taps) = (given.shape[0], given.shape[1], given.shape[2] * given.shape[3])
        let weight = Tensor(shape: target.shape), middle = configuration.frames / 2
        let frames = widening == .middle ? middle...middle : 0...(configuration.frames - 1)
        for o in 0..<out {
            for frame in frames {
                let row = weight.data + (o * target.shape[1] + frame * perFrame) * taps
                for i in 0..<(perFrame * taps) { row[i] = given.data[o * perFrame * taps + i] / Float(frames.count) }
            }
        }
        var result = tensors
        result["conv_first.weight"] = weight
        return result
    }

    /// A blind model's weights for this conditioned network: the pictures' channels of `conv_first` as they were, the
    /// condition planes' at zero, so that the network starts as the blind model whatever the condition says.
    private func conditionWidened(_ tensors: [String: Tensor], given: Tensor) -> [String: Tensor] {
        let target = convFirst.weight.value
        let (out, taps) = (given.shape[0], given.shape[2] * given.shape[3])
        let (read, width) = (given.shape[1] * taps, target.shape[1] * taps)
        let weight = Tensor(shape: target.shape)
        for o in 0..<out { (weight.data + o * width).update(from: given.data + o * read, count: read) }
        var result = tensors
        result["conv_first.weight"] = weight
        return result
    }

    /// Number of RRDBs in a set of RRDBNet weights (`body.N.` keys).
    public static func blockCount(in tensors: [String: Tensor]) -> Int {
        (tensors.keys.compactMap(blockIndex(of:)).max() ?? -1) + 1
    }

    private static func blockIndex(of name: String) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count > 2, parts[0] == "body" else { return nil }
        return Int(parts[1])
    }
}
