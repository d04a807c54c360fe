import CFFmpeg

/// The shape of a planar YUV pixel format that the converters handle directly: three planes
/// (Y, Cb, Cr), little-endian integer samples of 8 to 16 bits, chroma subsampled by at most 2.
struct PlanarYUVLayout: Equatable {
    let bitDepth: Int
    let bytesPerSample: Int
    let chromaShiftX: Int
    let chromaShiftY: Int

    init?(_ format: AVPixelFormat) {
        guard let descriptor = av_pix_fmt_desc_get(format) else { return nil }
        let d = descriptor.pointee
        let forbidden = UInt64(AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_BE | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_FLOAT
            | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_ALPHA)
        guard d.nb_components == 3, d.flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0, d.flags & forbidden == 0,
              d.log2_chroma_w <= 1, d.log2_chroma_h <= 1 else { return nil }
        let components = withUnsafeBytes(of: d.comp) { Array($0.bindMemory(to: AVComponentDescriptor.self).prefix(3)) }
        let depth = Int(components[0].depth)
        let bytes = depth > 8 ? 2 : 1
        for (i, component) in components.enumerated() {
            guard Int(component.plane) == i, Int(component.depth) == depth, component.shift == 0,
                  Int(component.step) == bytes, component.offset == 0 else { return nil }
        }
        guard depth >= 8 && depth <= 16 else { return nil }
        bitDepth = depth
        bytesPerSample = bytes
        chromaShiftX = Int(d.log2_chroma_w)
        chromaShiftY = Int(d.log2_chroma_h)
    }

    /// Code values of black / white luma and neutral chroma, and the spans that map to [0, 1] and [-0.5, 0.5].
    func quantisation(fullRange: Bool) -> (lumaOffset: Float, lumaSpan: Float, chromaOffset: Float, chromaSpan: Float) {
        let unit = Float(1 << (bitDepth - 8))
        if fullRange {
            let maximum = Float((1 << bitDepth) - 1)
            return (0, maximum, Float(1 << (bitDepth - 1)), maximum)
        }
        return (16 * unit, 219 * unit, 128 * unit, 224 * unit)
    }
}

/// Facts about pixel formats by FFmpeg's names, for modules that do not import FFmpeg.
public enum PixelFormats {
    /// True for the format FFmpeg names `name` where it has an alpha plane of its own (palette formats, whose
    /// transparency lives in the palette, do not count).
    public static func keepsAlpha(named name: String) -> Bool { av_get_pix_fmt(name).keepsAlpha }

    /// True for YCbCr formats whose chroma is stored at less than the luma's resolution (4:2:0, 4:2:2, 4:1:1, ...:
    /// most video, and JPEG), so that colour edges are softer than the picture's own; false for an unknown name.
    public static func hasSubsampledChroma(named name: String) -> Bool {
        guard let descriptor = av_pix_fmt_desc_get(av_get_pix_fmt(name)) else { return false }
        return descriptor.pointee.log2_chroma_w > 0 || descriptor.pointee.log2_chroma_h > 0
    }

    /// True for palette formats (`pal8`: GIF frames, some AVI), whose entries may be transparent.
    public static func isPalette(named name: String) -> Bool {
        let format = av_get_pix_fmt(name)
        return format != AV_PIX_FMT_NONE && format.isPalette
    }
}

extension AVPixelFormat {
    /// FFmpeg's name of the format.
    public var name: String { av_get_pix_fmt_name(self).map { String(cString: $0) } ?? "unknown" }

    /// True for RGB and palette formats, whose samples carry no YCbCr matrix.
    public var isRGBFamily: Bool {
        guard let descriptor = av_pix_fmt_desc_get(self) else { return false }
        return descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL) != 0
    }

    /// True for grey formats (one colour component, with or without alpha: gray, gray16, ya8, ...).
    public var isGrey: Bool {
        guard let descriptor = av_pix_fmt_desc_get(self) else { return false }
        let alpha = descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
        return Int(descriptor.pointee.nb_components) - (alpha ? 1 : 0) == 1 && descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_PAL) == 0
    }

    /// True for formats with an alpha component (palette formats included: their entries may be transparent).
    public var hasAlpha: Bool {
        guard let descriptor = av_pix_fmt_desc_get(self) else { return false }
        return descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
    }

    /// True for formats with an alpha plane of their own (not a palette's transparent entries).
    var keepsAlpha: Bool { hasAlpha && !isPalette }

    /// True for palette formats.
    public var isPalette: Bool {
        guard let descriptor = av_pix_fmt_desc_get(self) else { return false }
        return descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0
    }

    /// True where chroma has fewer samples than luma (4:2:0, 4:2:2, 4:1:1).
    public var hasSubsampledChroma: Bool {
        guard let descriptor = av_pix_fmt_desc_get(self) else { return false }
        return descriptor.pointee.log2_chroma_w > 0 || descriptor.pointee.log2_chroma_h > 0
    }

    /// Bits per component of the first component.
    public var bitDepth: Int {
        guard let descriptor = av_pix_fmt_desc_get(self) else { return 8 }
        return Int(descriptor.pointee.comp.0.depth)
    }
}
