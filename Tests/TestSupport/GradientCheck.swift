import Engine
import XCTest

/// Central finite differences against analytic gradients. The loss is a fixed random projection of the
/// output, L = sum(r * y), so the analytic input to every backward pass is simply r.
public enum GradientCheck {
    public static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = SeededRandom(seed: seed)
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = scale * (2 * rng.uniform() - 1) }
        return t
    }

    /// A projection onto a few output samples: a loss of few terms has little roundoff, so whole networks
    /// can be checked with small steps.
    public static func sparse(_ shape: [Int], seed: UInt64, nonzero: Int = 6) -> Tensor {
        var rng = SeededRandom(seed: seed)
        let t = Tensor(shape: shape)
        for _ in 0..<nonzero { t[rng.index(t.count)] = 2 * rng.uniform() - 1 }
        return t
    }

    public static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.count == b.count)
        var total = 0.0
        for i in 0..<a.count { total += Double(a[i]) * Double(b[i]) }
        return total
    }

    /// Compares `analytic` (d L / d values) with finite differences of `loss` at up to `samples` positions.
    /// `required` is the share of positions that must agree: 1 for smooth operations; networks with LeakyReLU
    /// use less, because a perturbation that pushes some activation across 0 changes the slope there (a
    /// wrong backward pass shifts nearly every position, a crossed kink only a few).
    public static func assertMatches(values: Tensor, analytic: Tensor, samples: Int = 24, epsilon: Float = 1e-3,
                              tolerance: Double = 2e-2, required: Double = 1, _ label: String, loss: () -> Double,
                              file: StaticString = #filePath, line: UInt = #line) {
        var failures: [String] = []
        var rng = SeededRandom(seed: 99)
        let positions = values.count <= samples ? Array(0..<values.count) : (0..<samples).map { _ in rng.index(values.count) }
        for i in positions {
            let original = values[i]
            values[i] = original + epsilon
            let plus = loss()
            values[i] = original - epsilon
            let minus = loss()
            values[i] = original
            let numeric = (plus - minus) / (2 * Double(epsilon))
            let exact = Double(analytic[i])
            let scale = max(1e-2, abs(numeric), abs(exact))
            if abs(numeric - exact) / scale > tolerance { failures.append("[\(i)] numeric \(numeric) vs analytic \(exact)") }
        }
        let agreeing = Double(positions.count - failures.count) / Double(positions.count)
        XCTAssertGreaterThanOrEqual(agreeing, required, "\(label): \(failures.joined(separator: ", "))", file: file, line: line)
    }
}
