import Pipeline
import XCTest

/// Block matching of a neighbour to the middle frame.
final class BlockAlignmentTests: XCTestCase {
    /// Planar RGB texture, moved by (`dx`, `dy`): the value at (x, y) is the unmoved one at (x - dx, y - dy).
    func texture(width: Int, height: Int, dx: Int = 0, dy: Int = 0) -> [Float] {
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        for c in 0..<3 { for y in 0..<height { for x in 0..<width {
            let (u, v) = (Float(x - dx), Float(y - dy))
            pixels[(c * height + y) * width + x] = 0.5 + 0.2 * sinf(u * 0.9 + Float(c)) * cosf(v * 0.7) + 0.1 * sinf(u * v * 0.05)
        } } }
        return pixels
    }

    func testAMovedFrameIsMovedBack() {
        let (width, height) = (40, 32)
        let middle = texture(width: width, height: height)
        let alignment = BlockAlignment()
        for (dx, dy) in [(3, -2), (-4, 4), (1, 0)] {
            let neighbour = texture(width: width, height: height, dx: dx, dy: dy)
            let aligned = alignment.align(neighbour, to: middle, width: width, height: height)
            // Blocks whose match lies inside the picture come back exactly.
            for c in 0..<3 { for y in 8..<24 { for x in 8..<32 {
                XCTAssertEqual(aligned[(c * height + y) * width + x], middle[(c * height + y) * width + x], accuracy: 1e-6, "(\(dx), \(dy)) at \(x), \(y)")
            } } }
            XCTAssertGreaterThan(zip(neighbour, middle).map { abs($0 - $1) }.max()!, 0.05, "the test must move the frame")
        }
    }

    func testStillFramesAndFlatNoiseStayPut() {
        let (width, height) = (24, 16)
        let middle = texture(width: width, height: height)
        let alignment = BlockAlignment()
        XCTAssertEqual(alignment.align(middle, to: middle, width: width, height: height), middle)
        // A flat picture with faint noise: no displacement beats standing still by more than its cost.
        func faint(_ i: Int, _ seed: Int) -> Float { 0.5 + 0.001 * Float((i * 7919 + seed * 104_729) % 2001 - 1000) / 1000 }
        let flat = (0..<(3 * width * height)).map { faint($0, 1) }
        let other = (0..<(3 * width * height)).map { faint($0, 2) }
        XCTAssertEqual(alignment.align(other, to: flat, width: width, height: height), other)
    }

    func testMetadataNameRoundTrips() {
        let alignment = BlockAlignment(block: 8, search: 4)
        XCTAssertEqual(alignment.metadataValue, "block8-search4")
        XCTAssertEqual(BlockAlignment(metadataValue: alignment.metadataValue), alignment)
        XCTAssertNil(BlockAlignment(metadataValue: "optical-flow"))
        XCTAssertNil(BlockAlignment(metadataValue: "block0-search4"))
    }
}
