import Engine
import TestSupport
import XCTest

/// Channels-last activations: transposes, the layout operations against their NCHW counterparts, bf16 rounding.
final class ActivationTests: XCTestCase {
    func testLayoutOperationsMatchTheirNCHWCounterparts() {
        let x = GradientCheck.random([2, 3, 4, 6], seed: 12)
        XCTAssertEqual(Activation(x).tensor().values, x.values)
        XCTAssertEqual(Activation(x.map.channels(1..<3)).tensor().values, Array(x.values[24..<72]) + Array(x.values[96..<144]))
        XCTAssertEqual(ChannelsLast.upsampleNearest2x(Activation(x)).tensor().values, Resize.upsampleNearest2x(x).values)
        let unshuffled = ChannelsLast.pixelUnshuffle(x, 2, type: .fp32)
        XCTAssertEqual(unshuffled.tensor().values, Resize.pixelUnshuffle(x, 2).values)
        XCTAssertEqual(ChannelsLast.pixelUnshuffleBackward(unshuffled, 2).values, x.values)
        let r = GradientCheck.random([2, 3, 8, 12], seed: 13)
        XCTAssertEqual(ChannelsLast.upsampleNearest2xBackward(Activation(r)).tensor().values, Resize.upsampleNearest2xBackward(r).values)
    }

    func testChannelSlicesCopiesAndAdds() {
        let dense = Activation(GradientCheck.random([1, 5, 3, 3], seed: 14))
        let part = ChannelsLast.slice(dense, 1..<4)
        XCTAssertEqual(part.tensor().values, Array(dense.tensor().values[9..<36]))
        let target = Activation(n: 1, h: 3, w: 3, c: 5)
        ChannelsLast.copyChannels(part, 0..<3, into: target, at: 2)
        ChannelsLast.addChannels(part, into: target, at: 2)
        let values = target.tensor().values
        XCTAssertEqual(Array(values[0..<18]), [Float](repeating: 0, count: 18))
        XCTAssertEqual(Array(values[18..<45]), part.tensor().values.map { 2 * $0 })
        // LeakyReLU's gradient through a slice: the slope where the stored output is negative.
        let gradient = Activation(Tensor(shape: [1, 5, 3, 3], repeating: 1))
        let masked = ChannelsLast.leakyReLUGradient(gradient, output: dense, channels: 1..<4).tensor().values
        XCTAssertEqual(masked, part.tensor().values.map { $0 < 0 ? 0.2 : 1 })
    }

    func testBF16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between two bf16 values and rounds to the even one (1); 1 + 3 * 2^-8 rounds up.
        let values: [Float] = [1, 1 + 1.0 / 256, 1 + 3.0 / 256, -2.5, 1e-3]
        let stored = Activation(Tensor(shape: [1, 5, 1, 1], values: values), type: .bf16).tensor().values
        XCTAssertEqual(stored[0], 1)
        XCTAssertEqual(stored[1], 1)
        XCTAssertEqual(stored[2], 1 + 4.0 / 256)
        XCTAssertEqual(stored[3], -2.5)
        XCTAssertEqual(stored[4], 1e-3, accuracy: 1e-3 / 128)
    }
}
