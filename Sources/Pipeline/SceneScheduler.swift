import Decode
import Engine
import Foundation
import ONSR

/// When the scheduler adapts.
public enum AdaptPolicy: String, CaseIterable, Codable, Sendable {
    /// A full adaptation at the first frame of each scene (warm-started from the previous scene), reused for
    /// the scene's frames.
    case perScene = "per-scene"
    /// A full adaptation from the pretrained Gr on every frame: the quality reference, and slow.
    case perFrame = "per-frame"
    /// One adaptation on the first scene, reused for the whole video.
    case once
    /// No adaptation: the pretrained Gr on every frame.
    case none
}

/// How the scene-aware scheduler works.
public struct ScheduleOptions: Sendable {
    public var policy = AdaptPolicy.perScene
    /// Adaptation steps at a scene start (the adaptation options' `steps` is ignored).
    public var steps = 100
    /// Extra adaptation steps on each later frame of a scene (0: the weights stay fixed within a scene).
    public var warmSteps = 0
    public var sceneThreshold: Float = 0.3
    /// Frames after which a scene is split and adaptation refreshed.
    public var maxSceneLength = 300
    /// Frames of a new scene held back so that its adaptation samples patches from several of them.
    public var lookAhead = 8
    /// A later scene shares the previous scene's degradation when a short Gd-only refit of the previous Gd
    /// ends above this fraction of its starting L_IB (`DegradationCheck`); `scripts/bench-degradation-check.py`
    /// measures where the same, a sharper and a wider blur land (docs/method.md).
    public var refitTolerance: Float = 0.85
    /// At a cut, a changed blur-estimator reading (`BlurEstimate.differs`) also means a changed degradation,
    /// whatever the probe finds. Off, the probe alone decides (the scheduler's tests of the probe, on synthetic
    /// frames the estimator was not made for).
    public var blurEstimateWitness = true
    /// Adapted models remembered for returning shots.
    public var cacheSize = 8
    /// Reproduce the input's compression and noise in the external branch (`CompressionEstimate`), where the
    /// input's codec is one `PatchCompressor` knows; false keeps the paper's blur-only degradation model.
    public var codecAware = true
    /// Average each frame's output over the symmetries its Gr keeps (`SelfEnsemble.kept`): all eight while Gr is
    /// the pretrained one, the half turn once a scene has adapted it (which keeps the bicubic downscaling as well
    /// as any centred Gaussian). Two or eight inferences a frame instead of one.
    public var selfEnsembles = false

    public init() {}
}

/// One scene of the video.
public struct SceneRecord: Codable, Sendable {
    public var index: Int
    public var start: SceneStart
    public var firstFrame: Int
    public var lastFrame: Int
    public var startSeconds: Double?
    public var endSeconds: Double?
    public var adaptation: AdaptationRecord?
    /// The compression reproduced in the scene's external branch, when there was one.
    public var compression: CompressionProfile?
    /// The blur estimator's reading of the scene, where the scene ran its own adaptation.
    public var blurEstimate: BlurEstimate?
    /// The shape of the kernel the scene's Gr was fine-tuned through: learned (from `blurEstimate`), or spectral
    /// on coded input (`SceneScheduler.makeAdapter`).
    public var kernelShape: KernelShape?
    /// Adaptations at frames after the first (per-frame policy, or `warmSteps`).
    public var laterAdaptations = 0
    public var laterAdaptationSteps = 0
}

/// ONSR for video: finds scenes, adapts once per scene on patches from a look-ahead of its frames, and upscales
/// the scene's frames with the adapted Gr, so that quality follows the footage at a cost close to inference.
/// Memory is bounded by the look-ahead (`lookAhead` frames) whatever the video's length.
public final class SceneScheduler: FrameProcessor {
    public let options: ScheduleOptions
    public let adaptation: AdaptationOptions
    public let model: ModelInfo
    public var scale: Int { model.configuration.scale }
    public var name: String { "onsr:\(TwoPhase().name):\(model.name):\(options.policy.rawValue)" + (options.selfEnsembles ? "+self-ensemble" : "") }
    public private(set) var scenes: [SceneRecord] = []
    public private(set) var adaptSeconds = 0.0

