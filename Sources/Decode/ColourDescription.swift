import CFFmpeg

/// The YCbCr matrix a video uses.
public enum ColourMatrix: String, Sendable, Codable, CaseIterable {
    case bt601, bt709, bt2020, smpte240m, fcc

    /// Luma weights (Kr, Kb) of the matrix.
    public var lumaWeights: (red: Float, blue: Float) {
        switch self {
        case .bt601: return (0.299, 0.114)
        case .bt709: return (0.2126, 0.0722)
        case .bt2020: return (0.2627, 0.0593)
        case .smpte240m: return (0.212, 0.087)
        case .fcc: return (0.30, 0.11)
        }
    }

    var avValue: AVColorSpace {
        switch self {
        case .bt601: return AVCOL_SPC_SMPTE170M
        case .bt709: return AVCOL_SPC_BT709
        case .bt2020: return AVCOL_SPC_BT2020_NCL
        case .smpte240m: return AVCOL_SPC_SMPTE240M
        case .fcc: return AVCOL_SPC_FCC
        }
    }

    /// The matrix a tag names, nil when the tag says nothing usable.
    init?(_ space: AVColorSpace) {
        switch space {
        case AVCOL_SPC_BT709: self = .bt709
        case AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M: self = .bt601
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: self = .bt2020
        case AVCOL_SPC_SMPTE240M: self = .smpte240m
        case AVCOL_SPC_FCC: self = .fcc
        default: return nil
        }
    }
}

/// Colour tags of a video stream or frame, kept as FFmpeg's raw enum values so that they pass through
/// unchanged, with the matrix and range the pixels are actually converted with.
public struct ColourDescription: Sendable, Equatable {
    /// AVColorSpace as stated (may be unspecified).
    public var space: UInt32
    /// AVColorRange as stated (may be unspecified).
    public var range: UInt32
    /// AVColorPrimaries as stated.
    public var primaries: UInt32
    /// AVColorTransferCharacteristic as stated.
    public var transfer: UInt32
    /// AVChromaLocation as stated.
    public var chromaLocation: UInt32

    init(parameters par: AVCodecParameters) {
        space = UInt32(par.color_space.rawValue)
        range = UInt32(par.color_range.rawValue)
        primaries = UInt32(par.color_primaries.rawValue)
        transfer = UInt32(par.color_trc.rawValue)
        chromaLocation = UInt32(par.chroma_location.rawValue)
    }

    init(frame: AVFrame) {
        space = UInt32(frame.colorspace.rawValue)
        range = UInt32(frame.color_range.rawValue)
        primaries = UInt32(frame.color_primaries.rawValue)
        transfer = UInt32(frame.color_trc.rawValue)
        chromaLocation = UInt32(frame.chroma_location.rawValue)
    }

    /// sRGB-like full-range description used for still images.
    public static let stillImage = ColourDescription(
        space: UInt32(AVCOL_SPC_BT470BG.rawValue), range: UInt32(AVCOL_RANGE_JPEG.rawValue),
        primaries: UInt32(AVCOL_PRI_UNSPECIFIED.rawValue), transfer: UInt32(AVCOL_TRC_UNSPECIFIED.rawValue),
        chromaLocation: UInt32(AVCHROMA_LOC_UNSPECIFIED.rawValue))

    public init(space: UInt32, range: UInt32, primaries: UInt32, transfer: UInt32, chromaLocation: UInt32) {
        self.space = space
        self.range = range
        self.primaries = primaries
        self.transfer = transfer
        self.chromaLocation = chromaLocation
    }

    /// The matrix the pixels use: the tag when there is one, otherwise what players assume for the height
    /// (BT.709 from 720 lines up, BT.601 below).
    public func matrix(height: Int) -> ColourMatrix {
        ColourMatrix(AVColorSpace(rawValue: numericCast(space))) ?? (height >= 720 ? .bt709 : .bt601)
    }

    /// True when samples span the full code range; untagged YUV is limited range, as players assume.
    /// True for high-dynamic-range transfer: PQ (SMPTE ST 2084, HDR10) or HLG.
    public var isHDR: Bool {
        transfer == UInt32(AVCOL_TRC_SMPTE2084.rawValue) || transfer == UInt32(AVCOL_TRC_ARIB_STD_B67.rawValue)
    }

    public func isFullRange(pixelFormat: AVPixelFormat) -> Bool {
        if range == UInt32(AVCOL_RANGE_JPEG.rawValue) { return true }
        if range == UInt32(AVCOL_RANGE_MPEG.rawValue) { return false }
        switch pixelFormat {
        case AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P: return true
        default: return false
        }
    }

    /// `isFullRange(pixelFormat:)` for a format given by name.
    public func isFullRange(pixelFormatName: String) -> Bool { isFullRange(pixelFormat: av_get_pix_fmt(pixelFormatName)) }

    /// The tags to write on an output that was converted with `matrix` and `fullRange`: the stated matrix
    /// and range made explicit, primaries and transfer passed through.
    public func resolved(matrix: ColourMatrix, fullRange: Bool) -> ColourDescription {
        var out = self
        if ColourMatrix(AVColorSpace(rawValue: numericCast(space))) == nil { out.space = UInt32(matrix.avValue.rawValue) }
        out.range = UInt32((fullRange ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG).rawValue)
        return out
    }

    /// Names as ffprobe prints them, for reports.
    public var names: [String: String] {
        func name(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "unknown" }
        return [
            "space": name(av_color_space_name(AVColorSpace(rawValue: numericCast(space)))),
            "range": name(av_color_range_name(AVColorRange(rawValue: numericCast(range)))),
            "primaries": name(av_color_primaries_name(AVColorPrimaries(rawValue: numericCast(primaries)))),
            "transfer": name(av_color_transfer_name(AVColorTransferCharacteristic(rawValue: numericCast(transfer)))),
        ]
    }
}
