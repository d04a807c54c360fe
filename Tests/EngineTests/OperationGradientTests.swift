import Engine
import TestSupport
import XCTest

/// Every operation's backward pass against central finite differences.
final class OperationGradientTests: XCTestCase {
    func checkConv(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool, size: (Int, Int)) {
        var rng = SeededRandom(seed: 1)
        let conv = Conv2d(inChannels, outChannels, kernelSize: kernel, stride: stride, padding: padding, bias: bias, rng: &rng)
        let x = GradientCheck.random([2, inChannels, size.0, size.1], seed: 2)
        let y = conv(x)
        let r = GradientCheck.random(y.shape, seed: 3)
        let gradX = Tensor(shape: x.shape)
        conv.backward(input: x.map, gradOutput: r.map, gradInput: gradX.map)
        let loss = { GradientCheck.dot(conv(x), r) }
        let label = "conv \(kernel)x\(kernel)/\(stride) p\(padding)"
        GradientCheck.assertMatches(values: x, analytic: gradX, "\(label) input", loss: loss)
        GradientCheck.assertMatches(values: conv.weight.value, analytic: conv.weight.grad!, "\(label) weight", loss: loss)
        if let b = conv.bias { GradientCheck.assertMatches(values: b.value, analytic: b.grad!, "\(label) bias", loss: loss) }
    }

    func testConvolutions() {
        checkConv(inChannels: 3, outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true, size: (6, 7))
        checkConv(inChannels: 2, outChannels: 3, kernel: 4, stride: 2, padding: 1, bias: true, size: (8, 8))
        checkConv(inChannels: 4, outChannels: 2, kernel: 1, stride: 1, padding: 0, bias: false, size: (5, 3))
        checkConv(inChannels: 1, outChannels: 2, kernel: 5, stride: 1, padding: 0, bias: true, size: (7, 9))
    }

    /// LeakyReLU, scale and residual run inside the convolution's primitive (oneDNN post-ops): the result must
    /// be the one of the separate operations, for a strided conv as well.
    func testConvPostOpsMatchSeparateOperations() {
        for (kernel, stride) in [(3, 1), (4, 2)] {
            var rng = SeededRandom(seed: 4)
            let conv = Conv2d(3, 5, kernelSize: kernel, stride: stride, padding: 1, rng: &rng)
            let x = GradientCheck.random([3, 3, 9, 11], seed: 5)
            let plain = conv(x)
            let residual = GradientCheck.random(plain.shape, seed: 6)
            let fused = conv.forward(Activation(x), postOps: [.leakyReLU(slope: 0.2), .scale(0.5), .add(Activation(residual))]).tensor()
            for i in 0..<plain.count {
                let expected = (plain[i] < 0 ? 0.2 * plain[i] : plain[i]) * 0.5 + residual[i]
                XCTAssertEqual(fused[i], expected, accuracy: 1e-5)
            }
        }
    }

    func testLeakyReLU() {
        let x = GradientCheck.random([1, 2, 4, 4], seed: 7)
        // Keep inputs away from the kink at 0, where finite differences straddle two slopes.
        for i in 0..<x.count where abs(x[i]) < 0.05 {
            x[i] += x[i] < 0 ? -0.1 : 0.1
        }
        let forward = { () -> Tensor in let y = x.copy(); Elementwise.leakyReLU(y.map); return y }
        let r = GradientCheck.random(x.shape, seed: 8)
        let grad = r.copy()
        let output = forward() // held: a FeatureMap does not keep its tensor alive
        Elementwise.leakyReLUBackward(output: output.map, grad: grad.map)
        GradientCheck.assertMatches(values: x, analytic: grad, epsilon: 1e-3, "leaky relu") { GradientCheck.dot(forward(), r) }
    }