    private let external: PhotoSet?
    private let events: (JobEvent) -> Void
    private let gr: RRDBNet
    private let tiles: TiledInference
    private let pretrained: [Tensor]
    private var detector: SceneDetector
    private var pending: [(frame: TimedFrame, index: Int, start: SceneStart?, signature: FrameSignature)] = []
    private var framesSeen = 0
    private var preparedScene = -1
    private var adapter: OnlineAdapter?
    private var cache: [(signature: FrameSignature, gr: [Tensor], gd: [Tensor])] = []
    private var source: SourceStream?
    /// The compression of the scene being adapted, and its compressor (seeded by the scene: runs are reproducible).
    private var compression: CompressionProfile?
    private var compressor: PatchCompressor?
    /// The frames a scene's adaptation reads, and the blur estimator's reading of them (made once per scene, when
    /// a fresh adapter or the cut decision first needs it).
    private var adaptationFrames: [RGBImage] = []
    private var sceneEstimate: BlurEstimate??
    /// The reading the last fresh adaptation started from: what a later cut compares its own reading with.
    private var lastEstimate: BlurEstimate?

    /// The blur estimator's reading of the current scene's frames, made once per scene.
    private func currentEstimate() -> BlurEstimate? {
        if sceneEstimate == nil { sceneEstimate = .some(BlurEstimation.estimate(frames: adaptationFrames, scale: scale,
                                                                           subsampledChroma: source?.hasSubsampledChroma ?? false)) }
        return sceneEstimate ?? nil
    }

    /// `external` may be nil only with the `none` policy.
    /// `precision`: the element type frames are upscaled in (adaptation itself is fp32).
    public init(model: ModelInfo, external: PhotoSet?, adaptation: AdaptationOptions, options: ScheduleOptions,
                precision: ElementType = .fp32, events: @escaping (JobEvent) -> Void = { _ in }) throws {
        precondition(external != nil || options.policy == .none, "adaptation needs the external photo set")
        try ModelStore.requireOneFrame(model, for: "ONSR, which adapts a one-frame Gr")
        try ModelStore.requireBlind(model, for: "ONSR on video, whose scenes each have their own blur")
        precondition(options.lookAhead >= 1, "look-ahead must be at least one frame")
        self.model = model
        self.external = external
        self.adaptation = adaptation
        self.options = options
        self.events = events
        if let external, options.policy != .none {
            try AdaptationInputCheck.external(external, options: adaptation, scale: model.configuration.scale)
        }
        gr = try ModelStore.load(model)
        pretrained = gr.snapshot()
        tiles = TiledInference(network: gr, tile: 512, precision: precision)
        detector = SceneDetector(threshold: options.sceneThreshold, maxSceneLength: options.maxSceneLength)
    }

    public func prepare(for source: SourceStream) { self.source = source }
    public var wantsFrameCoding: Bool { options.codecAware && options.policy != .none }

    public func submit(_ frame: TimedFrame) throws -> [TimedFrame] {
        if options.policy != .none && framesSeen == 0 { try AdaptationInputCheck.frame(frame.image, options: adaptation) }
        let signature = FrameSignature(of: frame.image)
        let start = detector.observe(signature)
        pending.append((frame, framesSeen, start, signature))
        framesSeen += 1
        return try release(final: false)
    }

    public func finish() throws -> (frames: [TimedFrame], summary: ProcessingSummary) {
        (try release(final: true), ProcessingSummary(adaptSeconds: adaptSeconds, scenes: scenes))
    }

