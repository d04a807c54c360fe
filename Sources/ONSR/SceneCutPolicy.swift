import Decode
import Engine
import Foundation

/// What happens at a scene cut, for both schedulers: `SceneScheduler` runs it at
/// the cut, `LiveScheduler` on its background thread while frames flow.
///
/// The previous scene's Gd is refitted to the new scene's frames through the pretrained Gr for a quarter of
/// the steps (`DegradationCheck`). When the refit barely lowers the held-aside internal loss, the degradation
/// is unchanged: the previous scene's Gr and Gd are kept exactly (the probe only measured). Otherwise the scene
/// gets a full adaptation from the pretrained Gr and a fresh Gd, as if it were a video of its own (continuing
/// the refitted Gd measured the same within 0.04 dB on two changed-blur clips). The record carries the
/// probe's evidence: losses before and after the refit and the old and refitted kernels' similarity.
public struct SceneCutPolicy {
    public let steps: Int
    public let check: DegradationCheck

    /// `steps` is a full adaptation's budget; the probe takes a quarter of it.
    public init(steps: Int, refitTolerance: Float) {
        self.steps = steps
        check = DegradationCheck(steps: steps, tolerance: refitTolerance)
    }

    /// The decision and the adaptation it led to.
    public struct Outcome {
        /// `.warmShort` (the previous models kept) or `.full` (adapted anew), with the probe.
        public var record: AdaptationRecord
        /// The adapter whose Gd and Dl go on to the next cut.
        public var adapter: OnlineAdapter
        /// False when `shouldStop` ended it before the decision or before the full adaptation's last step.
        public var completed: Bool
    }

    /// Decides at the cut before frame `index` and adapts accordingly. `gr` holds the previous scene's weights
    /// on entry and the new scene's on return; `makeAdapter(gd, dl)` makes an adapter on `gr` (nil: fresh ones).
    /// Runs step by step, asking `shouldStop` before each.
    /// `estimates`: the blur estimator's readings of the previous scene and this one, where the caller has both;
    /// a changed reading decides "changed" whatever the probe says (it sees the blur itself, where the probe's
    /// L_IB goes through the blind Gr).
    public func decide(frames: [RGBImage], index: Int, gr: RRDBNet, pretrained: [Tensor], previous: OnlineAdapter,
                       estimates: (previous: BlurEstimate, current: BlurEstimate)? = nil,
                       makeAdapter: (DegradationNet?, Discriminator?) -> OnlineAdapter,
                       shouldStop: () -> Bool = { false }, progress: (AdaptationStep) -> Void = { _ in }) -> Outcome {
        let started = DispatchTime.now().uptimeNanoseconds
        let watch = { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let adaptedGr = gr.snapshot()
        gr.restore(pretrained)
        let oldGd = previous.gd.snapshot()
        // A fresh Adam: a continued one refitted further on new content alone and read the same blur as changed.
        let probe = makeAdapter(previous.gd, previous.dl)
        let before = probe.holdAside(frames: frames)
        let oldKernel = probe.gd.generationKernel()
        var refit = before
        for _ in 0..<check.probeSteps {
            if shouldStop() { return Outcome(record: record(.warmShort, index, 0, before, refit, watch), adapter: probe, completed: false) }
            // The last value, not the lowest: at Gd's rate L_IB jitters, and the lowest of the probe read the same
            // blur on new frames as changed.
            refit = probe.adapt(frames: frames, steps: 1, progress: progress).last?.heldAsideInternalLoss ?? refit
        }
        let reading = estimates.map { $0.current.differs(from: $0.previous, scale: gr.scale) }
        let unchanged = check.unchanged(before: before, afterRefit: refit) && !(reading?.differs ?? false)
        let refitKernel = probe.gd.generationKernel()
        var evidence = DegradationProbe(steps: check.probeSteps, internalLossBefore: before, internalLossAfter: refit,
                                        kernelSimilarity: KernelComparison.ncc(oldKernel.values, size: oldKernel.size,
                                                                               refitKernel.values, size: refitKernel.size),
                                        unchanged: unchanged)
        evidence.estimateSimilarity = reading?.similarity
        if unchanged {
            gr.restore(adaptedGr)
            probe.gd.restore(oldGd)
            var kept = record(.warmShort, index, check.probeSteps, before, refit, watch)
            kept.probe = evidence
            return Outcome(record: kept, adapter: probe, completed: true)
        }
        gr.restore(pretrained)
        let fresh = makeAdapter(nil, nil)
        let start = fresh.holdAside(frames: frames)
        var after = start, done = 0
        gr.setTrainable(true)
        defer { gr.setTrainable(false) }
        while done < steps && !shouldStop() {
            after = fresh.adapt(frames: frames, steps: 1, progress: progress).last?.heldAsideInternalLoss ?? after
            done += 1
        }
        var adapted = record(.full, index, done, start, after, watch)
        adapted.probe = evidence
        return Outcome(record: adapted, adapter: fresh, completed: done == steps)
    }

    private func record(_ kind: AdaptationRecord.Kind, _ index: Int, _ steps: Int, _ before: Float, _ after: Float,
                        _ watch: () -> Double) -> AdaptationRecord {
        AdaptationRecord(kind: kind, frame: index, steps: steps, internalLossBefore: before, internalLossAfter: after,
                         seconds: watch())
    }
}

/// What happened at one adaptation.
public struct AdaptationRecord: Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// From the pretrained Gr with a fresh Gd.
        case full
        /// The previous scene's Gr and Gd kept exactly, after a Gd-only probe of `steps` steps found the
        /// degradation unchanged (`DegradationCheck`).
        case warmShort = "warm-short"
        /// A returning shot: the cached model was reused, no steps.
        case cached
    }
    public var kind: Kind
    public var frame: Int
    public var steps: Int
    /// Held-aside L_IB before the first and after the last step.
    public var internalLossBefore: Float
    public var internalLossAfter: Float
    public var seconds: Double
    /// After a cut: the Gd-only probe that decided the kind.
    public var probe: DegradationProbe? = nil

    public init(kind: Kind, frame: Int, steps: Int, internalLossBefore: Float, internalLossAfter: Float, seconds: Double,
                probe: DegradationProbe? = nil) {
        self.kind = kind
        self.frame = frame
        self.steps = steps
        self.internalLossBefore = internalLossBefore
        self.internalLossAfter = internalLossAfter
        self.seconds = seconds
        self.probe = probe
    }
}
