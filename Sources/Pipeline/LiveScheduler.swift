#if canImport(Glibc)
import CMalloc
#endif
import Decode
import Engine
import Foundation
import ONSR

/// When an adapted model replaced the running one in live mode.
public struct ModelSwitch: Codable, Sendable {
    /// Frame at which the background adaptation began, and the frame being upscaled when it finished.
    public var adaptationStartFrame: Int
    public var adaptationReadyFrame: Int
    /// First frame upscaled (fully) by the adapted model.
    public var tookOverAtFrame: Int
    /// "scene-cut" or "cross-fade".
    public var how: String
    public var steps: Int
    public var adaptationSeconds: Double
    /// Held-aside L_IB when the adaptation began and when it ended.
    public var internalLossBefore: Float
    public var internalLossAfter: Float
}

/// Settings of the live (streaming) mode.
public struct LiveOptions: Sendable {
    public var steps = 100
    public var sceneThreshold: Float = 0.3
    /// Seconds of stream time an adapted model waits for a scene cut before it is cross-faded in.
    public var maxSwitchDelay = 2.0
    /// Frames over which outputs of the old and the adapted model are blended when no cut comes.
    public var crossFadeFrames = 8
    /// The first frames of a scene, which the background adaptation samples patches from, as file mode does
    /// with its look-ahead (same frames and seed, same adapted model).
    public var sampleFrames = 8
    /// See `ScheduleOptions.refitTolerance`.
    public var refitTolerance = ScheduleOptions().refitTolerance
    /// While a background adaptation runs, upscale on one core, and from the first such frame on at a lower
    /// priority (nice +5 for the upscaling thread; an unprivileged process cannot raise it back), so that the
    /// adaptation gets most of the machine and its model takes over sooner. Right for an input that can wait
    /// (a pipe under back-pressure), wrong for a real-time source, whose frames would then come late.
    public var favourAdaptation = false
    /// See `ScheduleOptions.codecAware`.
    public var codecAware = ScheduleOptions().codecAware
    /// See `ScheduleOptions.blurEstimateWitness`.
    public var blurEstimateWitness = ScheduleOptions().blurEstimateWitness
    public init() {}
}

/// ONSR for streams: every frame is upscaled at once with the current Gr while an adaptation runs on a
/// background thread on a copy of the networks, fed with the frames as they pass. The adapted Gr takes over
/// at the next scene cut, or through a short cross-fade of outputs when no cut comes within
/// `maxSwitchDelay`, so no frame ever waits for an adaptation. A new adaptation starts with each new scene;
/// with two-phase it first checks, as the file-mode scheduler does (`DegradationCheck`), whether the previous
/// degradation still holds, and then keeps the running model. A fresh adaptation is set up as in file mode
/// (`SceneSetup`): the blur estimator's kernel, or the spectral shape on coded input, and the input's compression
/// reproduced in the external branch.
public final class LiveScheduler: FrameProcessor {
    public let model: ModelInfo
    public let options: LiveOptions
    public var scale: Int { model.configuration.scale }
    public var name: String { "onsr:\(TwoPhase().name):\(model.name):live" }
    public private(set) var scenes: [SceneRecord] = []
    public private(set) var switches: [ModelSwitch] = []
    public var adaptSeconds: Double { lock.withLock { backgroundSeconds } }
    /// Frames upscaled by the fallback (bicubic) because they were late.
    public private(set) var lateFrames = 0

    private let adaptation: AdaptationOptions
    private let external: PhotoSet
    private let events: (JobEvent) -> Void
    private let current: RRDBNet, incoming: RRDBNet, trainee: RRDBNet
    private let currentTiles: TiledInference, incomingTiles: TiledInference
    private let fallback: InterpolationUpscaler
    private let pretrained: [Tensor]
    private var detector: SceneDetector
    private var index = 0
    /// The input stream, known before the first frame (`prepare`), read by the background thread.
    private var source: SourceStream?

