import Engine
import Foundation

/// A blur kernel: `size` x `size` taps, row-major, summing to 1.
public struct BlurKernel: Sendable, Equatable {
    public let size: Int
    public let taps: [Float]

    public init(size: Int, taps: [Float]) {
        precondition(taps.count == size * size, "kernel needs \(size * size) taps")
        self.size = size
        self.taps = taps
    }

    /// Kernel size used at a scale (11 at x2, 23 at x4, as in DIV2KRK).
    public static func size(scale: Int) -> Int { scale >= 4 ? 23 : 11 }

    /// An anisotropic Gaussian with covariance R(θ) diag(λ1, λ2) R(θ)ᵀ, its mean shifted by (s-1)/2 from the
    /// array centre so that LR pixel i sits on HR position s*i + (s-1)/2 (as bicubic imresize aligns),
    /// each tap multiplied by 1 + U(-noise, noise), then normalised.
    public static func gaussian(scale: Int, lambda1: Double, lambda2: Double, theta: Double, noise: Double = 0,
                                rng: inout SeededRandom) -> BlurKernel {
        let size = BlurKernel.size(scale: scale)
        let (c, s) = (cos(theta), sin(theta))
        // Σ = R diag(λ1, λ2) Rᵀ, inverted in closed form.
        let a = c * c * lambda1 + s * s * lambda2, b = c * s * (lambda1 - lambda2), d = s * s * lambda1 + c * c * lambda2
        let det = a * d - b * b
        let centre = Double(size / 2) + Double(scale - 1) / 2
        var taps = [Float](repeating: 0, count: size * size)
        for y in 0..<size {
            for x in 0..<size {
                let (dx, dy) = (Double(x) - centre, Double(y) - centre)
                let q = (d * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
                var value = exp(-0.5 * q)
                if noise > 0 { value *= 1 + rng.uniform(-noise, noise) }
                taps[y * size + x] = Float(value)
            }
        }
        let total = taps.reduce(0, +)
        return BlurKernel(size: size, taps: taps.map { $0 / total })
    }

    /// A random kernel from the blind range: eigenvalues uniform in `variances`, any angle; `isotropicShare`
    /// of kernels have equal eigenvalues.
    public static func random(scale: Int, variances: ClosedRange<Double>, noise: Double, isotropicShare: Double = 0,
                              rng: inout SeededRandom) -> BlurKernel {
        let lambda1 = rng.uniform(variances.lowerBound, variances.upperBound)
        let isotropic = rng.uniform(0, 1) < isotropicShare
        let lambda2 = isotropic ? lambda1 : rng.uniform(variances.lowerBound, variances.upperBound)
        let theta = rng.uniform(-Double.pi, Double.pi)
        return gaussian(scale: scale, lambda1: lambda1, lambda2: lambda2, theta: theta, noise: noise, rng: &rng)
    }
}

/// The degradations y = (k ⊗ x)↓s used to make training pairs and benchmarks, on planar images
/// (`channels` planes of height x width).
public enum Degrade {
    /// Correlates each plane with `kernel` and keeps pixels s*i (the kernel's own offset centres them on
    /// s*i + (s-1)/2). Borders are reflected. Output: channels x height/s x width/s.
    public static func blurSubsample(_ planes: [Float], channels: Int, height: Int, width: Int, kernel: BlurKernel, scale: Int) -> [Float] {
        let (oh, ow) = (height / scale, width / scale)
        let r = kernel.size / 2
        var output = [Float](repeating: 0, count: channels * oh * ow)
        planes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                for c in 0..<channels {
                    let plane = input.baseAddress! + c * height * width
                    for y in 0..<oh {
                        for x in 0..<ow {
                            var sum: Float = 0
                            for ky in 0..<kernel.size {
                                let sy = SharedKernel.reflectIndex(y * scale + ky - r, height)
                                let row = plane + sy * width
                                for kx in 0..<kernel.size {
                                    sum += kernel.taps[ky * kernel.size + kx] * row[SharedKernel.reflectIndex(x * scale + kx - r, width)]
                                }
                            }
                            out[(c * oh + y) * ow + x] = sum
                        }
                    }
                }
            }
        }
        return output
    }

    /// MATLAB `imresize(x, 1/s)` (antialiased bicubic).
    public static func bicubic(_ planes: [Float], channels: Int, height: Int, width: Int, scale: Int) -> [Float] {
        Resampler(inputWidth: width, inputHeight: height, outputWidth: width / scale, outputHeight: height / scale, kernel: .bicubic)
            .apply(planes, channels: channels)
    }
}

