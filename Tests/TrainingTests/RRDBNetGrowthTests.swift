import Engine
import Training
import TestSupport
import XCTest

final class RRDBNetGrowthTests: XCTestCase {
    private func weights(of net: RRDBNet) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: SafeTensors.parameters(of: net))
    }

    func testGrownNetworkComputesTheSameFunction() throws {
        for (scale, skip) in [(2, true), (4, false)] {
            let small = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: scale, bicubicSkip: skip), seed: 50)
            let deep = RRDBNet(.init(features: 4, blocks: 3, growth: 3, scale: scale, bicubicSkip: skip), seed: 51)
            let x = GradientCheck.random([1, 3, 6, 6], seed: 52)
            let before = deep(x).values
            try deep.loadGrowing(from: weights(of: small))
            let expected = small(x).values, grown = deep(x).values
            XCTAssertGreaterThan(zip(before, expected).map { abs($0 - $1) }.max()!, 1e-3, "the test must start from a different function")
            XCTAssertEqual(zip(grown, expected).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5, "x\(scale)")
        }
    }

    func testGrownBlocksLearn() throws {
        let small = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2), seed: 53)
        let deep = RRDBNet(.init(features: 4, blocks: 2, growth: 3, scale: 2), seed: 54)
        try deep.loadGrowing(from: weights(of: small))
        let x = GradientCheck.random([1, 3, 4, 4], seed: 55)
        let y = deep.forward(x, saving: true)
        deep.backward(GradientCheck.sparse(y.shape, seed: 56, nonzero: 12))
        let grads = Dictionary(uniqueKeysWithValues: deep.namedParameters().map { ($0.0, $0.1.grad) })
        // The zeroed conv5 of a new block gets a gradient, so training moves it off the identity.
        let conv5 = try XCTUnwrap(grads["body.1.rdb3.conv5.weight"] ?? nil)
        XCTAssertGreaterThan(conv5.values.map(abs).max()!, 0)
    }

    /// A one-frame model widened to three frames computes the same function on a still shot, and reads the
    /// neighbours once training moves their weights off zero.
    func testWidenedNetworkComputesTheSameFunctionOnAStillShot() throws {
        let one = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true), seed: 59)
        let three = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, frames: 3), seed: 60)
        try three.loadGrowing(from: weights(of: one))
        let middle = GradientCheck.random([1, 3, 6, 6], seed: 61), other = GradientCheck.random([1, 3, 6, 6], seed: 62)
        let still = Tensor(shape: [1, 9, 6, 6], values: middle.values + middle.values + middle.values)
        let moving = Tensor(shape: [1, 9, 6, 6], values: other.values + middle.values + other.values)
        let expected = one(middle).values
        XCTAssertEqual(zip(three(still).values, expected).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
        XCTAssertEqual(zip(three(moving).values, expected).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5, "neighbours start unread")
        let y = three.forward(moving, saving: true)
        three.backward(GradientCheck.sparse(y.shape, seed: 63, nonzero: 12))
        let grad = try XCTUnwrap(three.convFirst.weight.grad)
        let taps = 12 * 9
        let neighbourGrad = (0..<4).flatMap { o in (0..<12 * 9).map { grad.data[o * 36 * 9 + $0] } }
        XCTAssertGreaterThan(neighbourGrad.map(abs).max()!, 0, "the first frame's weights get a gradient")
        XCTAssertEqual(taps, 108)
    }

    /// `average` widening: every frame reads a third of the weights, so a still shot gives the one-frame output and a
    /// moving one the output for the frames' mean.
    func testAverageWideningReadsTheFramesMean() throws {
        let one = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true), seed: 64)
        let three = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, frames: 3), seed: 65)
        try three.loadGrowing(from: weights(of: one), widening: .average)
        let frames = (0..<3).map { GradientCheck.random([1, 3, 6, 6], seed: 66 + UInt64($0)) }
        let still = Tensor(shape: [1, 9, 6, 6], values: frames[1].values + frames[1].values + frames[1].values)
        XCTAssertEqual(zip(three(still).values, one(frames[1]).values).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
        // conv_first is linear and the skip reads the middle frame, so the trunk sees the mean: compare trunk outputs
        // by taking the skip (bicubic of the middle frame) out of both.
        let moving = Tensor(shape: [1, 9, 6, 6], values: frames.flatMap(\.values))
        let mean = Tensor(shape: [1, 3, 6, 6], values: (0..<108).map { i in (frames[0][i] + frames[1][i] + frames[2][i]) / 3 })
        let skipOfMiddle = Resampler(inputWidth: 6, inputHeight: 6, outputWidth: 12, outputHeight: 12, kernel: .bicubic).apply(frames[1].values, channels: 3)
        let skipOfMean = Resampler(inputWidth: 6, inputHeight: 6, outputWidth: 12, outputHeight: 12, kernel: .bicubic).apply(mean.values, channels: 3)
        let trunkMoving = zip(three(moving).values, skipOfMiddle).map { $0 - $1 }
        let trunkMean = zip(one(mean).values, skipOfMean).map { $0 - $1 }
        XCTAssertEqual(zip(trunkMoving, trunkMean).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
    }

    /// A blind model loaded into a kernel-conditioned network computes the same function whatever the condition says,
    /// and the condition planes' weights get a gradient, so training teaches the network to read them.
    func testConditionedNetworkStartsAsTheBlindOne() throws {
        let blind = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true), seed: 70)
        let conditioned = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, conditions: 3), seed: 71)
        try conditioned.loadGrowing(from: weights(of: blind))
        let x = GradientCheck.random([1, 3, 6, 6], seed: 72)
        for code: [Float] in [[0, 0, 0], [2.1, 0.4, -0.3]] {
            conditioned.condition = code
            XCTAssertEqual(zip(conditioned(x).values, blind(x).values).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5, "\(code)")
        }
        let y = conditioned.forward(x, saving: true)
        conditioned.backward(GradientCheck.sparse(y.shape, seed: 73, nonzero: 12))
        let grad = try XCTUnwrap(conditioned.convFirst.weight.grad)
        // conv_first reads 24 unshuffled channels: the picture's 12, then the condition's 12.
        let conditionGrad = (0..<4).flatMap { o in (12 * 9..<24 * 9).map { grad.data[o * 24 * 9 + $0] } }
        XCTAssertGreaterThan(conditionGrad.map(abs).max()!, 0)
    }

    func testMoreBlocksThanTheNetworkIsRefused() {
        let big = RRDBNet(.init(features: 4, blocks: 2, growth: 3, scale: 2), seed: 57)
        let small = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2), seed: 58)
        XCTAssertEqual(RRDBNet.blockCount(in: weights(of: big)), 2)
        XCTAssertThrowsError(try small.loadGrowing(from: weights(of: big)))
    }
}
