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
/// and λ1 − λ2 with correlation 0.72; the total size is unreliable (aliasing), so it comes from Gd.
public enum SpectralBlur {
    static let tile = 32
    static let angleBins = 12
    /// Tiles averaged at most: the estimate settles long before, and the cost stays a fraction of a second.
    static let maxTiles = 512

    /// The blur covariance (HR pixels²: yy, yx, xx) of luma planes (each `height` x `width`, row-major) that were
    /// blurred and subsampled by `scale`; nil when the planes hold no 32 x 32 tile or the fit is singular.
    public static func covariance(luma planes: [(values: [Float], height: Int, width: Int)], scale: Int) -> (yy: Double, yx: Double, xx: Double)? {
        guard let power = averagedPeriodogram(planes) else { return nil }
        guard let sigma = fitCurvature(power) else { return nil }
        let s2 = Double(scale * scale)
        return (sigma.yy * s2, sigma.yx * s2, sigma.xx * s2)
    }

    /// Mean |DFT|² of the windowed, mean-removed tiles (row-major, frequency index k ↔ 2πk/32, unshifted).
    static func averagedPeriodogram(_ planes: [(values: [Float], height: Int, width: Int)]) -> [Double]? {
        let t = tile
        var origins: [(plane: Int, y: Int, x: Int)] = []
        for (index, plane) in planes.enumerated() where plane.height >= t && plane.width >= t {
            for y in stride(from: 0, through: plane.height - t, by: t / 2) {
                for x in stride(from: 0, through: plane.width - t, by: t / 2) { origins.append((index, y, x)) }
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
        var total = [Double](repeating: 0, count: t * t)
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
            for u in 0..<t { for v in 0..<t {
                var (re, im) = (0.0, 0.0)
                for y in 0..<t {
                    let (cu, su) = (cosines[u * t + y], sines[u * t + y])
                    re += rowCos[y * t + v] * cu - rowSin[y * t + v] * su
                    im -= rowCos[y * t + v] * su + rowSin[y * t + v] * cu
                }
                total[u * t + v] += re * re + im * im
            } }
        }
        return total.map { $0 / Double(origins.count) }
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

    /// A Gaussian kernel with total variance `trace` (HR pixels², e.g. Gd's fitted size) whose long axis and
    /// eigenvalue difference come from `spectral` (`covariance(luma:scale:)`); the difference is capped at
    /// `maxElongationShare` of the trace so that the short axis keeps a tenth of it.
    public static func shapedKernel(trace: Double, spectral: (yy: Double, yx: Double, xx: Double), scale: Int,
                                    maxElongationShare: Double = 0.8) -> BlurKernel {
        // Eigen-decomposition of [[xx, yx], [yx, yy]] in (x, y) order, as BlurKernel.gaussian's θ is.
        let (a, b, d) = (spectral.xx, spectral.yx, spectral.yy)
        let half = (((a - d) / 2) * ((a - d) / 2) + b * b).squareRoot()
        let difference = min(max(2 * half, 0), maxElongationShare * trace)
        let theta = 0.5 * atan2(2 * b, a - d)
        var unused = SeededRandom(seed: 0)
        return BlurKernel.gaussian(scale: scale, lambda1: (trace + difference) / 2, lambda2: (trace - difference) / 2,
                                   theta: theta, rng: &unused)
    }
}
