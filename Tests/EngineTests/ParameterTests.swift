import Engine
import XCTest

final class ParameterTests: XCTestCase {
    private func conv(seed: UInt64) -> Conv2d {
        var rng = SeededRandom(seed: seed)
        return Conv2d(2, 3, kernelSize: 3, rng: &rng)
    }

    private func values(_ container: ParameterContainer) -> [Float] {
        container.namedParameters().flatMap { $0.1.value.values }
    }

    func testSnapshotRestoresExactly() {
        let layer = conv(seed: 1)
        let saved = layer.snapshot()
        let original = values(layer)
        layer.restore(conv(seed: 2).snapshot())
        XCTAssertNotEqual(values(layer), original)
        layer.restore(saved)
        XCTAssertEqual(values(layer), original)
    }

    func testBlendInterpolatesAndExtrapolatesBetweenSnapshots() {
        let (start, end) = (conv(seed: 1).snapshot(), conv(seed: 2).snapshot())
        let startValues = start.flatMap(\.values), endValues = end.flatMap(\.values)
        let layer = conv(seed: 3)
        layer.blend(from: start, to: end, weight: 0)
        XCTAssertEqual(values(layer), startValues)
        layer.blend(from: start, to: end, weight: 1)
        for (got, want) in zip(values(layer), endValues) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        for weight: Float in [0.25, 1.5] {
            layer.blend(from: start, to: end, weight: weight)
            for (i, got) in values(layer).enumerated() {
                XCTAssertEqual(got, startValues[i] + weight * (endValues[i] - startValues[i]), accuracy: 1e-6)
            }
        }
        XCTAssertEqual(start.flatMap(\.values), startValues, "the snapshots themselves are left alone")
    }
}
