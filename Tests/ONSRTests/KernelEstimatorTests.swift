import Decode
import Engine
import ONSR
import TestSupport
import XCTest

/// The blur estimator: its gradients against finite differences, its kernel code, its per-image estimate.
final class KernelEstimatorTests: XCTestCase {
    func testGradientsMatchFiniteDifferences() {
        let estimator = KernelEstimator(.init(features: 4), seed: 70)
        let x = GradientCheck.random([2, 3, 16, 16], seed: 71)
        let output = estimator.forward(x, saving: true)
        XCTAssertEqual(output.shape, [2, KernelCode.outputs])
        let r = GradientCheck.random(output.shape, seed: 72)
        estimator.backward(r)
        let loss = { GradientCheck.dot(estimator(x), r) }
        for (name, p) in estimator.namedParameters() where ["conv0.weight", "conv3.weight", "conv6.bias", "head.weight"].contains(name) {
            GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 8, epsilon: 1e-3, required: 0.8, name, loss: loss)
        }
    }

    func testCodeRoundTripsAndStaysPositiveDefinite() {
        for sigma in [(yy: 1.0, yx: 0.0, xx: 1.0), (yy: 0.4, yx: 0.3, xx: 5.0), (yy: 7.0, yx: -1.5, xx: 2.0)] {
            let code = KernelCode.encode(sigma)
            let back = KernelCode.decode(logTrace: code.logTrace, u: code.u, v: code.v)
            XCTAssertEqual(back.yy, sigma.yy, accuracy: 1e-9)
            XCTAssertEqual(back.yx, sigma.yx, accuracy: 1e-9)
            XCTAssertEqual(back.xx, sigma.xx, accuracy: 1e-9)
        }
        // A network output outside the disc still decodes to a covariance with two positive eigenvalues.
        let wild = KernelCode.decode(logTrace: 1, u: 3, v: -2)
        XCTAssertGreaterThan(wild.yy * wild.xx - wild.yx * wild.yx, 0)
    }

    /// Reports store the reading as JSON and read back the same estimate.
    func testEstimateRoundTripsThroughJSON() throws {
        let estimate = BlurEstimate(covariance: (2.5, -0.75, 1.25), noBlurProbability: 0.125)
        let data = try JSONEncoder().encode(estimate)
        let fields = try JSONSerialization.jsonObject(with: data) as! [String: Double]
        XCTAssertEqual(fields, ["yy": 2.5, "yx": -0.75, "xx": 1.25, "noBlurProbability": 0.125])
        XCTAssertEqual(try JSONDecoder().decode(BlurEstimate.self, from: data), estimate)
    }

    func testEstimateKernelHasTheEstimatedCovariance() {
        let estimate = BlurEstimate(covariance: (yy: 1.2, yx: 0.5, xx: 2.5), noBlurProbability: 0)
        let measured = KernelComparison.covariance(estimate.kernel(scale: 2))
        XCTAssertEqual(measured.yy, 1.2, accuracy: 0.05)
        XCTAssertEqual(measured.yx, 0.5, accuracy: 0.05)
        XCTAssertEqual(measured.xx, 2.5, accuracy: 0.05)
    }

    func testPatchesAreNormalisedAndImagesTiled() {
        var rng = SeededRandom(seed: 3)
        let p = KernelEstimator.patchSize
        let patch = (0..<(3 * p * p)).map { _ in 0.3 + 0.2 * rng.uniform() }
        let tensor = KernelEstimator.patchTensor([patch])
        let values = tensor.values
        for c in 0..<3 { XCTAssertEqual(values[(c * p * p)..<((c + 1) * p * p)].reduce(0, +) / Float(p * p), 0, accuracy: 1e-4) }
        let deviation = (values.reduce(0) { $0 + $1 * $1 } / Float(values.count)).squareRoot()
        XCTAssertEqual(deviation, 1, accuracy: 0.2)
        // Too small for one patch: no estimate; big enough: one from the patches it holds.
        let estimator = KernelEstimator(.init(features: 4), seed: 1)
        XCTAssertNil(estimator.estimate(frames: [RGBImage(width: p - 1, height: p, pixels: [Float](repeating: 0.5, count: 3 * p * (p - 1)))]))
        let frame = RGBImage(width: 2 * p + 5, height: p, pixels: (0..<(3 * p * (2 * p + 5))).map { _ in rng.uniform() })
        let estimate = try? XCTUnwrap(estimator.estimate(frames: [frame]))
        XCTAssertNotNil(estimate)
        XCTAssertTrue((0...1).contains(estimate?.noBlurProbability ?? -1))
    }

    func testReadingsDifferWhenTheKernelOrTheNoBlurCallDoes() {
        let a = BlurEstimate(covariance: (yy: 2, yx: 0.3, xx: 3), noBlurProbability: 0.1)
        XCTAssertFalse(a.differs(from: a.scaled(by: 1.05), scale: 2).differs, "5% apart is the same blur")
        XCTAssertTrue(a.differs(from: a.scaled(by: 3), scale: 2).differs, "three times the size is not")
        XCTAssertTrue(a.differs(from: BlurEstimate(covariance: a.covariance, noBlurProbability: 0.9), scale: 2).differs)
        XCTAssertEqual(a.differs(from: a, scale: 2).similarity, 1, accuracy: 1e-9)
    }

    func testNoBlurWeightRampsAcrossTheBand() {
        func weight(_ p: Double) -> Double { BlurEstimate(covariance: (1, 0, 1), noBlurProbability: p).noBlurWeight }
        let band = BlurEstimate.mixBand
        XCTAssertEqual(weight(0), 0)
        XCTAssertEqual(weight(band.lowerBound), 0)
        XCTAssertEqual(weight((band.lowerBound + band.upperBound) / 2), 0.5, accuracy: 1e-9)
        XCTAssertEqual(weight(band.upperBound), 1)
        XCTAssertEqual(weight(1), 1)
        XCTAssertTrue(band.contains(BlurEstimate.noBlurThreshold), "the hard call lies inside the band")
        let blurred = BlurEstimate(covariance: (2, 0.3, 3), noBlurProbability: 0.75).assumingBlur
        XCTAssertFalse(blurred.isNoBlur)
        XCTAssertEqual(blurred.trace, 5)
    }

    /// The size is the mean of all patches' sizes up to `softReadTrace`, of the smallest `sizeShareKept` past it;
    /// the shape and the no-blur call are always means.
    func testSizeComesFromTheSmallestPatchesOnlyPastTheSoftReadTrace() {
        func readings(_ logTraces: [Double]) -> [[Double]] {
            logTraces.enumerated().map { n, t in [Double(n % 2 == 0 ? -2 : 0), t, n % 2 == 0 ? 0.2 : 0, 0.1] }
        }
        func mean(_ values: some Collection<Double>) -> Double { values.reduce(0, +) / Double(values.count) }
        // Small blurs: every patch counts.
        let small = (0..<16).map { log(1.5 + 0.1 * Double($0)) }
        let a = KernelEstimator.combine(readings(small), scale: 2)
        XCTAssertEqual(log(a.trace), mean(small), accuracy: 1e-9)
        XCTAssertLessThanOrEqual(a.sampledTrace(scale: 2), KernelEstimator.softReadTrace)
        // Large ones: the 11 smallest of 16 (given out of order), the rest ignored however large.
        let large = (0..<16).map { log(8 + Double(($0 * 7) % 16)) }
        let b = KernelEstimator.combine(readings(large), scale: 2)
        XCTAssertEqual(log(b.trace), mean(large.sorted().prefix(11)), accuracy: 1e-9)
        XCTAssertLessThan(log(b.trace), mean(large))
        for estimate in [a, b] {
            XCTAssertEqual(estimate.noBlurProbability, 1 / (1 + exp(1)), accuracy: 1e-9, "the no-blur logit's mean, -1")
            let shape = KernelCode.encode(estimate.covariance)
            XCTAssertEqual(shape.u, 0.1, accuracy: 1e-9)
            XCTAssertEqual(shape.v, 0.1, accuracy: 1e-9)
        }
    }

    /// With a spread per patch the size is every patch's log size weighted by exp(−2·spread), whatever the plain
    /// mean reads; the shape and the no-blur call stay means.
    func testSpreadWeightsEachPatchSize() {
        let sizes = [1.0, 2.0, 3.0, 2.5], spreads = [-2.0, -2.0, 0.0, 3.0]
        let rows = zip(sizes, spreads).map { [-1.0, $0, 0.1, 0.1, $1] }
        let estimate = KernelEstimator.combine(rows, scale: 2)
        let weights = spreads.map { exp(-2 * $0) }
        let expected = zip(sizes, weights).reduce(0) { $0 + $1.0 * $1.1 } / weights.reduce(0, +)
        XCTAssertEqual(log(estimate.trace), expected, accuracy: 1e-9)
        XCTAssertLessThan(log(estimate.trace), 1.6, "the two confident patches outweigh the rest")
        XCTAssertEqual(estimate.noBlurProbability, 1 / (1 + exp(1)), accuracy: 1e-9)
        // A network with the spread has a fifth output, which `estimate` passes on.
        let estimator = KernelEstimator(.init(features: 4, sizeSpread: true), seed: 3)
        XCTAssertEqual(estimator(GradientCheck.random([1, 3, 16, 16], seed: 4)).shape, [1, KernelCode.outputs + 1])
        XCTAssertNotNil(estimator.estimate(frames: [RGBImage(width: 48, height: 48, pixels: GradientCheck.random([3 * 48 * 48], seed: 5).values)]))
    }

    func testAnEnsembleAveragesTheKernelAndKeepsTheFirstNetworksNoBlurCall() throws {
        let p = KernelEstimator.patchSize
        let frame = RGBImage(width: p, height: p, pixels: GradientCheck.random([3 * p * p], seed: 8).values.map { 0.5 + 0.2 * $0 })
        let (first, second) = (KernelEstimator(.init(features: 4), seed: 1), KernelEstimator(.init(features: 4), seed: 2))
        let patches = KernelEstimator.patchTensor([frame.pixels])
        let (a, b) = (first(patches).values, second(patches).values)
        let row = (0..<KernelCode.outputs).map { $0 == KernelCode.noBlurLogit ? Double(a[$0]) : (Double(a[$0]) + Double(b[$0])) / 2 }
        let expected = KernelEstimator.combine([row], scale: 2)
        let alone = try XCTUnwrap(first.estimate(frames: [frame]))
        first.companions = [second]
        let together = try XCTUnwrap(first.estimate(frames: [frame]))
        XCTAssertEqual(together.covariance.yy, expected.covariance.yy, accuracy: 1e-9)
        XCTAssertEqual(together.covariance.yx, expected.covariance.yx, accuracy: 1e-9)
        XCTAssertEqual(together.covariance.xx, expected.covariance.xx, accuracy: 1e-9)
        XCTAssertEqual(together.noBlurProbability, alone.noBlurProbability, accuracy: 1e-9)
        XCTAssertNotEqual(together.covariance.xx, alone.covariance.xx, "the companion's outputs count")
    }
}
