import Engine
import TestSupport
import XCTest

/// Precision choices and bf16 inference against fp32.
final class ComputeTests: XCTestCase {
    func testPrecisionResolvesFromTheCPU() {
        XCTAssertEqual(Precision.fp32.resolved, .fp32)
        XCTAssertEqual(Precision.bf16.resolved, .bf16)
        XCTAssertEqual(Precision.auto.resolved, ComputeInfo.hasNativeBF16 ? .bf16 : .fp32)
        let report = ComputeReport(precision: .fp32, channels: 16)
        XCTAssertTrue(report.library.hasPrefix("oneDNN "), report.library)
        XCTAssertFalse(report.kernel.isEmpty)
        XCTAssertFalse(report.kernel.hasPrefix("ref"), "a reference kernel on the hot path: \(report.kernel)")
    }

    /// bf16 activations keep 8 significant bits: a whole network's output stays within 1/256 of fp32's on
    /// average and 45 dB PSNR (the shipped model measured 0.004 dB apart on the benchmark photos, README).
    func testBF16InferenceStaysCloseToFP32() throws {
        try XCTSkipUnless(ComputeInfo.hasNativeBF16, "needs native bf16 (AVX512_BF16 or AMX); this CPU: \(ComputeInfo.instructionSet)")
        let net = RRDBNet(.init(features: 16, blocks: 1, growth: 16, scale: 2, bicubicSkip: true), seed: 3)
        let image = GradientCheck.random([1, 3, 48, 64], seed: 4, scale: 0.5)
        for i in 0..<image.count { image[i] += 0.5 }
        let reference = net(image), reduced = net.infer(image, precision: .bf16)
        XCTAssertEqual(reduced.shape, reference.shape)
        var squared = 0.0, absolute = 0.0
        for i in 0..<reference.count {
            let d = Double(reduced[i] - reference[i])
            squared += d * d; absolute += abs(d)
        }
        let psnr = 10 * log10(1 / (squared / Double(reference.count)))
        XCTAssertLessThan(absolute / Double(reference.count), 1.0 / 256)
        XCTAssertGreaterThan(psnr, 45, "bf16 against fp32")
        XCTAssertNotEqual(reduced.values, reference.values, "bf16 really ran")
    }
}