    func testUpsampleAndPixelShuffle() {
        let x = GradientCheck.random([2, 3, 4, 6], seed: 9)
        let r = GradientCheck.random([2, 3, 8, 12], seed: 10)
        GradientCheck.assertMatches(values: x, analytic: Resize.upsampleNearest2xBackward(r), "upsample") {
            GradientCheck.dot(Resize.upsampleNearest2x(x), r)
        }
        let unshuffled = Resize.pixelUnshuffle(x, 2)
        XCTAssertEqual(unshuffled.shape, [2, 12, 2, 3])
        XCTAssertEqual(Resize.pixelShuffle(unshuffled, 2).values, x.values, "shuffle inverts unshuffle")
        let ru = GradientCheck.random(unshuffled.shape, seed: 11)
        GradientCheck.assertMatches(values: x, analytic: Resize.pixelShuffle(ru, 2), "unshuffle") {
            GradientCheck.dot(Resize.pixelUnshuffle(x, 2), ru)
        }
        // PyTorch's channel order: output channel c*4 + i*2 + j holds input pixel (2y + i, 2x + j).
        XCTAssertEqual(unshuffled[((0 * 12 + 1 * 4 + 1 * 2 + 0) * 2 + 1) * 3 + 2], x[((0 * 3 + 1) * 4 + 3) * 6 + 4])
    }

    func testLinear() {
        var rng = SeededRandom(seed: 12)
        let linear = Linear(6, 3, rng: &rng)
        let x = GradientCheck.random([4, 6], seed: 13)
        let r = GradientCheck.random([4, 3], seed: 14)
        let gradX = linear.backward(input: x, gradOutput: r, needInputGrad: true)!
        let loss = { GradientCheck.dot(linear(x), r) }
        GradientCheck.assertMatches(values: x, analytic: gradX, "linear input", loss: loss)
        GradientCheck.assertMatches(values: linear.weight.value, analytic: linear.weight.grad!, "linear weight", loss: loss)
        GradientCheck.assertMatches(values: linear.bias.value, analytic: linear.bias.grad!, "linear bias", loss: loss)
    }

    func testLosses() {
        let prediction = GradientCheck.random([2, 3, 4, 4], seed: 15)
        let target = GradientCheck.random([2, 3, 4, 4], seed: 16)
        let (l1, gradL1) = Loss.l1(prediction, target)
        XCTAssertEqual(Double(l1), (0..<prediction.count).map { Double(abs(prediction[$0] - target[$0])) }.reduce(0, +) / 96, accuracy: 1e-6)
        GradientCheck.assertMatches(values: prediction, analytic: gradL1, epsilon: 1e-3, "l1") { Double(Loss.l1(prediction, target).loss) }
        let logits = GradientCheck.random([5, 1], seed: 17, scale: 4)
        for label: Float in [0, 1] {
            let (_, grad) = Loss.bceWithLogits(logits, label: label)
            GradientCheck.assertMatches(values: logits, analytic: grad, epsilon: 1e-3, "bce \(label)") {
                Double(Loss.bceWithLogits(logits, label: label).loss)
            }
        }
        XCTAssertEqual(Loss.bceWithLogits(Tensor(shape: [1, 1]), label: 1).loss, Float(log(2.0)), accuracy: 1e-6)
    }

    func testBicubicResizeBackwardIsTheTranspose() {
        let layer = BicubicResize(factor: 2, direction: .down)
        let x = GradientCheck.random([1, 2, 12, 10], seed: 18)
        let r = GradientCheck.random([1, 2, 6, 5], seed: 19)
        GradientCheck.assertMatches(values: x, analytic: layer.backward(r, inputHeight: 12, inputWidth: 10), epsilon: 1e-2,
                                    "bicubic down") { GradientCheck.dot(layer(x), r) }
        let four = BicubicResize(factor: 4, direction: .down)
        let big = GradientCheck.random([1, 1, 16, 16], seed: 20)
        let rf = GradientCheck.random([1, 1, 4, 4], seed: 21)
        GradientCheck.assertMatches(values: big, analytic: four.backward(rf, inputHeight: 16, inputWidth: 16), "bicubic /4") {
            GradientCheck.dot(four(big), rf)
        }
        let up = BicubicResize(factor: 2, direction: .up)
        let small = GradientCheck.random([1, 2, 5, 7], seed: 22)
        let ru = GradientCheck.random([1, 2, 10, 14], seed: 23)
        GradientCheck.assertMatches(values: small, analytic: up.backward(ru, inputHeight: 5, inputWidth: 7), "bicubic x2") {
            GradientCheck.dot(up(small), ru)
        }
    }
}
