import Engine
import Foundation

/// Whether a new scene still has the previous scene's degradation, read from the internal loss (two-phase).
///
/// A fresh Gaussian Gd is a poor reference: after one adaptation the learned Gd explains almost any new
/// footage better than the initial guess, so comparing the two sent every scene to the short path. Instead
/// the previous Gd is refitted to the new scene's frames for a few Gd-only steps through the pretrained Gr
/// (cheap: Gr is not trained in that phase, and those steps are the start of a full adaptation anyway). When
/// the refit lowers the held-aside L_IB by less than `1 - tolerance`, the old degradation still explains the
/// scene and its adapted Gr is kept; otherwise the adaptation goes on to its full step budget.
public struct DegradationCheck: Sendable {
    /// Gd-only refit steps before the decision.
    public let probeSteps: Int
    /// A refit that ends above `tolerance` x the starting loss counts as "unchanged".
    public let tolerance: Float

    /// `steps` is the full adaptation budget; the probe, a quarter of it, stays inside two-phase's Gd phase (half).
    public init(steps: Int, tolerance: Float) {
        probeSteps = max(1, steps / 4)
        self.tolerance = tolerance
    }

    /// True when the refit barely improved on the old Gd: the degradation did not change.
    public func unchanged(before: Float, afterRefit: Float) -> Bool {
        guard before.isFinite, afterRefit.isFinite else { return false }
        return afterRefit >= before * tolerance
    }
}

/// What a `DegradationCheck` probe measured, for reports.
public struct DegradationProbe: Codable, Sendable {
    public var steps: Int
    /// Held-aside L_IB of the previous Gd through the pretrained Gr, and after the refit.
    public var internalLossBefore: Float
    public var internalLossAfter: Float
    /// Normalised cross-correlation of the previous Gd's kernel and the refitted one.
    public var kernelSimilarity: Double?
    /// NCC of the blur estimator's kernels for the previous scene and this one, where both were read.
    public var estimateSimilarity: Double? = nil
    public var unchanged: Bool

    public init(steps: Int, internalLossBefore: Float, internalLossAfter: Float, kernelSimilarity: Double?, unchanged: Bool) {
        self.steps = steps
        self.internalLossBefore = internalLossBefore
        self.internalLossAfter = internalLossAfter
        self.kernelSimilarity = kernelSimilarity
        self.unchanged = unchanged
    }
}
