import Engine
import Foundation
import ONSR
import Training
import XCTest

final class RealDegradationTests: XCTestCase {
    /// Draws many profiles from one seed: the codecs' quantisers, the clean share.
    private func profiles(_ range: RealCompressionRange, count: Int = 4000) -> [CompressionProfile?] {
        var rng = SeededRandom(seed: 17)
        return (0..<count).map { _ in RealDegradation.profile(range: range, rng: &rng) }
    }

    func testHeavyRangeDrawsOnlyFromTheHeavyEnd() {
        let drawn = profiles(.heavy).compactMap { $0 }
        let h264 = drawn.filter { $0.codec == .h264 }.map(\.quantiser)
        let mpeg2 = drawn.filter { $0.codec == .mpeg2 }.map(\.quantiser)
        let mpeg4 = drawn.filter { $0.codec == .mpeg4 }.map(\.quantiser)
        XCTAssertFalse(h264.isEmpty || mpeg2.isEmpty || mpeg4.isEmpty)
        XCTAssertGreaterThanOrEqual(h264.min()!, 27); XCTAssertLessThanOrEqual(h264.max()!, 42)
        XCTAssertGreaterThanOrEqual(mpeg2.min()!, 5); XCTAssertLessThanOrEqual(mpeg2.max()!, 16)
        XCTAssertGreaterThanOrEqual(mpeg4.min()!, 5); XCTAssertLessThanOrEqual(mpeg4.max()!, 14)
        // The range spans its band rather than sitting at one end.
        XCTAssertLessThan(h264.min()!, 28); XCTAssertGreaterThan(h264.max()!, 41)
    }

    func testAllRangeReachesLightCoding() {
        let h264 = profiles(.all).compactMap { $0 }.filter { $0.codec == .h264 }.map(\.quantiser)
        XCTAssertLessThan(h264.min()!, 21); XCTAssertGreaterThan(h264.max()!, 39); XCTAssertLessThanOrEqual(h264.max()!, 40)
    }

    func testCRFRangeCodesH264AtARateFactorAndTheRestAsAll() {
        let drawn = profiles(.crf).compactMap { $0 }
        let h264 = drawn.filter { $0.codec == .h264 }
        XCTAssertTrue(h264.allSatisfy { $0.rateFactor == true && (16...36).contains($0.quantiser) })
        XCTAssertLessThan(h264.map(\.quantiser).min()!, 17); XCTAssertGreaterThan(h264.map(\.quantiser).max()!, 35)
        XCTAssertTrue(drawn.filter { $0.codec != .h264 }.allSatisfy { $0.rateFactor == nil })
        XCTAssertTrue(profiles(.all).compactMap { $0 }.allSatisfy { $0.rateFactor == nil }, "constant QP unless asked")
    }

    func testEveryRangeLeavesATenthClean() {
        for range in RealCompressionRange.allCases {
            let clean = Double(profiles(range).filter { $0 == nil }.count) / 4000
            XCTAssertEqual(clean, 0.1, accuracy: 0.02, "\(range)")
        }
    }

    /// Checkpoints and model metadata written before the option existed decode as the range they were trained with.
    func testOptionsWithoutARangeDecodeAsAll() throws {
        var options = TrainingOptions()
        options.degradation = .real
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(options)) as! [String: Any]
        XCTAssertNil(json["compressionRange"])
        json["compressionRange"] = nil
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertNil(decoded.compressionRange)
        options.compressionRange = .heavy
        let heavy = try JSONDecoder().decode(TrainingOptions.self, from: JSONEncoder().encode(options))
        XCTAssertEqual(heavy.compressionRange, .heavy)
    }
}