/// Image quality as SR papers report it: on the luma of MATLAB's `rgb2ycbcr` (BT.601, 16..235), with a
/// border of `shave` pixels removed, values clipped to [0, 1] and rounded to 8 bits first.
public enum Quality {
    static func luma(_ planes: [Float], height: Int, width: Int) -> [Double] {
        let n = height * width
        return (0..<n).map { i in
            let r = (Double(min(max(planes[i], 0), 1)) * 255).rounded() / 255
            let g = (Double(min(max(planes[n + i], 0), 1)) * 255).rounded() / 255
            let b = (Double(min(max(planes[2 * n + i], 0), 1)) * 255).rounded() / 255
            return 16 + 65.481 * r + 128.553 * g + 24.966 * b
        }
    }

    static func shaved(_ y: [Double], height: Int, width: Int, shave: Int) -> [Double] {
        var out: [Double] = []
        for row in shave..<(height - shave) { out += y[(row * width + shave)..<(row * width + width - shave)] }
        return out
    }

    /// Y-PSNR in dB between two RGB images (planar, 3 x height x width).
    public static func psnrY(_ a: [Float], _ b: [Float], height: Int, width: Int, shave: Int) -> Double {
        let ya = shaved(luma(a, height: height, width: width), height: height, width: width, shave: shave)
        let yb = shaved(luma(b, height: height, width: width), height: height, width: width, shave: shave)
        let mse = zip(ya, yb).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(ya.count)
        return mse == 0 ? 100 : 10 * log10(255 * 255 / mse)
    }

    /// SSIM on Y (Gaussian window 11, sigma 1.5, as in Wang et al. and the SR literature).
    public static func ssimY(_ a: [Float], _ b: [Float], height: Int, width: Int, shave: Int) -> Double {
        let (h, w) = (height - 2 * shave, width - 2 * shave)
        let ya = shaved(luma(a, height: height, width: width), height: height, width: width, shave: shave)
        let yb = shaved(luma(b, height: height, width: width), height: height, width: width, shave: shave)
        let window = (0..<11).map { exp(-Double(($0 - 5) * ($0 - 5)) / (2 * 1.5 * 1.5)) }
        let norm = window.reduce(0, +)
        let g = window.map { $0 / norm }
        // Separable 11x11 Gaussian over the valid region.
        func filter(_ image: [Double]) -> [Double] {
            let (vh, vw) = (h - 10, w - 10)
            var rows = [Double](repeating: 0, count: h * vw)
            for y in 0..<h {
                for x in 0..<vw {
                    var sum = 0.0
                    for k in 0..<11 { sum += g[k] * image[y * w + x + k] }
                    rows[y * vw + x] = sum
                }
            }
            var out = [Double](repeating: 0, count: vh * vw)
            for y in 0..<vh {
                for x in 0..<vw {
                    var sum = 0.0
                    for k in 0..<11 { sum += g[k] * rows[(y + k) * vw + x] }
                    out[y * vw + x] = sum
                }
            }
            return out
        }
        let (c1, c2) = (pow(0.01 * 255.0, 2.0), pow(0.03 * 255.0, 2.0))
        let ma = filter(ya), mb = filter(yb)
        let saa = filter(ya.map { $0 * $0 }), sbb = filter(yb.map { $0 * $0 }), sab = filter(zip(ya, yb).map { $0 * $1 })
        var total = 0.0
        for i in 0..<ma.count {
            let (va, vb, cov) = (saa[i] - ma[i] * ma[i], sbb[i] - mb[i] * mb[i], sab[i] - ma[i] * mb[i])
            total += ((2 * ma[i] * mb[i] + c1) * (2 * cov + c2)) / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (va + vb + c2))
        }
        return total / Double(ma.count)
    }
}

/// Compares blur kernels whatever their sizes and sub-pixel centring.
public enum KernelComparison {
    /// Centre of mass of a kernel of `Degrade.blurSubsample` relative to its array centre (size / 2), in HR
    /// pixels (y, x): where the kernel puts each LR pixel, against the nominal (s − 1) / 2 of `BlurKernel`.
    public static func centroidOffset(_ kernel: BlurKernel) -> (y: Double, x: Double) {
        let (cy, cx) = centreOfMass(kernel.taps, size: kernel.size)
        let c = Double(kernel.size / 2)
        return (cy - c, cx - c)
    }

    /// Centre of mass (row, column) of a `size` x `size` kernel, in array coordinates.
    static func centreOfMass(_ k: [Float], size: Int) -> (Double, Double) {
        var (sy, sx, total) = (0.0, 0.0, 0.0)
        for y in 0..<size { for x in 0..<size {
            let v = Double(k[y * size + x])
            sy += v * Double(y); sx += v * Double(x); total += v
        } }
        return (sy / total, sx / total)
    }