    /// Upscales every pending frame whose scene is ready; a scene is ready once its look-ahead is full, the
    /// next scene has begun, or the stream has ended.
    private func release(final: Bool) throws -> [TimedFrame] {
        var ready: [TimedFrame] = []
        while let head = pending.first {
            if let start = head.start, preparedScene != head.index {
                let sceneFrames = [head] + pending.dropFirst().prefix { $0.start == nil }
                let sceneEnded = sceneFrames.count < pending.count
                // Only an adaptation over several frames needs to wait for them.
                let wantsLookAhead = options.policy == .perScene || (options.policy == .once && scenes.isEmpty)
                if wantsLookAhead && !final && !sceneEnded && sceneFrames.count < options.lookAhead { break }
                let lookAhead = sceneFrames.prefix(options.lookAhead).map(\.frame)
                let reproduced = try SceneSetup.compression(codecAware: options.codecAware && options.policy != .none, source: source,
                                                            frames: lookAhead, scene: scenes.count, seed: adaptation.seed)
                (compression, compressor) = (reproduced?.profile, reproduced?.compressor)
                try beginScene(head.index, start: start, seconds: head.frame.seconds, signature: head.signature,
                               frames: lookAhead.map(\.image))
                preparedScene = head.index
            } else if options.policy == .perFrame {
                try adaptLater(head.frame.image, index: head.index, steps: options.steps, fromPretrained: true)
            } else if options.warmSteps > 0 && options.policy != .none {
                try adaptLater(head.frame.image, index: head.index, steps: options.warmSteps, fromPretrained: false)
            }
            pending.removeFirst()
            ready.append(head.frame.with(try infer(head.frame.image)))
            scenes[scenes.count - 1].lastFrame = head.index
            scenes[scenes.count - 1].endSeconds = head.frame.seconds
        }
        return ready
    }

    private func infer(_ image: RGBImage) throws -> RGBImage {
        // Gr is adapted from the first adaptation on (`adapter` is set then) and stays so for every later scene.
        let ensemble = options.selfEnsembles ? SelfEnsemble.kept(adaptedThroughBlur: adapter != nil) : .single
        return ensemble.average(image) { frame in
            RGBImage(clamping: tiles(Tensor(shape: [1, 3, frame.height, frame.width], values: frame.pixels)).values,
                     width: frame.width * scale, height: frame.height * scale)
        }
    }

    // MARK: Decisions

    private func beginScene(_ index: Int, start: SceneStart, seconds: Double?, signature: FrameSignature, frames: [RGBImage]) throws {
        (adaptationFrames, sceneEstimate) = (frames, nil)
        var scene = SceneRecord(index: scenes.count, start: start, firstFrame: index, lastFrame: index,
                                startSeconds: seconds, endSeconds: seconds)
        switch options.policy {
        case .none:
            break
        case .once:
            if scenes.isEmpty { scene.adaptation = try adapt(frames, index: index, kind: .full, steps: options.steps) }
        case .perFrame:
            scene.adaptation = try adapt(frames.prefix(1).map { $0 }, index: index, kind: .full, steps: options.steps)
        case .perScene:
            if let cached = cache.first(where: { $0.signature.distance(to: signature) < options.sceneThreshold / 3 }) {
                // A returning shot: its model fits by construction, so it is reused as it was left.
                gr.restore(cached.gr)
                let gd = DegradationNet(scale: scale)
                gd.restore(cached.gd)
                let reused = makeAdapter(gd: gd, dl: adapter?.dl)
                let loss = reused.holdAside(frames: frames)
                adapter = reused
                scene.adaptation = AdaptationRecord(kind: .cached, frame: index, steps: 0, internalLossBefore: loss,
                                                    internalLossAfter: loss, seconds: 0)
            } else if let previous = adapter {
                scene.adaptation = try adaptAfterCut(frames, index: index, previous: previous)
            } else {
                scene.adaptation = try adapt(frames, index: index, kind: .full, steps: options.steps)
            }
            if scene.adaptation?.kind != .cached { remember(signature) }
        }
        // Only a scene that ran its own adaptation reproduced its compression (a kept or cached model did not).
        if scene.adaptation?.kind == .full {
            (scene.compression, scene.blurEstimate, scene.kernelShape) = (compression, lastEstimate, (adapter?.strategy as? TwoPhase)?.kernelShape)
        }
        scenes.append(scene)
        events(.scene(scene))
    }

