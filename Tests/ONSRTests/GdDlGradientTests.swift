import Engine
import ONSR
import TestSupport
import XCTest

/// Gd and Dl against central finite differences.
final class GdDlGradientTests: XCTestCase {
    func testDegradationNetKernelsStayNormalisedAndGradientsMatch() {
        let gd = DegradationNet(scale: 2)
        for i in 0..<3 { XCTAssertEqual(gd.normalisedKernel(i).reduce(0, +), 1, accuracy: 1e-5) }
        let x = GradientCheck.random([2, 3, 12, 12], seed: 50)
        let y = gd.forward(x, saving: true)
        XCTAssertEqual(y.shape, [2, 3, 6, 6])
        let r = GradientCheck.random(y.shape, seed: 51)
        let gradX = gd.backward(r, needInputGrad: true)!
        let loss = { GradientCheck.dot(gd(x), r) }
        GradientCheck.assertMatches(values: x, analytic: gradX, required: 0.8, "gd input", loss: loss)
        for (name, p) in gd.namedParameters() {
            GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 10, epsilon: 1e-3, required: 0.8, name, loss: loss)
        }
        // One kernel for all channels: a grey image stays grey.
        let grey = Tensor(shape: [1, 3, 12, 12])
        for c in 0..<3 { for i in 0..<144 { grey[c * 144 + i] = Float(i % 7) / 7 } }
        let out = gd(grey)
        for i in 0..<36 { XCTAssertEqual(out[i], out[36 + i], accuracy: 1e-6); XCTAssertEqual(out[i], out[72 + i], accuracy: 1e-6) }
        // A flat image stays flat: sum-to-1 kernels and reflect padding keep brightness, borders included.
        let flat = gd(Tensor(shape: [1, 3, 12, 12], repeating: 0.5))
        for i in 0..<flat.count { XCTAssertEqual(flat[i], 0.5, accuracy: 1e-5) }
    }

    func testDiscriminator() {
        let dl = Discriminator(features: 4, seed: 60)
        let x = GradientCheck.random([2, 3, 32, 32], seed: 61)
        let logits = dl.forward(x, saving: true)
        XCTAssertEqual(logits.shape, [2, 1])
        let r = GradientCheck.random(logits.shape, seed: 62)
        let gradX = dl.backward(r, needInputGrad: true)!
        let loss = { GradientCheck.dot(dl(x), r) }
        // Two logits make a loss with little roundoff, so a small step keeps clear of LeakyReLU kinks.
        GradientCheck.assertMatches(values: x, analytic: gradX, epsilon: 1e-4, required: 0.8, "dl input", loss: loss)
        for (name, p) in dl.namedParameters() where name == "conv0_1.weight" || name == "conv2_0.bias" || name == "linear.weight" {
            GradientCheck.assertMatches(values: p.value, analytic: p.grad!, samples: 8, epsilon: 1e-4, required: 0.8, name, loss: loss)
        }
    }
}
