import Decode
import Engine
import ONSR
import XCTest

/// The in-process codec round trip on tiled patches.
final class PatchCompressionTests: XCTestCase {
    /// Ten 32 x 32 patches of detailed content.
    static func patches() -> Tensor {
        let picture = NoiseEstimateTests.scene()
        let batch = Tensor(shape: [10, 3, 32, 32])
        for p in 0..<10 {
            let crop = picture.crop(top: 20 * p, left: 17 * p, height: 32, width: 32)
            for i in 0..<crop.count { batch.data[p * crop.count + i] = crop[i] + 0.05 * Float((i * 7919) % 13) / 13 }
        }
        return batch
    }

    func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        var mse = 0.0
        for i in 0..<a.count { mse += Double((a.data[i] - b.data[i]) * (a.data[i] - b.data[i])) }
        return 10 * log10(1 / (mse / Double(a.count)))
    }

    func testDeterministicForASeed() throws {
        let input = PatchCompressionTests.patches()
        let profile = CompressionProfile(codec: .h264, quantiser: 32, noiseSigma: 3, predictedShare: 0.5)
        let first = try PatchCompressor(profile: profile, seed: 7)(input).values
        XCTAssertEqual(try PatchCompressor(profile: profile, seed: 7)(input).values, first)
        XCTAssertNotEqual(try PatchCompressor(profile: profile, seed: 8)(input).values, first, "the seed places the block grid and the noise")
    }

    func testCoarserQuantisersLoseMore() throws {
        let input = PatchCompressionTests.patches()
        for codec in CompressionProfile.Codec.allCases {
            let (fine, coarse) = codec == .h264 ? (18.0, 40.0) : (2.0, 16.0)
            let light = try PatchCompressor(profile: CompressionProfile(codec: codec, quantiser: fine), seed: 1)(input)
            let heavy = try PatchCompressor(profile: CompressionProfile(codec: codec, quantiser: coarse), seed: 1)(input)
            XCTAssertEqual(light.shape, input.shape)
            let (good, bad) = (psnr(light, input), psnr(heavy, input))
            XCTAssertGreaterThan(good, 30, "\(codec) at \(fine)")
            XCTAssertGreaterThan(good - bad, 3, "\(codec): \(good) dB at \(fine), \(bad) dB at \(coarse)")
        }
    }

    func testRateFactorCodingIsDeterministicAndNotTheConstantQP() throws {
        let input = PatchCompressionTests.patches()
        var profile = CompressionProfile(codec: .h264, quantiser: 28, predictedShare: 0.5)
        let constant = try PatchCompressor(profile: profile, seed: 3)(input).values
        profile.rateFactor = true
        XCTAssertEqual(profile.description.prefix(12), "h264 crf 28.")
        let rated = try PatchCompressor(profile: profile, seed: 3)(input)
        XCTAssertEqual(try PatchCompressor(profile: profile, seed: 3)(input).values, rated.values)
        XCTAssertNotEqual(rated.values, constant, "x264's rate control, not one QP")
        profile.quantiser = 18
        let light = try PatchCompressor(profile: profile, seed: 3)(input)
        profile.quantiser = 40
        let heavy = try PatchCompressor(profile: profile, seed: 3)(input)
        XCTAssertGreaterThan(psnr(light, input) - psnr(heavy, input), 3)
    }

    /// Frames coded as one group come back in order, each nearer its own input than its neighbours', deterministic
    /// for a seed.
    func testSequenceKeepsTheOrderAndCodesEachFrame() throws {
        let base = PatchCompressionTests.patches()
        let frames = (0..<3).map { f -> Tensor in
            let frame = base.copy()
            for i in 0..<frame.count { frame.data[i] = min(1, frame.data[i] + 0.08 * Float(f)) }
            return frame
        }
        let profile = CompressionProfile(codec: .h264, quantiser: 30, noiseSigma: 2, predictedShare: 0.5)
        let coded = try PatchCompressor(profile: profile, seed: 4).sequence(frames)
        XCTAssertEqual(coded.map(\.values), try PatchCompressor(profile: profile, seed: 4).sequence(frames).map(\.values))
        XCTAssertEqual(coded.count, 3)
        for (f, frame) in coded.enumerated() {
            XCTAssertEqual(frame.shape, base.shape)
            for other in 0..<3 where other != f {
                XCTAssertGreaterThan(psnr(frame, frames[f]), psnr(frame, frames[other]) + 3, "frame \(f) against \(other)")
            }
        }
    }
}
