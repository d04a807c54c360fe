import Decode
import Pipeline
import XCTest

/// The mix is (1 − w) · primary + w · secondary, pixel by pixel, with both upscalers' own outputs.
final class MixedUpscalerTests: XCTestCase {
    func testOutputIsTheWeightedMeanOfBothOutputs() throws {
        var image = RGBImage(width: 7, height: 5)
        for i in image.pixels.indices { image.pixels[i] = Float(i % 11) / 10 }
        let bicubic = InterpolationUpscaler(kernel: .bicubic, scale: 2, name: "bicubic")
        let lanczos = InterpolationUpscaler(kernel: .lanczos3, scale: 2, name: "lanczos")
        let (a, b) = (try bicubic.upscale(image), try lanczos.upscale(image))
        XCTAssertNotEqual(a, b, "the two kernels must differ for the test to say anything")
        for weight: Float in [0, 0.3, 1] {
            let mixed = try MixedUpscaler(primary: bicubic, secondary: lanczos, weight: weight).upscale(image)
            XCTAssertEqual(mixed.width, a.width)
            XCTAssertEqual(mixed.height, a.height)
            for i in Swift.stride(from: 0, to: a.pixels.count, by: 13) {
                XCTAssertEqual(mixed.pixels[i], (1 - weight) * a.pixels[i] + weight * b.pixels[i], accuracy: 1e-6)
            }
        }
        XCTAssertEqual(MixedUpscaler(primary: bicubic, secondary: lanczos, weight: 0.3).scale, 2)
    }
}
