import Decode
import Engine

/// A multi-frame Gr (`RRDBNet.Configuration.frames` > 1) on a video: each frame is upscaled from itself and its
/// neighbours, so the output of frame i waits for frame i + frames/2. A neighbour across a hard scene cut, or past
/// either end of the stream, is replaced by the nearest frame of the same scene: the network then sees that frame
/// twice, not a picture of another shot. A model trained with `--align` gets its neighbours motion-compensated to the
/// frame (`BlockAlignment`) as it was trained.
public final class MultiFrameProcessor: FrameProcessor {
    public let network: RRDBNet
    public let name: String
    public var scale: Int { network.scale }
    private let tiles: TiledInference
    /// How the model's neighbours are motion-compensated, as it was trained (`alignment` in its metadata).
    public let alignment: BlockAlignment?
    private var detector: SceneDetector
    /// Frames not yet written, oldest first, with the scene each belongs to; earlier frames kept as neighbours.
    private var held: [(frame: TimedFrame, scene: Int)] = []
    /// How many of `held`'s first entries were already written (kept as the next frames' past neighbours).
    private var written = 0
    private var scene = 0

    /// `model` must read several frames; `precision`: the activations' element type (`Precision.resolved`).
    public init(model: ModelInfo, sceneThreshold: Float = 0.3, tile: Int = 512, precision: ElementType = .fp32) throws {
        precondition(model.configuration.frames > 1, "\(model.name) reads one frame: use PerFrameProcessor")
        network = try ModelStore.load(model)
        name = "pretrained:\(model.name)"
        tiles = TiledInference(network: network, tile: tile, precision: precision)
        if let value = model.metadata["alignment"] {
            guard let alignment = BlockAlignment(metadataValue: value) else {
                throw JobError(.dataError, "\(model.path): unknown alignment '\(value)' in its metadata")
            }
            self.alignment = alignment
        } else {
            alignment = nil
        }
        // Only hard cuts separate neighbours: a fade or a refresh continues the shot.
        detector = SceneDetector(threshold: sceneThreshold, maxSceneLength: .max)
    }

    private var radius: Int { network.configuration.frames / 2 }

    public func submit(_ frame: TimedFrame) throws -> [TimedFrame] {
        if detector.observe(FrameSignature(of: frame.image)) == .cut { scene += 1 }
        held.append((frame, scene))
        var ready: [TimedFrame] = []
        while written + radius < held.count { ready.append(try upscaleNext()) }
        return ready
    }

    public func finish() throws -> (frames: [TimedFrame], summary: ProcessingSummary) {
        var ready: [TimedFrame] = []
        while written < held.count { ready.append(try upscaleNext()) }
        return (ready, ProcessingSummary())
    }

    /// Upscales `held[written]` from its window, then forgets what no later frame needs.
    private func upscaleNext() throws -> TimedFrame {
        let index = written, own = held[index].scene
        let image = held[index].frame.image
        var window = (-radius...radius).map { offset -> RGBImage in
            // Step back towards the middle until the frame exists and belongs to the same shot.
            var j = index + offset
            while j != index && (j < 0 || j >= held.count || held[j].scene != own) { j += offset > 0 ? -1 : 1 }
            precondition(held[j].frame.image.width == image.width && held[j].frame.image.height == image.height,
                         "frames of one stream have one size (FrameRefit)")
            return held[j].frame.image
        }
        if let alignment {
            for f in window.indices where f != radius {
                window[f].pixels = alignment.align(window[f].pixels, to: image.pixels, width: image.width, height: image.height)
            }
        }
        let input = Tensor(shape: [1, 3 * window.count, image.height, image.width], values: Array(window.map(\.pixels).joined()))
        let output = RGBImage(clamping: tiles(input).values, width: image.width * scale, height: image.height * scale)
        let result = held[index].frame.with(output)
        written += 1
        if written > radius {
            held.removeFirst()
            written -= 1
        }
        return result
    }
}
