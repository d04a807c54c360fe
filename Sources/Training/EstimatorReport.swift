import Decode
import Engine
import Foundation
import ONSR

/// How close the blur estimator comes to the true kernels of a benchmark: the measure of issue 20's
/// estimator, on held-out photos and on training-set crops alike, so that overfitting would show.
public struct EstimatorReport: Codable, Sendable {
    /// Per photo: name, NCC of the estimated kernel with the true one (nil for bicubic cases), the true and the
    /// estimated total variance (HR pixels², of the kernels as sampled), and the no-blur probability.
    public struct Item: Codable, Sendable {
        public let name: String
        public let ncc: Double?
        public let trueTrace: Double?
        public let estimatedTrace: Double
        public let noBlurProbability: Double
        /// The smaller eigenvalue of the true and of the estimated sampled covariance (HR pixels²): how narrow the
        /// kernel is across its direction, which a model trained on a range of eigenvalues has to cover as well.
        public var trueMinorVariance: Double? = nil
        public var estimatedMinorVariance: Double? = nil
    }

    public let items: [Item]

    /// Runs `estimator` on every case's LR image.
    public init(_ benchmark: Benchmark, estimator: KernelEstimator) {
        self.init(benchmark) { estimator.estimate(frames: [$0.lr]) }
    }

    /// Scores `read`'s estimate of every case (e.g. the estimator's reading corrected by `KernelCorrector`).
    public init(_ benchmark: Benchmark, read: (Benchmark.Case) -> BlurEstimate?) {
        items = benchmark.cases.map { item in
            guard let estimate = read(item) else {
                return Item(name: item.name, ncc: nil, trueTrace: nil, estimatedTrace: .nan, noBlurProbability: .nan)
            }
            let kernel = estimate.kernel(scale: benchmark.scale)
            let sampled = KernelComparison.covariance(kernel)
            let (estimatedTrace, estimatedMinor) = (sampled.yy + sampled.xx, KernelComparison.minorEigenvalue(sampled))
            guard let truth = item.kernel else {
                return Item(name: item.name, ncc: nil, trueTrace: nil, estimatedTrace: estimatedTrace,
                            noBlurProbability: estimate.noBlurProbability, estimatedMinorVariance: estimatedMinor)
            }
            let t = KernelComparison.covariance(truth)
            return Item(name: item.name, ncc: KernelComparison.ncc(kernel.taps, size: kernel.size, truth.taps, size: truth.size),
                        trueTrace: t.yy + t.xx, estimatedTrace: estimatedTrace, noBlurProbability: estimate.noBlurProbability,
                        trueMinorVariance: KernelComparison.minorEigenvalue(t), estimatedMinorVariance: estimatedMinor)
        }
    }

    /// Mean NCC over the blurred cases.
    public var meanNCC: Double? { Self.mean(items.compactMap(\.ncc)) }
    /// Mean |estimated / true − 1| of the total variance over the blurred cases.
    public var meanSizeError: Double? {
        Self.mean(items.compactMap { item in item.trueTrace.map { abs(item.estimatedTrace / $0 - 1) } })
    }
    /// Share of cases the estimator calls "no extra blur" (`BlurEstimate.isNoBlur`).
    public var noBlurShare: Double {
        Double(items.filter { BlurEstimate.callsNoBlur($0.noBlurProbability) }.count) / Double(max(items.count, 1))
    }

    static func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }

    /// A Markdown table, one row per photo and a summary row.
    public func markdown(title: String) -> String {
        func f(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        var lines = ["### \(title)", "", "| photo | kernel NCC | true size (tr Σ) | estimated size | size error | P(no blur) |",
                     "| --- | --- | --- | --- | --- | --- |"]
        for item in items {
            let error = item.trueTrace.map { item.estimatedTrace / $0 - 1 }
            lines.append("| \(item.name) | \(f(item.ncc, "%.3f")) | \(f(item.trueTrace, "%.2f")) | \(f(item.estimatedTrace, "%.2f")) | "
                         + "\(f(error.map { $0 * 100 }, "%+.0f%%")) | \(f(item.noBlurProbability, "%.2f")) |")
        }
        lines.append("| **mean** | \(f(meanNCC, "%.3f")) | | | \(f(meanSizeError.map { $0 * 100 }, "%.0f%%")) (absolute) | "
                     + "\(String(format: "%.0f%%", noBlurShare * 100)) called no-blur |")
        return lines.joined(separator: "\n")
    }
}