    // Shared with the background thread, under `lock`.
    private let lock = NSLock()
    /// The current scene's first `sampleFrames` frames (with their coding, which the compression profile reads),
    /// and how many scenes have begun.
    private var sceneFrames: [TimedFrame] = []
    private var sceneGeneration = 0
    private var latestIndex = 0
    private var latestSeconds: Double?
    private var running = false
    private var streamEnded = false
    private var ready: (weights: [Tensor], record: ModelSwitch, streamSeconds: Double?)?
    private var backgroundSeconds = 0.0
    private var previous: OnlineAdapter?
    /// The reading the last fresh adaptation started from: what a later cut compares its own reading with.
    private var lastEstimate: BlurEstimate?
    private var finishedAdaptations: [FinishedAdaptation] = []
    /// Warnings of the background thread, reported from the upscaling thread, which owns `events`.
    private var warnings: [String] = []
    private var finishedThread = DispatchGroup()

    private var fade: (record: ModelSwitch, weights: [Tensor], done: Int)?
    private var yieldedThread: Int32 = 0

    /// `precision`: the element type frames are upscaled in (adaptation itself is fp32).
    public init(model: ModelInfo, external: PhotoSet, adaptation: AdaptationOptions, options: LiveOptions,
                precision: ElementType = .fp32, events: @escaping (JobEvent) -> Void = { _ in }) throws {
        try ModelStore.requireOneFrame(model, for: "ONSR, which adapts a one-frame Gr")
        try ModelStore.requireBlind(model, for: "ONSR on video, whose scenes each have their own blur")
        self.model = model
        self.external = external
        self.adaptation = adaptation
        self.options = options
        self.events = events
        try AdaptationInputCheck.external(external, options: adaptation, scale: model.configuration.scale)
        current = try ModelStore.load(model)
        incoming = try ModelStore.load(model)
        trainee = try ModelStore.load(model)
        pretrained = current.snapshot()
        currentTiles = TiledInference(network: current, tile: 512, precision: precision)
        incomingTiles = TiledInference(network: incoming, tile: 512, precision: precision)
        fallback = InterpolationUpscaler(kernel: .bicubic, scale: model.configuration.scale, name: "bicubic")
        detector = SceneDetector(threshold: options.sceneThreshold, maxSceneLength: .max)
    }

    public var acceptsLateFrames: Bool { true }
    public func prepare(for source: SourceStream) { self.source = source }
    public var wantsFrameCoding: Bool { options.codecAware }

