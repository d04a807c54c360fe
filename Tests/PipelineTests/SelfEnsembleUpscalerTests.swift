import Decode
import Engine
import ONSR
import Pipeline
import XCTest

final class SelfEnsembleUpscalerTests: XCTestCase {
    /// A 5 x 3 picture whose every sample differs, so that any misplaced pixel shows.
    private let picture = RGBImage(width: 5, height: 3, pixels: (0..<45).map { Float($0) })

    func testEverySymmetryIsUndoneByItsInverseAndTheyAreEightDifferentOnes() {
        var seen: [RGBImage] = []
        for code in 0..<8 {
            let symmetry = FrameSymmetry(code: code)
            let turned = symmetry.apply(picture)
            XCTAssertEqual(turned.width, code & 4 != 0 ? 3 : 5)
            XCTAssertEqual(symmetry.invert(turned), picture, "symmetry \(code)")
            XCTAssertFalse(seen.contains(turned), "symmetry \(code) repeats another")
            seen.append(turned)
        }
    }

    func testTheHalfTurnReversesEveryPlane() {
        let turned = FrameSymmetry(code: 3).apply(picture)
        for c in 0..<3 {
            let plane = Array(picture.pixels[(c * 15)..<((c + 1) * 15)])
            XCTAssertEqual(Array(turned.pixels[(c * 15)..<((c + 1) * 15)]), plane.reversed())
        }
        // Mirror left-right, then transpose: pixel (y, x) of the result is the input's (x, width - 1 - y).
        let quarter = FrameSymmetry(code: 5).apply(picture)
        XCTAssertEqual(quarter[1, 0, 2], picture[1, 2, 4])
    }

    func testTrainingCodesReadTheMirrorsBeforeTheTranspose() {
        // Training's numbering, written out: mirror the position's x (bit 1) and y (bit 2), then swap them (bit 4).
        let side = 4
        let square = RGBImage(width: side, height: side, pixels: (0..<(3 * side * side)).map { Float($0) })
        for code in 0..<8 {
            let turned = FrameSymmetry(trainingCode: code).apply(square)
            for c in 0..<3 { for y in 0..<side { for x in 0..<side {
                var (sy, sx) = (code & 2 != 0 ? side - 1 - y : y, code & 1 != 0 ? side - 1 - x : x)
                if code & 4 != 0 { swap(&sy, &sx) }
                XCTAssertEqual(turned[c, y, x], square[c, sy, sx], "training code \(code) at (\(c), \(y), \(x))")
            } } }
        }
        XCTAssertEqual(FrameSymmetry(trainingCode: 5), FrameSymmetry(code: 6))
    }

    /// The told blur turns as the kernel itself does: a tilted, elongated kernel's picture under each symmetry has the
    /// condition `transform(condition:)` gives, measured from its taps.
    func testTheToldBlurTurnsAsTheKernelDoes() {
        var rng = SeededRandom(seed: 5)
        let kernel = BlurKernel.gaussian(scale: 2, lambda1: 4, lambda2: 0.8, theta: 0.6, rng: &rng)
        let size = kernel.size
        let picture = RGBImage(width: size, height: size, pixels: kernel.taps + kernel.taps + kernel.taps)
        let code = KernelCode.condition(KernelComparison.covariance(kernel))
        XCTAssertGreaterThan(min(abs(code[1]), abs(code[2])), 0.1, "both shape components tell")
        for c in 0..<8 {
            let symmetry = FrameSymmetry(code: c)
            let turned = BlurKernel(size: size, taps: Array(symmetry.apply(picture).pixels[0..<(size * size)]))
            let measured = KernelCode.condition(KernelComparison.covariance(turned))
            for (a, b) in zip(symmetry.transform(condition: code), measured) { XCTAssertEqual(a, b, accuracy: 1e-4, "symmetry \(c)") }
        }
    }

