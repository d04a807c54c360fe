import Engine
import Foundation

/// Reads the blur's covariance off the LR input's power spectrum, without any network: a signal for the kernel's
/// direction that does not go through the blind Gr (which restores every direction alike, so that Gd fitted
/// through it comes out nearly round; docs/onsr-study.md).
///
/// Model: a natural image has a power spectrum A(φ)·|ω|^−α whose direction-dependent part A(φ) (content: a
/// building's verticals) does not change with the radius, while a Gaussian blur of covariance Σ multiplies it by
/// exp(−ωᵀΣω), a curvature in the radius that grows along the blur's long axis. So, with Welch's averaged
/// periodogram of the luma (32 x 32 Hann-windowed tiles, half overlap), one least-squares fit of
///   log P(ω) = a(bin of φ) − α·log|ω| − ωᵀΣω
/// over mid and high frequencies (0.25π to 0.95π) gives Σ in LR pixels², and s²·Σ in HR pixels². Measured on
/// training-set crops (docs/onsr-study.md): the long axis within 5° (median) for kernels elongated 1.5 or more,
/// and λ1 − λ2 with correlation 0.72; the total size is unreliable (aliasing), so it comes from Gd. Where the
/// content is strongly oriented the fit can follow it instead: `Estimate.agreement` measures that.
public enum SpectralBlur {
    static let tile = 32
    static let angleBins = 12
    /// Tiles averaged at most: the estimate settles long before, and the cost stays a fraction of a second.
    static let maxTiles = 512

    /// What the spectrum says about the blur.
    public struct Estimate: Sendable {
        /// The blur's covariance in HR pixels² (yy, yx, xx).
        public let covariance: (yy: Double, yx: Double, xx: Double)
        /// How far the four quadrants of the input agree on the long axis: the length of the mean of their
        /// unit doubled-angle vectors, 1 when they all point alike, about 0.45 for random directions. A blur is
        /// the same everywhere, content is not: a low agreement says the full-image fit follows the content.
        public let agreement: Double
    }

    /// The blur covariance (HR pixels²: yy, yx, xx) of luma planes (each `height` x `width`, row-major) that were
    /// blurred and subsampled by `scale`; nil when the planes hold no 32 x 32 tile or the fit is singular.
    public static func covariance(luma planes: [(values: [Float], height: Int, width: Int)], scale: Int) -> (yy: Double, yx: Double, xx: Double)? {
        guard let (total, _) = periodograms(planes), let sigma = fitCurvature(total) else { return nil }
        return scaled(sigma, scale)
    }

    /// The covariance and the quadrants' agreement on its direction; nil when any quadrant of the input lacks
    /// a tile or a fit.
    public static func estimate(luma planes: [(values: [Float], height: Int, width: Int)], scale: Int) -> Estimate? {
        guard let (total, quadrants) = periodograms(planes), let sigma = fitCurvature(total) else { return nil }
        var sum = (0.0, 0.0)
        for quadrant in quadrants {
            guard let q = quadrant.flatMap(fitCurvature) else { return nil }
            // The anisotropic part ((xx − yy) / 2, yx) points along twice the long axis' angle.
            let (u, v) = ((q.xx - q.yy) / 2, q.yx)
            let length = (u * u + v * v).squareRoot()
            if length > 0 { sum.0 += u / length; sum.1 += v / length }
        }
        let agreement = (sum.0 * sum.0 + sum.1 * sum.1).squareRoot() / Double(quadrants.count)
        return Estimate(covariance: scaled(sigma, scale), agreement: agreement)
    }

    static func scaled(_ sigma: (yy: Double, yx: Double, xx: Double), _ scale: Int) -> (yy: Double, yx: Double, xx: Double) {
        let s2 = Double(scale * scale)
        return (sigma.yy * s2, sigma.yx * s2, sigma.xx * s2)
    }