    public func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame] {
        if index == 0 { try AdaptationInputCheck.frame(frame.image, options: adaptation) }
        defer { index += 1 }
        collectAdaptationRecords()
        if let start = detector.observe(FrameSignature(of: frame.image)) {
            scenes.append(SceneRecord(index: scenes.count, start: start, firstFrame: index, lastFrame: index,
                                      startSeconds: frame.seconds, endSeconds: frame.seconds))
            events(.scene(scenes[scenes.count - 1]))
            sceneBegins(at: frame)
        }
        scenes[scenes.count - 1].lastFrame = index
        scenes[scenes.count - 1].endSeconds = frame.seconds
        lock.withLock {
            if sceneFrames.count < options.sampleFrames { sceneFrames.append(frame) }
            latestIndex = index
            latestSeconds = frame.seconds
        }
        startFadeIfWaitedTooLong(now: frame.seconds)
        let output: RGBImage
        if late {
            lateFrames += 1
            output = try fallback.upscale(frame.image)
        } else {
            output = infer(frame.image)
        }
        return [frame.with(output)]
    }

    public func submit(_ frame: TimedFrame) throws -> [TimedFrame] { try submit(frame, late: false) }

    public func finish() throws -> (frames: [TimedFrame], summary: ProcessingSummary) {
        lock.withLock { streamEnded = true }
        finishedThread.wait()
        collectAdaptationRecords()
        return ([], ProcessingSummary(adaptSeconds: adaptSeconds, scenes: scenes, switches: switches))
    }

    /// What the background thread hands over when an adaptation ends: its record, and for a full one what it was
    /// set up with (as `SceneRecord` reports it).
    private struct FinishedAdaptation {
        let scene: Int
        let record: AdaptationRecord
        let compression: CompressionProfile?
        let blurEstimate: BlurEstimate?
        let kernelShape: KernelShape?
    }

    /// Moves the background thread's finished adaptations into their scenes' records, and reports its warnings.
    private func collectAdaptationRecords() {
        let (finished, said) = lock.withLock { () -> ([FinishedAdaptation], [String]) in
            defer { finishedAdaptations.removeAll(); warnings.removeAll() }
            return (finishedAdaptations, warnings)
        }
        for warning in said { events(.warning(warning)) }
        for done in finished where scenes.indices.contains(done.scene) {
            scenes[done.scene].adaptation = done.record
            // Only a scene that ran its own adaptation reproduced its compression (a kept model did not).
            if done.record.kind == .full {
                (scenes[done.scene].compression, scenes[done.scene].blurEstimate, scenes[done.scene].kernelShape)
                    = (done.compression, done.blurEstimate, done.kernelShape)
            }
        }
    }

    // MARK: Switching models

    private func sceneBegins(at frame: TimedFrame) {
        let (waiting, busy) = lock.withLock { () -> ((weights: [Tensor], record: ModelSwitch, streamSeconds: Double?)?, Bool) in
            defer { ready = nil; sceneFrames.removeAll(); sceneGeneration += 1 }
            return (ready, running)
        }
        if let waiting {
            // A cut hides the change of model completely.
            fade = nil
            current.restore(waiting.weights)
            var record = waiting.record
            record.tookOverAtFrame = index
            record.how = "scene-cut"
            switches.append(record)
        }
        if !busy { startAdaptation() }
    }

    private func startFadeIfWaitedTooLong(now: Double?) {
        guard fade == nil else { return }
        let waiting: (weights: [Tensor], record: ModelSwitch, streamSeconds: Double?)? = lock.withLock {
            guard let ready, let since = ready.streamSeconds, let now, now - since >= options.maxSwitchDelay else { return nil }
            defer { self.ready = nil }
            return ready
        }
        guard let waiting else { return }
        incoming.restore(waiting.weights)
        fade = (waiting.record, waiting.weights, 0)
    }

    private func infer(_ image: RGBImage) -> RGBImage {
        let input = Tensor(shape: [1, 3, image.height, image.width], values: image.pixels)
        if options.favourAdaptation && lock.withLock({ running }) {
            yieldToAdaptation()
            return Parallel.serially { upscale(input, width: image.width, height: image.height) }
        }
        return upscale(input, width: image.width, height: image.height)
    }

    /// Lowers the upscaling thread's priority, once per thread (by kernel thread id: a lowered priority
    /// cannot be raised back, so lowering twice would stack).
    private func yieldToAdaptation() {
        #if canImport(Glibc)
        let thread = onsr_thread_id()
        guard thread != yieldedThread else { return }
        yieldedThread = thread
        _ = onsr_lower_thread_priority(5)
        #endif
    }

    private func upscale(_ input: Tensor, width: Int, height: Int) -> RGBImage {
        var pixels = currentTiles(input).values
        if var active = fade {
            active.done += 1
            let alpha = Float(active.done) / Float(options.crossFadeFrames)
            let next = incomingTiles(input).values
            for i in 0..<pixels.count { pixels[i] += alpha * (next[i] - pixels[i]) }
            if active.done >= options.crossFadeFrames {
                current.restore(active.weights)
                var record = active.record
                record.tookOverAtFrame = index
                record.how = "cross-fade"
                switches.append(record)
                fade = nil
            } else {
                fade = active
            }
        }
        return RGBImage(clamping: pixels, width: width * scale, height: height * scale)
    }

    // MARK: Background adaptation

    private func startAdaptation() {
        let startFrame = index, sceneIndex = scenes.count - 1
        // Two-phase fits Gd through the pretrained Gr and adapts Gr from it.
        trainee.restore(pretrained)
        let startGeneration = lock.withLock { () -> Int in
            running = true
            return sceneGeneration
        }
        finishedThread.enter()
        let source = self.source
        let thread = Thread { [self] in
            let watch = Stopwatch()
            var settings = adaptation
            settings.steps = options.steps
            let (previous, previousEstimate) = lock.withLock { (self.previous, self.lastEstimate) }
            let ended = { self.lock.withLock { self.streamEnded } }
            // Frames keep flowing meanwhile; the adaptation starts once its scene's first frames are in (or the
            // scene ended sooner) and keeps to them.
            var timed: [TimedFrame] = []
            while !ended() {
                let (available, generation) = lock.withLock { (sceneFrames, sceneGeneration) }
                if generation == startGeneration { timed = available }
                if timed.count < options.sampleFrames && generation == startGeneration { usleep(5_000); continue }
                break
            }
            let frames = timed.map(\.image)
            let estimate = frames.isEmpty ? nil : BlurEstimation.estimate(frames: frames, scale: scale,
                                                                                   subsampledChroma: source?.hasSubsampledChroma ?? false)
            let coded = SceneSetup.isCoded(source)
            var reproduced: (profile: CompressionProfile, compressor: PatchCompressor)?
            do {
                reproduced = try SceneSetup.compression(codecAware: options.codecAware, source: source, frames: timed,
                                                        scene: sceneIndex, seed: adaptation.seed)
            } catch {
                lock.withLock { warnings.append("scene at frame \(startFrame): \(error); its adaptation runs blur-only") }
            }
            // A fresh adapter (no Gd to continue) is set up from this scene's reading, as in file mode.
            var freshStrategy: TwoPhase?
            let makeAdapter = { (gd: DegradationNet?, dl: Discriminator?) -> OnlineAdapter in
                var strategy = TwoPhase()
                if gd == nil {
                    strategy = SceneSetup.freshStrategy(estimate: estimate, inputIsCoded: coded)
                    freshStrategy = strategy
                }
                let adapter = OnlineAdapter(gr: self.trainee, external: self.external.images, options: settings, strategy: strategy, gd: gd, dl: dl)
                adapter.compression = reproduced?.compressor
                return adapter
            }
            var adapter: OnlineAdapter?, record: AdaptationRecord?, complete = false
            if !frames.isEmpty, let previous {
                // The same decision as file mode: keep the previous models, or adapt in full.
                let estimates = options.blurEstimateWitness ? previousEstimate.flatMap { before in estimate.map { (before, $0) } } : nil
                let outcome = SceneCutPolicy(steps: options.steps, refitTolerance: options.refitTolerance)
                    .decide(frames: frames, index: startFrame, gr: trainee, pretrained: pretrained, previous: previous,
                            estimates: estimates, makeAdapter: makeAdapter, shouldStop: ended)
                adapter = outcome.adapter
                // Kept models need no switch: the running model is the previous scene's.
                complete = outcome.completed && outcome.record.kind == .full
                if outcome.completed {
                    record = outcome.record
                    record?.seconds = watch.seconds
                }
            } else if !frames.isEmpty {
                let fresh = makeAdapter(nil, nil)
                trainee.setTrainable(true)
                let before = fresh.holdAside(frames: frames)
                var after = before, steps = 0
                while steps < options.steps && !ended() {
                    after = fresh.adapt(frames: frames, steps: 1).last?.heldAsideInternalLoss ?? after
                    steps += 1
                }
                trainee.setTrainable(false)
                adapter = fresh
                complete = steps == options.steps
                if complete {
                    record = AdaptationRecord(kind: .full, frame: startFrame, steps: steps,
                                              internalLossBefore: before, internalLossAfter: after, seconds: watch.seconds)
                }
            }
            if let adapter, adapter.compressionFailures > 0 {
                lock.withLock {
                    warnings.append("scene at frame \(startFrame): \(adapter.compressionFailures) of \(options.steps) external-branch steps "
                                    + "could not reproduce the input's compression and ran blur-only")
                }
            }
            let weights = trainee.snapshot()
            lock.withLock {
                if let record {
                    finishedAdaptations.append(FinishedAdaptation(scene: sceneIndex, record: record, compression: reproduced?.profile,
                                                                  blurEstimate: estimate, kernelShape: freshStrategy?.kernelShape))
                }
                backgroundSeconds += watch.seconds
                if let adapter { self.previous = adapter }
                if freshStrategy != nil { lastEstimate = estimate }
                if complete, let record {
                    let change = ModelSwitch(adaptationStartFrame: startFrame, adaptationReadyFrame: latestIndex, tookOverAtFrame: -1,
                                             how: "", steps: record.steps, adaptationSeconds: watch.seconds,
                                             internalLossBefore: record.internalLossBefore, internalLossAfter: record.internalLossAfter)
                    ready = (weights, change, latestSeconds)
                }
                running = false
            }
            finishedThread.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
