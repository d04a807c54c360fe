import Decode
import Engine
import Foundation
import Pipeline
import TestSupport
import XCTest

/// A multi-frame Gr on a stream: each frame from its own window, neighbours replaced at the ends and across cuts.
final class MultiFrameProcessorTests: XCTestCase {
    var folder: TemporaryFolder!
    var network: RRDBNet!
    var model: ModelInfo!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-multiframe")
        network = RRDBNet(.init(features: 4, blocks: 1, growth: 3, scale: 2, bicubicSkip: true, frames: 3), seed: 70)
        let path = folder.file("three.safetensors")
        try SafeTensors.write(SafeTensors.parameters(of: network), to: path, metadata: ["frames": "3", "skip": "bicubic"])
        model = try ModelStore.describe(path: path)
    }

    override func tearDown() { folder.remove() }

    /// A dark textured frame of one shot (`shift` pans it) or a bright one of another.
    func frame(_ shift: Int, bright: Bool = false) -> RGBImage {
        var image = RGBImage(width: 12, height: 8)
        for c in 0..<3 { for y in 0..<8 { for x in 0..<12 {
            let texture = Float(((x + shift) * 7 + y * 3 + c * 5) % 11) / 11
            image[c, y, x] = bright ? 0.7 + 0.3 * texture : 0.3 * texture
        } } }
        return image
    }

    func expected(_ window: [RGBImage]) -> [Float] {
        network(Tensor(shape: [1, 9, 8, 12], values: window.flatMap(\.pixels))).values.map { min(max($0, 0), 1) }
    }

    func testModelFileDescribesItsFrames() throws {
        XCTAssertEqual(model.configuration.frames, 3)
        XCTAssertEqual(model.configuration.scale, 2)
        XCTAssertThrowsError(try PretrainedUpscaler(model: model)) { XCTAssertTrue("\($0)".contains("3 consecutive frames"), "\($0)") }
    }

    func testEachFrameFromItsWindowInOrder() throws {
        let processor = try MultiFrameProcessor(model: model)
        let a = (0..<3).map { frame($0) }, b = (0..<2).map { frame($0, bright: true) }
        var out: [TimedFrame] = []
        for (i, image) in (a + b).enumerated() {
            out += try processor.submit(TimedFrame(image: image, pts: Int64(i * 10)))
            XCTAssertEqual(out.count, max(0, i), "a frame waits for its next neighbour only")
        }
        out += try processor.finish().frames
        XCTAssertEqual(out.map(\.pts), [0, 10, 20, 30, 40])
        XCTAssertEqual(out[0].image.width, 24)
        let windows = [[a[0], a[0], a[1]], [a[0], a[1], a[2]], [a[1], a[2], a[2]], [b[0], b[0], b[1]], [b[0], b[1], b[1]]]
        for (i, window) in windows.enumerated() {
            XCTAssertEqual(zip(out[i].image.pixels, expected(window)).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5, "frame \(i)")
        }
        // The neighbours matter: the same frame between other neighbours comes out otherwise.
        XCTAssertGreaterThan(zip(out[1].image.pixels, expected([a[1], a[1], a[1]])).map { abs($0 - $1) }.max()!, 1e-4)
    }

    func testOneFrameStream() throws {
        let processor = try MultiFrameProcessor(model: model)
        XCTAssertTrue(try processor.submit(TimedFrame(image: frame(0), pts: 0)).isEmpty)
        let out = try processor.finish().frames
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(zip(out[0].image.pixels, expected([frame(0), frame(0), frame(0)])).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
    }

    /// A model trained with motion compensation gets its neighbours aligned to the middle frame first.
    func testAlignedModelReadsCompensatedNeighbours() throws {
        let path = folder.file("aligned.safetensors")
        let alignment = BlockAlignment()
        try SafeTensors.write(SafeTensors.parameters(of: network), to: path,
                              metadata: ["frames": "3", "skip": "bicubic", "alignment": alignment.metadataValue])
        let processor = try MultiFrameProcessor(model: try ModelStore.describe(path: path))
        XCTAssertEqual(processor.alignment, alignment)
        let frames = (0..<3).map { frame(2 * $0) }
        var out: [TimedFrame] = []
        for (i, image) in frames.enumerated() { out += try processor.submit(TimedFrame(image: image, pts: Int64(i))) }
        out += try processor.finish().frames
        func aligned(_ image: RGBImage) -> RGBImage {
            RGBImage(width: 12, height: 8, pixels: alignment.align(image.pixels, to: frames[1].pixels, width: 12, height: 8))
        }
        let window = [aligned(frames[0]), frames[1], aligned(frames[2])]
        XCTAssertEqual(zip(out[1].image.pixels, expected(window)).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
        XCTAssertNotEqual(window[0].pixels, frames[0].pixels, "the test's neighbours must move")
        try SafeTensors.write(SafeTensors.parameters(of: network), to: path, metadata: ["frames": "3", "alignment": "optical-flow"])
        XCTAssertThrowsError(try MultiFrameProcessor(model: try ModelStore.describe(path: path))) {
            XCTAssertTrue("\($0)".contains("unknown alignment"), "\($0)")
        }
    }
}
