import Decode
import Engine
import Foundation
import ONSR
import Pipeline

/// A study of issue 20's "estimate through a non-blind Gr": a kernel-conditioned Gr is told the blur estimator's
/// reading scaled in size, and each told size is scored by how well the restored picture, blurred by that same
/// kernel and subsampled, gives back the input, L1 of y − (k ⊗ Gr(y; k))↓s: the internal loss of Algorithm 1 with
/// Gd fixed to the told kernel. If that consistency is lowest near the size that restores best, it can choose the
/// size where the estimator's reading misses (docs/onsr-study.md, "The told size chosen by the internal loss").
public enum ConsistencyScan {
    /// One case's scan: per log-size offset, the consistency and the Y-PSNR of the conditioned output.
    public struct Result: Codable, Sendable {
        public var name: String
        public var offsets: [Double]
        public var consistency: [Double]
        public var psnr: [Double]
        /// The estimator's reading and the true kernel's sampled trace (HR pixels²; nil for bicubic degradations).
        public var readTrace: Double
        public var trueTrace: Double?

        /// The offset whose consistency is lowest.
        public var chosen: Int { consistency.indices.min { consistency[$0] < consistency[$1] }! }
        /// The offset that restores best (an oracle).
        public var best: Int { psnr.indices.max { psnr[$0] < psnr[$1] }! }
    }

    /// `reading` gives each case's blur estimate; `offsets` are added to its log covariance (both eigenvalues scaled
    /// by exp(offset), the shape kept). The consistency is the mean absolute error over all three planes with a border
    /// of `border` LR pixels left out, where the reflected borders of the blur differ from the true degradation's.
    public static func run(_ benchmark: Benchmark, upscaler: PretrainedUpscaler, offsets: [Double], border: Int = 6,
                           reading: (Benchmark.Case) -> BlurEstimate?) throws -> [Result] {
        precondition(upscaler.network.configuration.conditions > 0, "ConsistencyScan: the Gr must be kernel-conditioned")
        let scale = benchmark.scale
        return try benchmark.cases.compactMap { item -> Result? in
            guard let estimate = reading(item) else { return nil }
            var consistency: [Double] = [], psnr: [Double] = []
            for offset in offsets {
                let factor = exp(offset)
                let c = estimate.covariance
                let told = BlurEstimate(covariance: (c.yy * factor, c.yx * factor, c.xx * factor), noBlurProbability: estimate.noBlurProbability)
                upscaler.network.condition = BlurEstimation.condition(told, scale: scale)
                let (h, w) = (item.lr.height, item.lr.width)
                let output = try upscaler.upscale(item.lr)
                let again = Degrade.blurSubsample(output.pixels, channels: 3, height: h * scale, width: w * scale,
                                                  kernel: told.kernel(scale: scale), scale: scale)
                consistency.append(meanAbsoluteError(again, item.lr.pixels, height: h, width: w, border: border))
                psnr.append(Quality.psnrY(output.pixels, item.hr.pixels, height: item.hr.height, width: item.hr.width, shave: scale))
            }
            return Result(name: item.name, offsets: offsets, consistency: consistency, psnr: psnr,
                          readTrace: estimate.sampledTrace(scale: scale),
                          trueTrace: item.kernel.map { let s = KernelComparison.covariance($0); return s.yy + s.xx })
        }
    }

    /// Mean |a − b| over every plane of height x width in `a` and `b`, `border` pixels left out on every side.
    public static func meanAbsoluteError(_ a: [Float], _ b: [Float], height: Int, width: Int, border: Int) -> Double {
        precondition(a.count == b.count && a.count % (height * width) == 0, "meanAbsoluteError: shapes differ")
        precondition(height > 2 * border && width > 2 * border, "meanAbsoluteError: the border leaves nothing")
        var sum = 0.0, count = 0
        for plane in 0..<(a.count / (height * width)) {
            for y in border..<(height - border) {
                let row = plane * height * width + y * width
                for x in border..<(width - border) { sum += Double(abs(a[row + x] - b[row + x])); count += 1 }
            }
        }
        return sum / Double(count)
    }

    /// The scan as a Markdown table: per case the read and true sizes, the offset the consistency chooses, the best
    /// one, and what choosing costs or gains against offset 0; then the mean gain of the chosen and the best offsets.
    public static func markdown(_ results: [Result]) -> String {
        guard let offsets = results.first?.offsets, let zero = offsets.firstIndex(of: 0) else { return "(no cases, or no offset 0)\n" }
        var text = "| case | read trace | true trace | chosen offset | best offset | chosen − 0 (dB) | best − 0 (dB) |\n| --- | --- | --- | --- | --- | --- | --- |\n"
        var gain = 0.0, oracle = 0.0
        for r in results {
            let (c, b) = (r.chosen, r.best)
            gain += r.psnr[c] - r.psnr[zero]; oracle += r.psnr[b] - r.psnr[zero]
            text += String(format: "| %@ | %.2f | %@ | %+.2f | %+.2f | %+.3f | %+.3f |\n", r.name, r.readTrace,
                           r.trueTrace.map { String(format: "%.2f", $0) } ?? "-", offsets[c], offsets[b],
                           r.psnr[c] - r.psnr[zero], r.psnr[b] - r.psnr[zero])
        }
        let n = Double(results.count)
        text += String(format: "\nmean over %d cases: chosen %+.3f dB, best %+.3f dB against offset 0\n", results.count, gain / n, oracle / n)
        return text
    }
}
