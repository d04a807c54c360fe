import Decode
import Engine
import Foundation
import Pipeline
import TestSupport
import XCTest

final class ModelStoreTests: XCTestCase {
    func testArchitectureIsReadFromTensorShapesAndWeightsLoad() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for scale in [2, 4] {
            let net = RRDBNet(.init(features: 8, blocks: 2, growth: 4, scale: scale), seed: 3)
            let path = folder.file("model-x\(scale).safetensors")
            // A BasicSR-converted file has no metadata: everything must come from the shapes.
            try SafeTensors.write(SafeTensors.parameters(of: net), to: path)
            let info = try ModelStore.describe(path: path)
            XCTAssertEqual(info.configuration, .init(features: 8, blocks: 2, growth: 4, scale: scale))
            let upscaler = try PretrainedUpscaler(model: info)
            var image = RGBImage(width: 12, height: 8)
            for i in 0..<image.pixels.count { image.pixels[i] = Float(i % 17) / 17 }
            let result = try upscaler.upscale(image)
            XCTAssertEqual(result.width, 12 * scale)
            let reference = net(Tensor(shape: [1, 3, 8, 12], values: image.pixels))
            for i in 0..<result.pixels.count { XCTAssertEqual(result.pixels[i], min(max(reference[i], 0), 1), accuracy: 1e-5) }
            XCTAssertThrowsError(try ModelStore.resolve(path, scale: scale == 2 ? 4 : 2))
            XCTAssertEqual(try ModelStore.resolve(path, scale: scale).name, "model-x\(scale)")
        }
    }

    func testUnknownModelsAndNonModelsAreClearErrors() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        XCTAssertThrowsError(try ModelStore.resolve("no-such-model", scale: 2)) { XCTAssertEqual(($0 as? JobError)?.kind, .usage) }
        try SafeTensors.write([("x", Tensor(shape: [2]))], to: folder.file("other.safetensors"))
        XCTAssertThrowsError(try ModelStore.describe(path: folder.file("other.safetensors"))) {
            XCTAssertTrue("\($0)".contains("not an RRDBNet"), "\($0)")
        }
    }

    func testShippedModelsDescribeThemselves() {
        for model in ModelStore.shipped() {
            XCTAssertNotNil(model.metadata["steps"], "\(model.name) records its training")
            XCTAssertTrue([2, 4].contains(model.configuration.scale))
        }
    }

    func testShippedBlurEstimatorsLoadAndAreNotListedAsModels() throws {
        XCTAssertNotNil(try ModelStore.shippedEstimator(scale: 2), "the x2 blur estimator is shipped")
        XCTAssertFalse(ModelStore.shipped().contains { $0.name.hasPrefix("blur-estimator") }, "an estimator is not a Gr")
        // An RRDBNet is not an estimator, and says so.
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let net = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 3)
        try SafeTensors.write(SafeTensors.parameters(of: net), to: folder.file("gr.safetensors"))
        XCTAssertThrowsError(try ModelStore.loadEstimator(path: folder.file("gr.safetensors"), scale: 2)) {
            XCTAssertTrue("\($0)".contains("not a blur estimator"), "\($0)")
        }
    }
}
