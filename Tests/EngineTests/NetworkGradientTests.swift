import Engine
import TestSupport
import XCTest

/// Whole networks against finite differences: every parameter kind and the input, on tiny sizes.
final class NetworkGradientTests: XCTestCase {
    func testDenseBlockAndRRDB() {
        var rng = SeededRandom(seed: 30)
        let block = RRDB(features: 4, growth: 3, rng: &rng)
        let x = GradientCheck.random([2, 4, 5, 5], seed: 31)
        let y = block.forward(Activation(x), saving: true).tensor()
        let r = GradientCheck.sparse(y.shape, seed: 32, nonzero: 12)
        let gradX = block.backward(Activation(r)).tensor()
        let loss = { GradientCheck.dot(block.forward(Activation(x), saving: false).tensor(), r) }
        GradientCheck.assertMatches(values: x, analytic: gradX, required: 0.8, "rrdb input", loss: loss)
        for (name, p) in block.namedParameters() where name.hasSuffix("conv1.weight") || name.hasSuffix("conv5.bias") {
            GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 8, required: 0.8, name, loss: loss)
        }
    }

    func testRRDBNetAtBothScales() {
        for (scale, skip) in [(2, false), (4, false), (2, true), (4, true)] {
            let net = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: scale, bicubicSkip: skip), seed: 40)
            let x = GradientCheck.random([1, 3, 4, 4], seed: 41)
            let y = net.forward(x, saving: true)
            XCTAssertEqual(y.shape, [1, 3, 4 * scale, 4 * scale])
            let r = GradientCheck.sparse(y.shape, seed: 42, nonzero: 12)
            let gradX = net.backward(r, needInputGrad: true)!
            let loss = { GradientCheck.dot(net(x), r) }
            GradientCheck.assertMatches(values: x, analytic: gradX, epsilon: 5e-4, tolerance: 5e-2, required: 0.8, "rrdbnet x\(scale) skip \(skip) input", loss: loss)
            for (name, p) in net.namedParameters() where ["conv_first.weight", "body.0.rdb2.conv3.weight", "conv_up1.bias", "conv_last.weight"].contains(name) {
                GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 8, epsilon: 5e-4, tolerance: 5e-2, required: 0.8,
                                            "x\(scale) \(name)", loss: loss)
            }
        }
    }

    /// Three stacked frames: the input gradient of every frame's channels, the skip's only on the middle frame's.
    func testMultiFrameRRDBNet() {
        let net = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, frames: 3), seed: 46)
        let x = GradientCheck.random([1, 9, 4, 4], seed: 47)
        let y = net.forward(x, saving: true)
        XCTAssertEqual(y.shape, [1, 3, 8, 8])
        let r = GradientCheck.sparse(y.shape, seed: 48, nonzero: 12)
        let gradX = net.backward(r, needInputGrad: true)!
        XCTAssertEqual(gradX.shape, x.shape)
        let loss = { GradientCheck.dot(net(x), r) }
        GradientCheck.assertMatches(values: x, analytic: gradX, epsilon: 5e-4, tolerance: 5e-2, required: 0.8, "3-frame input", loss: loss)
        for (name, p) in net.namedParameters() where ["conv_first.weight", "conv_last.weight"].contains(name) {
            GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 8, epsilon: 5e-4, tolerance: 5e-2, required: 0.8,
                                        "3-frame \(name)", loss: loss)
        }
    }

    /// A kernel-conditioned net: the condition property stands for planes the input could bring itself, and the input
    /// gradient covers the picture only (the condition is a setting); conv_first's gradient checks out through the planes.
    func testConditionedRRDBNet() {
        let net = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, conditions: 3), seed: 49)
        let x = GradientCheck.random([1, 3, 4, 4], seed: 50)
        let code: [Float] = [1.2, -0.3, 0.25]
        let planes = Tensor(shape: [1, 6, 4, 4], values: x.values + code.flatMap { [Float](repeating: $0, count: 16) })
        net.condition = code
        XCTAssertEqual(net(x).values, net(planes).values, "the property appends the same planes")
        net.condition = [0.2, 0.3, -0.1]
        XCTAssertGreaterThan(zip(net(x).values, net(planes).values).map { abs($0 - $1) }.max()!, 1e-4, "the condition is read")
        net.condition = code
        let y = net.forward(x, saving: true)
        let r = GradientCheck.sparse(y.shape, seed: 51, nonzero: 12)
        let gradX = net.backward(r, needInputGrad: true)!
        XCTAssertEqual(gradX.shape, x.shape)
        let loss = { GradientCheck.dot(net(x), r) }
        GradientCheck.assertMatches(values: x, analytic: gradX, epsilon: 5e-4, tolerance: 5e-2, required: 0.8, "conditioned input", loss: loss)
        for (name, p) in net.namedParameters() where name == "conv_first.weight" {
            GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 12, epsilon: 5e-4, tolerance: 5e-2, required: 0.8,
                                        "conditioned \(name)", loss: loss)
        }
    }

    func testFrozenNetworkDoesNoBackwardWork() {
        let net = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2), seed: 43)
        net.setTrainable(false)
        let x = GradientCheck.random([1, 3, 4, 4], seed: 44)
        _ = net(x)
        XCTAssertTrue(net.namedParameters().allSatisfy { $0.1.grad == nil }, "inference allocates no gradient buffers")
        let y = net.forward(x, saving: true)
        let gradX = net.backward(GradientCheck.random(y.shape, seed: 45), needInputGrad: true)
        XCTAssertNotNil(gradX)
        XCTAssertTrue(net.namedParameters().allSatisfy { $0.1.grad == nil }, "frozen parameters get no gradients")
    }
}

final class BicubicSkipTests: XCTestCase {
    /// A multi-frame network's skip upsamples the middle frame: with the trunk silenced the output is its bicubic
    /// interpolation, whatever the other frames hold.
    func testMultiFrameSkipUpsamplesTheMiddleFrame() {
        let net = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, frames: 3), seed: 9)
        for (name, p) in net.namedParameters() where name.hasPrefix("conv_last") { p.value.zero() }
        let frames = (0..<3).map { GradientCheck.random([1, 3, 6, 8], seed: 10 + UInt64($0)) }
        let x = Tensor(shape: [1, 9, 6, 8], values: frames.flatMap(\.values))
        XCTAssertEqual(x.channels(3..<6).values, frames[1].values)
        let expected = Resampler(inputWidth: 8, inputHeight: 6, outputWidth: 16, outputHeight: 12, kernel: .bicubic).apply(frames[1].values, channels: 3)
        let y = net(x).values
        for i in 0..<y.count { XCTAssertEqual(y[i], expected[i], accuracy: 1e-6) }
    }

    /// With the trunk's last convolution at zero the skip network is exactly bicubic interpolation.
    func testZeroTrunkGivesBicubicUpsampling() {
        let net = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true), seed: 7)
        for (name, p) in net.namedParameters() where name.hasPrefix("conv_last") { p.value.zero() }
        let x = GradientCheck.random([1, 3, 6, 8], seed: 8)
        let expected = Resampler(inputWidth: 8, inputHeight: 6, outputWidth: 16, outputHeight: 12, kernel: .bicubic).apply(x.values, channels: 3)
        let y = net(x).values
        for i in 0..<y.count { XCTAssertEqual(y[i], expected[i], accuracy: 1e-6) }
    }
}