    /// Mean |DFT|² of the windowed, mean-removed tiles (row-major, frequency index k ↔ 2πk/32, unshifted): of
    /// all tiles, and of the tiles of each quadrant of the planes (nil for a quadrant without one).
    static func periodograms(_ planes: [(values: [Float], height: Int, width: Int)]) -> (total: [Double], quadrants: [[Double]?])? {
        let t = tile
        var origins: [(plane: Int, y: Int, x: Int, quadrant: Int)] = []
        for (index, plane) in planes.enumerated() where plane.height >= t && plane.width >= t {
            for y in stride(from: 0, through: plane.height - t, by: t / 2) {
                for x in stride(from: 0, through: plane.width - t, by: t / 2) {
                    let quadrant = (2 * (y + t / 2) >= plane.height ? 2 : 0) + (2 * (x + t / 2) >= plane.width ? 1 : 0)
                    origins.append((index, y, x, quadrant))
                }
            }
        }
        guard !origins.isEmpty else { return nil }
        if origins.count > maxTiles {
            let step = Double(origins.count) / Double(maxTiles)
            origins = (0..<maxTiles).map { origins[Int(Double($0) * step)] }
        }
        // numpy.hanning(32): 0.5 − 0.5 cos(2πn / 31).
        let window = (0..<t).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(t - 1)) }
        let cosines = (0..<(t * t)).map { cos(2 * Double.pi * Double(($0 / t) * ($0 % t)) / Double(t)) }
        let sines = (0..<(t * t)).map { sin(2 * Double.pi * Double(($0 / t) * ($0 % t)) / Double(t)) }
        var sums = [[Double]](repeating: [Double](repeating: 0, count: t * t), count: 4)
        var counts = [0, 0, 0, 0]
        var tileValues = [Double](repeating: 0, count: t * t)
        var rowCos = tileValues, rowSin = tileValues
        for origin in origins {
            let plane = planes[origin.plane]
            var mean = 0.0
            for y in 0..<t { for x in 0..<t {
                let v = Double(plane.values[(origin.y + y) * plane.width + origin.x + x])
                tileValues[y * t + x] = v; mean += v
            } }
            mean /= Double(t * t)
            for y in 0..<t { for x in 0..<t { tileValues[y * t + x] = (tileValues[y * t + x] - mean) * window[y] * window[x] } }
            // Along rows: R[y][v] = Σx t[y][x] (cos − i sin)(2π v x / 32).
            for y in 0..<t { for v in 0..<t {
                var (c, s) = (0.0, 0.0)
                for x in 0..<t { c += tileValues[y * t + x] * cosines[v * t + x]; s += tileValues[y * t + x] * sines[v * t + x] }
                rowCos[y * t + v] = c; rowSin[y * t + v] = s
            } }
            // Down columns: X[u][v] = Σy (C − i S)[y][v] (cos − i sin)(2π u y / 32).
            counts[origin.quadrant] += 1
            for u in 0..<t { for v in 0..<t {
                var (re, im) = (0.0, 0.0)
                for y in 0..<t {
                    let (cu, su) = (cosines[u * t + y], sines[u * t + y])
                    re += rowCos[y * t + v] * cu - rowSin[y * t + v] * su
                    im -= rowCos[y * t + v] * su + rowSin[y * t + v] * cu
                }
                sums[origin.quadrant][u * t + v] += re * re + im * im
            } }
        }
        var total = [Double](repeating: 0, count: t * t)
        for q in 0..<4 { for i in 0..<(t * t) { total[i] += sums[q][i] } }
        let quadrants = (0..<4).map { q in counts[q] > 0 ? sums[q].map { $0 / Double(counts[q]) } : nil }
        return (total.map { $0 / Double(origins.count) }, quadrants)
    }

    /// The least-squares fit of the model above on a periodogram; Σ in the periodogram's own (LR) pixels.
    static func fitCurvature(_ power: [Double]) -> (yy: Double, yx: Double, xx: Double)? {
        let t = tile, bins = angleBins
        let unknowns = bins + 4
        var normal = [Double](repeating: 0, count: unknowns * unknowns)
        var rhs = [Double](repeating: 0, count: unknowns)
        func frequency(_ k: Int) -> Double { 2 * Double.pi * Double(k < t / 2 ? k : k - t) / Double(t) }
        for u in 0..<t {
            for v in 0..<t {
                let (fy, fx) = (frequency(u), frequency(v))
                let r = (fy * fy + fx * fx).squareRoot()
                guard r > 0.25 * Double.pi && r < 0.95 * Double.pi else { continue }
                var phi = atan2(fy, fx)
                if phi < 0 { phi += Double.pi }
                if phi >= Double.pi { phi -= Double.pi }
                let bin = min(Int(phi / Double.pi * Double(bins)), bins - 1)
                var row = [Double](repeating: 0, count: unknowns)
                row[bin] = 1
                row[bins] = log(r)
                row[bins + 1] = -fx * fx
                row[bins + 2] = -2 * fx * fy
                row[bins + 3] = -fy * fy
                let target = log(power[u * t + v] + 1e-12)
                for i in 0..<unknowns {
                    rhs[i] += row[i] * target
                    for j in 0..<unknowns { normal[i * unknowns + j] += row[i] * row[j] }
                }
            }
        }
        guard let solution = solve(normal, rhs, size: unknowns) else { return nil }
        let (xx, xy, yy) = (solution[bins + 1], solution[bins + 2], solution[bins + 3])
        return (yy, xy, xx)
    }

    /// Gaussian elimination with partial pivoting; nil when singular.
    static func solve(_ matrix: [Double], _ vector: [Double], size n: Int) -> [Double]? {
        var a = matrix, b = vector
        for column in 0..<n {
            let pivot = (column..<n).max { abs(a[$0 * n + column]) < abs(a[$1 * n + column]) }!
            guard abs(a[pivot * n + column]) > 1e-12 else { return nil }
            if pivot != column {
                for j in 0..<n { a.swapAt(pivot * n + j, column * n + j) }
                b.swapAt(pivot, column)
            }
            for row in (column + 1)..<n {
                let factor = a[row * n + column] / a[column * n + column]
                guard factor != 0 else { continue }
                for j in column..<n { a[row * n + j] -= factor * a[column * n + j] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for j in (row + 1)..<n { sum -= a[row * n + j] * x[j] }
            x[row] = sum / a[row * n + row]
        }
        return x
    }

    /// How much of the spectrum's elongation to trust at a quadrant agreement: none up to 0.6, all from 0.9,
    /// linear between. Chosen on training-set crops (docs/onsr-study.md): every kernel elongated 1.8 or more
    /// had agreement 0.73 or more, and the crop whose full-image fit followed its content (53° off) 0.56.
    public static func confidence(agreement: Double) -> Double { min(1, max(0, (agreement - 0.6) / 0.3)) }

    /// A Gaussian blur given by its covariance's eigenvalues (HR pixels²) and the long axis's angle θ (x, y order,
    /// as `BlurKernel.gaussian` takes it).
    public struct Shape: Equatable, Sendable {
        public let lambda1: Double, lambda2: Double, theta: Double
        /// The sampled kernel at `scale` with the covariance multiplied by `factor`.
        public func kernel(scale: Int, factor: Double = 1) -> BlurKernel {
            var unused = SeededRandom(seed: 0)
            return BlurKernel.gaussian(scale: scale, lambda1: lambda1 * factor, lambda2: lambda2 * factor, theta: theta, rng: &unused)
        }
    }

    /// A Gaussian with total variance `trace` (HR pixels², e.g. Gd's fitted size) whose long axis and eigenvalue
    /// difference come from `spectral` (`covariance(luma:scale:)`), the difference multiplied by `confidence`. The
    /// difference may be at most `maxElongationShare` of the trace, so that the short axis keeps a tenth of it:
    /// beyond that, `raiseSize` keeps the difference and raises the trace to fit it (a blur that elongated cannot
    /// be that small), else the difference is cut down to the share.
    public static func shape(trace: Double, spectral: (yy: Double, yx: Double, xx: Double),
                             confidence: Double = 1, maxElongationShare: Double = 0.8, raiseSize: Bool = false) -> Shape {
        // Eigen-decomposition of [[xx, yx], [yx, yy]] in (x, y) order, as BlurKernel.gaussian's θ is.
        let (a, b, d) = (spectral.xx, spectral.yx, spectral.yy)
        let (major, minor) = KernelComparison.eigenvalues(spectral)
        let wanted = max((major - minor) * confidence, 0)
        let trace = raiseSize ? max(trace, wanted / maxElongationShare) : trace
        let difference = min(wanted, maxElongationShare * trace)
        return Shape(lambda1: (trace + difference) / 2, lambda2: (trace - difference) / 2, theta: 0.5 * atan2(2 * b, a - d))
    }

    /// `shape(...)`'s kernel, sampled at `scale`.
    public static func shapedKernel(trace: Double, spectral: (yy: Double, yx: Double, xx: Double), scale: Int,
                                    confidence: Double = 1, maxElongationShare: Double = 0.8, raiseSize: Bool = false) -> BlurKernel {
        shape(trace: trace, spectral: spectral, confidence: confidence, maxElongationShare: maxElongationShare,
              raiseSize: raiseSize).kernel(scale: scale)
    }
}