    /// The eigenvalues of a 2 x 2 covariance: the variances along a kernel's direction and across it.
    public static func eigenvalues(_ c: (yy: Double, yx: Double, xx: Double)) -> (major: Double, minor: Double) {
        let mean = (c.yy + c.xx) / 2, half = (((c.xx - c.yy) / 2) * ((c.xx - c.yy) / 2) + c.yx * c.yx).squareRoot()
        return (mean + half, mean - half)
    }

    /// The smaller eigenvalue of a 2 x 2 covariance: the variance across a kernel's direction.
    public static func minorEigenvalue(_ c: (yy: Double, yx: Double, xx: Double)) -> Double { eigenvalues(c).minor }

    /// Second moments (HR pixels²) of a kernel about its centre of mass: (σyy, σyx, σxx).
    public static func covariance(_ kernel: BlurKernel) -> (yy: Double, yx: Double, xx: Double) {
        let (cy, cx) = centroidOffset(kernel)
        let c = Double(kernel.size / 2)
        var (yy, yx, xx, total) = (0.0, 0.0, 0.0, 0.0)
        for y in 0..<kernel.size { for x in 0..<kernel.size {
            let v = Double(kernel.taps[y * kernel.size + x])
            let (dy, dx) = (Double(y) - c - cy, Double(x) - c - cx)
            yy += v * dy * dy; yx += v * dy * dx; xx += v * dx * dx; total += v
        } }
        return (yy / total, yx / total, xx / total)
    }

    /// Distance in HR pixels between the centres of mass of two `blurSubsample` kernels (each relative to its
    /// own array centre): the misalignment a reconstruction network fine-tuned on one learns against the other.
    public static func centroidDistance(_ a: BlurKernel, _ b: BlurKernel) -> Double {
        let (ca, cb) = (centroidOffset(a), centroidOffset(b))
        return ((ca.y - cb.y) * (ca.y - cb.y) + (ca.x - cb.x) * (ca.x - cb.x)).squareRoot()
    }

    /// Normalised cross-correlation of two kernels after aligning their centres of mass (bilinear resampling
    /// of both on a common integer grid of offsets around each centre): 1 for the same shape, lower for
    /// other widths, orientations or elongations.
    public static func ncc(_ a: [Float], size sizeA: Int, _ b: [Float], size sizeB: Int) -> Double {
        let radius = max(sizeA, sizeB) / 2 + 1
        func sample(_ k: [Float], _ size: Int, _ y: Double, _ x: Double) -> Double {
            let (y0, x0) = (Int(floor(y)), Int(floor(x)))
            let (fy, fx) = (y - Double(y0), x - Double(x0))
            func tap(_ yy: Int, _ xx: Int) -> Double {
                (yy < 0 || xx < 0 || yy >= size || xx >= size) ? 0 : Double(k[yy * size + xx])
            }
            return (1 - fy) * ((1 - fx) * tap(y0, x0) + fx * tap(y0, x0 + 1)) + fy * ((1 - fx) * tap(y0 + 1, x0) + fx * tap(y0 + 1, x0 + 1))
        }
        let (ca, cb) = (centreOfMass(a, size: sizeA), centreOfMass(b, size: sizeB))
        var (pa, pb) = ([Double](), [Double]())
        for dy in -radius...radius { for dx in -radius...radius {
            pa.append(sample(a, sizeA, ca.0 + Double(dy), ca.1 + Double(dx)))
            pb.append(sample(b, sizeB, cb.0 + Double(dy), cb.1 + Double(dx)))
        } }
        let (ma, mb) = (pa.reduce(0, +) / Double(pa.count), pb.reduce(0, +) / Double(pb.count))
        var (cross, va, vb) = (0.0, 0.0, 0.0)
        for i in 0..<pa.count {
            cross += (pa[i] - ma) * (pb[i] - mb); va += (pa[i] - ma) * (pa[i] - ma); vb += (pb[i] - mb) * (pb[i] - mb)
        }
        return cross / max(sqrt(va * vb), 1e-30)
    }
}

extension BlurKernel {
    /// Full 2-D convolution of a `size` x `size` kernel with the separable filter taps ⊗ taps (every row, then
    /// every column): the result is (size + taps.count − 1) square, its centre shifted by (taps.count − 1) / 2.
    public static func convolveSeparable(_ values: [Float], size: Int, with taps: [Float]) -> (size: Int, values: [Float]) {
        precondition(values.count == size * size, "kernel needs \(size * size) taps")
        let out = size + taps.count - 1
        var rows = [Float](repeating: 0, count: size * out)
        for y in 0..<size { for x in 0..<size { for (t, w) in taps.enumerated() { rows[y * out + x + t] += w * values[y * size + x] } } }
        var result = [Float](repeating: 0, count: out * out)
        for y in 0..<size { for x in 0..<out { for (t, w) in taps.enumerated() { result[(y + t) * out + x] += w * rows[y * out + x] } } }
        return (out, result)
    }
}
