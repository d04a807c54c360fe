import CFFmpeg

/// What kind of data a stream carries.
public enum MediaKind: String, Sendable, Codable {
    case video, audio, subtitle, attachment, data, unknown

    init(_ type: AVMediaType) {
        switch type {
        case AVMEDIA_TYPE_VIDEO: self = .video
        case AVMEDIA_TYPE_AUDIO: self = .audio
        case AVMEDIA_TYPE_SUBTITLE: self = .subtitle
        case AVMEDIA_TYPE_ATTACHMENT: self = .attachment
        case AVMEDIA_TYPE_DATA: self = .data
        default: self = .unknown
        }
    }
}

/// An exact rational number, as FFmpeg's AVRational.
public struct Rational: Sendable, Equatable, Codable, CustomStringConvertible {
    public var numerator: Int32
    public var denominator: Int32

    public init(_ numerator: Int32, _ denominator: Int32) {
        self.numerator = numerator
        self.denominator = denominator
    }

    init(_ value: AVRational) { self.init(value.num, value.den) }

    var av: AVRational { AVRational(num: numerator, den: denominator) }
    public var isValid: Bool { numerator > 0 && denominator > 0 }
    public var doubleValue: Double { denominator == 0 ? 0 : Double(numerator) / Double(denominator) }
    public var description: String { "\(numerator)/\(denominator)" }
}

/// What FFmpeg's codec descriptors say of a codec, by FFmpeg's codec name.
public enum CodecFacts {
    /// True for a codec FFmpeg marks lossy (`AV_CODEC_PROP_LOSSY`: H.264, HEVC, VP9, AV1, MPEG-2, JPEG, WebP, ...):
    /// its pictures may carry block edges and ringing that a reading of the blur would take for detail. Codecs that
    /// can be either (H.264, JPEG 2000, WebP) count as lossy, since their lossless modes are rare in footage; lossless
    /// ones (FFV1, PNG, HuffYUV) and uncompressed video do not; an unknown name does not.
    public static func isLossy(_ codecName: String) -> Bool {
        guard let descriptor = avcodec_descriptor_get_by_name(codecName) else { return false }
        return descriptor.pointee.props & AV_CODEC_PROP_LOSSY != 0
    }
}

/// A value snapshot of one demuxed stream, taken when the input is opened.
public struct StreamInfo: Sendable {
    public let index: Int
    public let kind: MediaKind
    public let codecName: String
    public let timeBase: Rational
    /// Video only: coded size and pixel format (nil for other kinds).
    public let width: Int
    public let height: Int
    public let pixelFormatName: String?
    public let colour: ColourDescription
    public let averageFrameRate: Rational
    public let sampleAspectRatio: Rational
    /// Frame count stated by the container, nil when it states none.
    public let statedFrameCount: Int?
    /// Duration in seconds stated by the container, nil when unknown.
    public let statedDuration: Double?
    public let language: String?
    /// Video only: the field order the stream states (`progressive`, `tt`, `bb`, `tb`, `bt`, as ffprobe names
    /// them), nil when it states none.
    public let fieldOrder: String?
    /// True when the stream states interlaced fields.
    public var isInterlaced: Bool { fieldOrder.map { $0 != "progressive" } ?? false }
    /// True for cover art and other still pictures stored as a video stream.
    public let isAttachedPicture: Bool
    /// Why a container could not be written with this stream copied as it is (a damaged header left it without
    /// a codec, a sample rate, channels or a picture size); nil when its parameters are whole.
    public let incompleteParameters: String?
    /// Video only: the HDR10 metadata the container states for the stream (the bitstream's is on its frames).
    public let hdr: HDRMetadata?

    /// `indexListsEveryFrame`: the container's index has an entry for every frame that holds data (AVI), so its
    /// length is the frame count where the stated one also counts the empty chunks AVI repeats a frame with (the
    /// demuxer skips them: opencv-doc's tree.avi states 444 frames, of which 68 hold data).
    init(stream: UnsafeMutablePointer<AVStream>, indexListsEveryFrame: Bool = false) {
        let par = stream.pointee.codecpar!.pointee
        switch MediaKind(par.codec_type) {
        case .audio where par.codec_id == AV_CODEC_ID_NONE, .video where par.codec_id == AV_CODEC_ID_NONE:
            incompleteParameters = "no codec"
        case .audio where par.sample_rate <= 0: incompleteParameters = "no sample rate"
        case .audio where par.ch_layout.nb_channels <= 0: incompleteParameters = "no channels"
        case .video where par.width <= 0 || par.height <= 0: incompleteParameters = "no picture size"
        default: incompleteParameters = nil
        }
        index = Int(stream.pointee.index)
        kind = MediaKind(par.codec_type)
        codecName = String(cString: avcodec_get_name(par.codec_id))
        timeBase = Rational(stream.pointee.time_base)
        width = Int(par.width)
        height = Int(par.height)
        if kind == .video, let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)) {
            pixelFormatName = String(cString: name)
        } else {
            pixelFormatName = nil
        }
        colour = ColourDescription(parameters: par)
        averageFrameRate = Rational(stream.pointee.avg_frame_rate)
        sampleAspectRatio = Rational(par.sample_aspect_ratio)
        if stream.pointee.nb_frames > 0 {
            let indexed = indexListsEveryFrame ? StreamInfo.framesInWholeIndex(stream) : nil
            statedFrameCount = min(indexed ?? Int.max, Int(stream.pointee.nb_frames))
        } else {
            statedFrameCount = nil
        }
        if stream.pointee.duration != onsr_nopts_value() && stream.pointee.duration > 0 {
            statedDuration = Double(stream.pointee.duration) * Rational(stream.pointee.time_base).doubleValue
        } else {
            statedDuration = nil
        }
        if let entry = av_dict_get(stream.pointee.metadata, "language", nil, 0) {
            language = String(cString: entry.pointee.value)
        } else {
            language = nil
        }
        switch par.field_order {
        case AV_FIELD_PROGRESSIVE: fieldOrder = "progressive"
        case AV_FIELD_TT: fieldOrder = "tt"
        case AV_FIELD_BB: fieldOrder = "bb"
        case AV_FIELD_TB: fieldOrder = "tb"
        case AV_FIELD_BT: fieldOrder = "bt"
        default: fieldOrder = nil
        }
        isAttachedPicture = stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0
        hdr = kind == .video ? HDRMetadata(stream: stream) : nil
    }

    /// The index's length where it reaches the stream's stated end (within two frames), else nil: a file cut short
    /// loses AVI's index, which sits at its end, and the demuxer then indexes only the packets it has read. (So an AVI
    /// that ends on repeated frames still reads as cut short: nothing here tells its index from a partial one.)
    static func framesInWholeIndex(_ stream: UnsafeMutablePointer<AVStream>) -> Int? {
        let entries = avformat_index_get_entries_count(stream)
        let rate = Rational(stream.pointee.avg_frame_rate), timeBase = Rational(stream.pointee.time_base)
        guard entries > 0, stream.pointee.duration > 0, stream.pointee.duration != onsr_nopts_value(), rate.isValid,
              timeBase.isValid, rate.doubleValue > 0, let last = avformat_index_get_entry(stream, entries - 1) else { return nil }
        let frameTicks = 1 / (rate.doubleValue * timeBase.doubleValue)
        return Double(last.pointee.timestamp) + 2 * frameTicks >= Double(stream.pointee.duration) ? Int(entries) : nil
    }
}
