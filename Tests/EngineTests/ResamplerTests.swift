import Engine
import XCTest

/// Properties of imresize-style resampling that hold whatever the implementation.
final class ResamplerTests: XCTestCase {
    func testWeightsSumToOneAndStayInRange() {
        for kernel in ResampleKernel.allCases {
            for (input, output) in [(10, 20), (20, 10), (7, 28), (33, 11), (5, 5)] {
                let axis = AxisResampling(inputSize: input, outputSize: output, kernel: kernel)
                for o in 0..<output {
                    let weights = axis.weights[(o * axis.taps)..<((o + 1) * axis.taps)]
                    XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-5)
                    for t in 0..<axis.taps { XCTAssertTrue((0..<input).contains(Int(axis.indices[o * axis.taps + t]))) }
                }
            }
        }
    }

    func testBicubicX2MatchesKeysKernelPhases() {
        // At x2, outputs sit a quarter pixel either side of each input: weights are the cubic kernel at
        // distances 1.25, 0.25, 0.75, 1.75 (a = -0.5), i.e. -0.0234375, 0.2265625, 0.8671875, -0.0703125.
        let axis = AxisResampling(inputSize: 16, outputSize: 32, kernel: .bicubic)
        let o = 10 // centre (10.5 / 2 - 0.5) = 4.75: taps 2...7 around it
        let pairs = (0..<axis.taps).map { (Int(axis.indices[o * axis.taps + $0]), axis.weights[o * axis.taps + $0]) }.filter { $0.1 != 0 }
        let expected: [(Int, Float)] = [(3, -0.0234375), (4, 0.2265625), (5, 0.8671875), (6, -0.0703125)]
        XCTAssertEqual(pairs.count, 4)
        for (got, want) in zip(pairs, expected) {
            XCTAssertEqual(got.0, want.0)
            XCTAssertEqual(got.1, want.1, accuracy: 1e-6)
        }
    }

    func testConstantStaysConstantAndRampsStayLinear() {
        let width = 24, height = 10
        var ramp = [Float](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width { ramp[y * width + x] = 0.1 + 0.03 * Float(x) } }
        let resampler = Resampler(inputWidth: width, inputHeight: height, outputWidth: width * 2, outputHeight: height * 2, kernel: .bicubic)
        let output = resampler.apply(ramp, channels: 1)
        // Cubic convolution reproduces linear functions exactly away from the borders.
        for y in 4..<(2 * height - 4) {
            for x in 4..<(2 * width - 4) {
                let source = (Float(x) + 0.5) / 2 - 0.5
                XCTAssertEqual(output[y * 2 * width + x], 0.1 + 0.03 * source, accuracy: 1e-5)
            }
        }
        let flat = Resampler(inputWidth: 9, inputHeight: 9, outputWidth: 4, outputHeight: 3, kernel: .lanczos3)
            .apply([Float](repeating: 0.625, count: 81 * 3), channels: 3)
        for value in flat { XCTAssertEqual(value, 0.625, accuracy: 1e-6) }
    }

    func testAntialiasedDownscaleRemovesTheHighestFrequency() {
        let size = 32
        let stripes = (0..<(size * size)).map { Float(($0 % size) % 2) }
        let down = Resampler(inputWidth: size, inputHeight: size, outputWidth: size / 2, outputHeight: size / 2, kernel: .bicubic)
            .apply(stripes, channels: 1)
        for y in 2..<(size / 2 - 2) { for x in 2..<(size / 2 - 2) { XCTAssertEqual(down[y * size / 2 + x], 0.5, accuracy: 0.02) } }
    }
}
