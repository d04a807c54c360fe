import Decode
import Engine

/// How a picture was stored, kept while its pixels are being upscaled so that the output is written in the same
/// form: bit depth, grey or colour, and the alpha plane at the input's size.
struct PictureForm {
    let bitDepth: Int
    let grey: Bool
    let alpha: [Float]?
    let width: Int
    let height: Int

    init(_ decoded: DecodedImage) {
        bitDepth = decoded.bitDepth
        grey = decoded.grey
        alpha = decoded.alpha
        width = decoded.image.width
        height = decoded.image.height
    }
}

/// The alpha plane of an upscaled picture. The networks are trained on colour, not coverage, so the plane is
/// upscaled with bicubic interpolation (MATLAB `imresize`, the resampler the bicubic method uses), clamped to
/// [0, 1]: edges stay where the colour's edges are, and opaque or transparent areas stay exactly so.
enum AlphaPlane {
    /// The method named in reports.
    static let method = "bicubic"

    /// `alpha` (`width * height`, row-major) upscaled to `upscaled`'s size: by the integer factor the model used, or,
    /// where an output size was asked for (`OutputSize`), straight to that size.
    static func upscaled(_ alpha: [Float], width: Int, height: Int, to upscaled: RGBImage) -> [Float] {
        precondition(alpha.count == width * height, "alpha plane of \(alpha.count) values for \(width)x\(height)")
        let scale = upscaled.width / width
        guard scale >= 1 && upscaled.width == width * scale && upscaled.height == height * scale else {
            let resampler = Resampler(inputWidth: width, inputHeight: height, outputWidth: upscaled.width, outputHeight: upscaled.height,
                                      kernel: .bicubic)
            return resampler.apply(alpha, channels: 1).map { min(max($0, 0), 1) }
        }
        if scale == 1 { return alpha }
        let resized = BicubicResize(factor: scale, direction: .up)(Tensor(shape: [1, 1, height, width], values: alpha))
        return resized.values.map { min(max($0, 0), 1) }
    }
}
