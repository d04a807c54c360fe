import CFFmpeg
import Decode
import XCTest

/// Round trips and reference values for YCbCr <-> RGB conversion (formulas of BT.601 / BT.709 / BT.2020).
final class ColourConverterTests: XCTestCase {
    func flatImage(_ rgb: (Float, Float, Float), width: Int = 16, height: Int = 8) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width { image[0, y, x] = rgb.0; image[1, y, x] = rgb.1; image[2, y, x] = rgb.2 } }
        return image
    }

    func sample(_ frame: Frame, plane: Int, x: Int, y: Int) -> Int { frame.sample(plane: plane, x: x, y: y) }

    func testBT709LimitedReferenceCodeValues() throws {
        // Pure red in BT.709 limited range 8-bit is Y 63, Cb 102, Cr 240 (ITU-R BT.709 table).
        let frame = try ColourConverter().frame(from: flatImage((1, 0, 0)), format: AV_PIX_FMT_YUV420P, matrix: .bt709, fullRange: false)
        XCTAssertEqual(sample(frame, plane: 0, x: 3, y: 3), 63)
        XCTAssertEqual(sample(frame, plane: 1, x: 2, y: 2), 102)
        XCTAssertEqual(sample(frame, plane: 2, x: 2, y: 2), 240)
        // White and black hit the nominal range ends.
        let white = try ColourConverter().frame(from: flatImage((1, 1, 1)), format: AV_PIX_FMT_YUV420P10LE, matrix: .bt2020, fullRange: false)
        XCTAssertEqual(sample(white, plane: 0, x: 0, y: 0), 940)
        XCTAssertEqual(sample(white, plane: 1, x: 0, y: 0), 512)
    }

    func testBT601FullRangeReferenceCodeValues() throws {
        // JFIF: Y = 0.299 R + 0.587 G + 0.114 B, Cb = 128 + (B - Y) / 1.772 scaled by 255.
        let frame = try ColourConverter().frame(from: flatImage((0, 0, 1)), format: AV_PIX_FMT_YUV444P, matrix: .bt601, fullRange: true)
        XCTAssertEqual(sample(frame, plane: 0, x: 0, y: 0), 29)
        XCTAssertEqual(sample(frame, plane: 1, x: 0, y: 0), 255)
        XCTAssertEqual(sample(frame, plane: 2, x: 0, y: 0), 107)
    }

    func testRoundTripOfFlatColoursIsWithinOneCodeValue() throws {
        let colours: [(Float, Float, Float)] = [(0.2, 0.5, 0.75), (0.9, 0.1, 0.3), (0, 0, 0), (1, 1, 1), (0.5, 0.5, 0.5)]
        let formats = [AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUVJ420P]
        for format in formats {
            for matrix in ColourMatrix.allCases {
                for fullRange in [false, true] {
                    for colour in colours {
                        let converter = ColourConverter()
                        let frame = try converter.frame(from: flatImage(colour), format: format, matrix: matrix, fullRange: fullRange)
                        let back = try converter.rgbImage(from: frame, matrix: matrix, fullRange: fullRange)
                        let step: Float = 1.5 / Float((1 << (format.bitDepth)) - 1) * (fullRange ? 1 : 255 / 219)
                        for (c, expected) in [colour.0, colour.1, colour.2].enumerated() {
                            XCTAssertEqual(back[c, 4, 5], expected, accuracy: step * 2, "\(format.name) \(matrix) full=\(fullRange)")
                        }
                    }
                }
            }
        }
    }

    func testChromaIsInterpolatedNotBlocky() throws {
        // A horizontal red/blue edge in 4:2:0: decoded chroma ramps over about two pixels instead of jumping by blocks.
        var image = RGBImage(width: 16, height: 4)
        for y in 0..<4 { for x in 0..<16 { image[x < 8 ? 0 : 2, y, x] = 1 } }
        let converter = ColourConverter()
        let frame = try converter.frame(from: image, format: AV_PIX_FMT_YUV420P, matrix: .bt709, fullRange: true)
        let back = try converter.rgbImage(from: frame, matrix: .bt709, fullRange: true)
        XCTAssertEqual(back[0, 1, 2], 1, accuracy: 0.02)
        XCTAssertEqual(back[2, 1, 13], 1, accuracy: 0.02)
        let middle = back[0, 1, 7]
        XCTAssertTrue(middle > 0.2 && middle < 0.95, "edge pixel is a blend, got \(middle)")
    }

    func testRGBFormatsGoThroughSwscaleWithoutAMatrix() throws {
        let converter = ColourConverter()
        let colour: (Float, Float, Float) = (0.25, 0.5, 1.0)
        for format in [AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB48BE, AV_PIX_FMT_GBRP] {
            let frame = try converter.frame(from: flatImage(colour), format: format, matrix: .bt709, fullRange: false)
            let back = try converter.rgbImage(from: frame, matrix: .bt601, fullRange: true)
            XCTAssertEqual(back[0, 2, 2], 0.25, accuracy: 0.003, format.name)
            XCTAssertEqual(back[1, 2, 2], 0.5, accuracy: 0.003, format.name)
            XCTAssertEqual(back[2, 2, 2], 1.0, accuracy: 0.003, format.name)
        }
    }

    func testOddSizesAndNonPlanarFormats() throws {
        let converter = ColourConverter()
        let image = flatImage((0.3, 0.6, 0.1), width: 15, height: 7)
        for format in [AV_PIX_FMT_YUV420P, AV_PIX_FMT_NV12, AV_PIX_FMT_YUYV422] {
            let frame = try converter.frame(from: image, format: format, matrix: .bt601, fullRange: false)
            let back = try converter.rgbImage(from: frame, matrix: .bt601, fullRange: false)
            XCTAssertEqual(back.width, 15)
            for c in 0..<3 { XCTAssertEqual(back.channelMeans[c], image.channelMeans[c], accuracy: 0.02, format.name) }
        }
    }

    /// YCbCr formats with an alpha plane (ProRes 4444's, VP9's, FFV1's) take the alpha given, beside the colour.
    func testYUVWithAlphaKeepsTheAlphaPlane() throws {
        let converter = ColourConverter()
        let image = flatImage((0.3, 0.6, 0.1), width: 16, height: 8)
        let alpha = (0..<128).map { Float($0 % 16) / 15 }
        for format in [AV_PIX_FMT_YUVA420P, AV_PIX_FMT_YUVA444P10LE, AV_PIX_FMT_YUVA444P16LE] {
            let frame = try converter.frame(from: image, alpha: alpha, format: format, matrix: .bt709, fullRange: false)
            let plane = try XCTUnwrap(converter.alphaPlane(from: frame), format.name)
            for (read, given) in zip(plane, alpha) { XCTAssertEqual(read, given, accuracy: 0.003, format.name) }
            let back = try converter.rgbImage(from: frame, matrix: .bt709, fullRange: false)
            for c in 0..<3 { XCTAssertEqual(back.channelMeans[c], image.channelMeans[c], accuracy: 0.01, format.name) }
            // Without an alpha plane given, opaque.
            let opaque = try converter.frame(from: image, format: format, matrix: .bt709, fullRange: false)
            XCTAssertTrue(try XCTUnwrap(converter.alphaPlane(from: opaque)).allSatisfy { $0 > 0.998 }, format.name)
        }
    }
}