    /// A fresh adapter (no `gd`) is set up from the scene's estimate (`SceneSetup.freshStrategy`); one that continues
    /// a Gd (a warm start, the probe after a cut) keeps that Gd.
    private func makeAdapter(gd: DegradationNet?, dl: Discriminator?) -> OnlineAdapter {
        var strategy = TwoPhase()
        if gd == nil && strategy.kernelShape == .learned {
            lastEstimate = currentEstimate()
            strategy = SceneSetup.freshStrategy(estimate: lastEstimate, inputIsCoded: SceneSetup.isCoded(source))
        }
        let adapter = OnlineAdapter(gr: gr, external: external!.images, options: adapterSettings, strategy: strategy, gd: gd, dl: dl)
        adapter.compression = compressor
        return adapter
    }

    private var adapterSettings: AdaptationOptions {
        var settings = adaptation
        settings.steps = options.steps
        return settings
    }

    /// Runs one adaptation on `frames`; a `.full` one starts from the pretrained Gr and a fresh Gd.
    private func adapt(_ frames: [RGBImage], index: Int, kind: AdaptationRecord.Kind, steps: Int) throws -> AdaptationRecord {
        let watch = Stopwatch()
        if kind == .full { gr.restore(pretrained) }
        let adapter = makeAdapter(gd: nil, dl: nil)
        let before = adapter.holdAside(frames: frames)
        gr.setTrainable(true)
        let history = adapter.adapt(frames: frames, steps: steps) { step in
            self.events(.adaptation(step: step.step, of: steps, internalLoss: step.heldAsideInternalLoss))
        }
        gr.setTrainable(false)
        self.adapter = adapter
        if adapter.compressionFailures > 0 {
            events(.warning("scene at frame \(index): \(adapter.compressionFailures) of \(steps) external-branch steps could not reproduce "
                            + "the input's compression and ran blur-only"))
        }
        let after = history.last?.heldAsideInternalLoss ?? before
        adaptSeconds += watch.seconds
        return AdaptationRecord(kind: kind, frame: index, steps: steps, internalLossBefore: before, internalLossAfter: after,
                                seconds: watch.seconds)
    }

    /// After a cut: `SceneCutPolicy` keeps the previous scene's models or adapts in full.
    private func adaptAfterCut(_ frames: [RGBImage], index: Int, previous: OnlineAdapter) throws -> AdaptationRecord {
        let policy = SceneCutPolicy(steps: options.steps, refitTolerance: options.refitTolerance)
        let previousEstimate = lastEstimate
        let current = currentEstimate()
        let estimates = options.blurEstimateWitness ? previousEstimate.flatMap { before in current.map { (before, $0) } } : nil
        let outcome = policy.decide(frames: frames, index: index, gr: gr, pretrained: pretrained, previous: previous,
                                    estimates: estimates, makeAdapter: makeAdapter, progress: { step in
            self.events(.adaptation(step: step.step, of: self.options.steps, internalLoss: step.heldAsideInternalLoss))
        })
        adapter = outcome.adapter
        adaptSeconds += outcome.record.seconds
        return outcome.record
    }

    /// Adaptation at a frame after a scene's first: per-frame policy (from the pretrained Gr) or warm steps.
    private func adaptLater(_ image: RGBImage, index: Int, steps: Int, fromPretrained: Bool) throws {
        if fromPretrained {
            _ = try adapt([image], index: index, kind: .full, steps: steps)
        } else {
            let watch = Stopwatch()
            let adapter = self.adapter ?? makeAdapter(gd: nil, dl: nil)
            gr.setTrainable(true)
            adapter.adapt(frames: [image], steps: steps)
            gr.setTrainable(false)
            self.adapter = adapter
            adaptSeconds += watch.seconds
        }
        scenes[scenes.count - 1].laterAdaptations += 1
        scenes[scenes.count - 1].laterAdaptationSteps += steps
    }

    private func remember(_ signature: FrameSignature) {
        guard let adapter else { return }
        cache.append((signature, gr.snapshot(), adapter.gd.snapshot()))
        if cache.count > options.cacheSize { cache.removeFirst() }
    }
}