    /// A kernel-conditioned Gr's ensemble tells each pass the blur turned with its picture, so the ensemble commutes
    /// with the symmetries; told the unturned blur, a turned picture would come out otherwise.
    func testAConditionedEnsembleTurnsTheToldBlurWithThePicture() throws {
        let upscaler = try PretrainedUpscaler(model: try ModelStore.resolve("fast-x2-cond", scale: 2))
        var rng = SeededRandom(seed: 9)
        let picture = RGBImage(width: 20, height: 14, pixels: (0..<(3 * 280)).map { _ in Float(rng.uniform(0.1, 0.9)) })
        let code: [Float] = [log(4), 0.5, -0.4]
        upscaler.network.condition = code
        let ensemble = SelfEnsembleUpscaler(upscaler, ensemble: .dihedral)
        let plain = try ensemble.upscale(picture)
        XCTAssertEqual(upscaler.network.condition, code, "the reading stays")
        func distance(_ a: RGBImage, _ b: RGBImage) -> Float { zip(a.pixels, b.pixels).map { abs($0 - $1) }.max()! }
        for c in 1..<8 {
            let symmetry = FrameSymmetry(code: c)
            upscaler.network.condition = symmetry.transform(condition: code)
            XCTAssertLessThan(distance(try ensemble.upscale(symmetry.apply(picture)), symmetry.apply(plain)), 1e-4, "symmetry \(c)")
        }
        upscaler.network.condition = code
        let quarter = FrameSymmetry(code: 5)
        XCTAssertGreaterThan(distance(try ensemble.upscale(quarter.apply(picture)), quarter.apply(plain)), 1e-3)
    }

    func testAnUpscalerThatCommutesWithTheSymmetriesIsLeftAsItIs() throws {
        // Bicubic interpolation on the centred grid is mirror- and transpose-symmetric.
        let bicubic = InterpolationUpscaler(kernel: .bicubic, scale: 2, name: "bicubic")
        var rng = SystemRandomNumberGenerator()
        let noise = RGBImage(width: 9, height: 6, pixels: (0..<(3 * 54)).map { _ in Float.random(in: 0...1, using: &rng) })
        let plain = try bicubic.upscale(noise)
        for ensemble in SelfEnsemble.allCases {
            let averaged = try SelfEnsembleUpscaler(bicubic, ensemble: ensemble).upscale(noise)
            XCTAssertEqual(averaged.width, 18)
            let worst = zip(averaged.pixels, plain.pixels).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5, "\(ensemble)")
        }
    }

    func testTheEnsembleAveragesWhatDependsOnTheDirection() throws {
        // Adds a ramp that rises left to right: the half turn's pass brings it back falling, so the two cancel
        // to the ramp's mean, and all eight passes do as well.
        let ramp = RampUpscaler()
        let flat = RGBImage(width: 4, height: 4, pixels: [Float](repeating: 0.5, count: 48))
        XCTAssertEqual(try ramp.upscale(flat)[0, 0, 0], 0.5)
        for ensemble in [SelfEnsemble.halfTurn, .dihedral] {
            let averaged = try SelfEnsembleUpscaler(ramp, ensemble: ensemble).upscale(flat)
            for value in averaged.pixels { XCTAssertEqual(value, 0.5 + 0.35, accuracy: 1e-5, "\(ensemble)") }
        }
        XCTAssertEqual(SelfEnsembleUpscaler(ramp, ensemble: .dihedral).name, "ramp+dihedral")
    }
}

/// Nearest-neighbour x2 plus 0.1 per output column: a result that depends on the picture's direction.
private final class RampUpscaler: FrameUpscaler {
    var scale: Int { 2 }
    var name: String { "ramp" }
    func upscale(_ image: RGBImage) throws -> RGBImage {
        let (height, width) = (2 * image.height, 2 * image.width)
        return RGBImage(width: width, height: height) { out in
            for c in 0..<3 {
                for y in 0..<height {
                    for x in 0..<width {
                        out[(c * height + y) * width + x] = image[c, y / 2, x / 2] + 0.1 * Float(x)
                    }
                }
            }
        }
    }
}
