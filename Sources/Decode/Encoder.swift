import CFFmpeg

/// What the user asked of the video encoder.
public struct EncoderSettings: Sendable, Equatable {
    /// FFmpeg encoder name, e.g. `libx264`, `libx265`, `libsvtav1`, `ffv1`.
    public var codec: String = "libx264"
    /// Constant rate factor; applied only when the encoder has a `crf` option.
    public var crf: Double? = nil
    /// Encoder preset, e.g. `medium`; applied only when the encoder has a `preset` option.
    public var preset: String? = nil
    /// Output pixel format; nil picks the least lossy format the encoder takes.
    public var pixelFormat: String? = nil
    /// Extra `key=value` options, applied in order (codec-private options first, then generic ones).
    public var options: [(key: String, value: String)] = []
    /// Encoder threads; 0 lets the encoder pick.
    public var threads: Int = 0
    /// False when `codec` is the default rather than the user's choice: a numbered picture sequence is then
    /// written with its container's own picture codec instead.
    public var codecChosen = false

    public init() {}

    public static func == (lhs: EncoderSettings, rhs: EncoderSettings) -> Bool {
        lhs.codec == rhs.codec && lhs.crf == rhs.crf && lhs.preset == rhs.preset && lhs.pixelFormat == rhs.pixelFormat
            && lhs.threads == rhs.threads && lhs.options.map { "\($0.key)=\($0.value)" } == rhs.options.map { "\($0.key)=\($0.value)" }
    }

    /// Gives an encoder whose own default quality is poor a good one, where the user set none. mjpeg's default is
    /// a 200 kb/s budget, so a JPEG gets a fixed quantiser of 2 instead (FFmpeg's `-q:v 2`); libtheora's the same budget,
    /// so Ogg video gets quality 7 of 10; libvpx-vp9's is 256 kb/s,
    /// so WebM gets constant quality at CRF 31 (Google's suggestion for 720p to 1080p) with row threading: on 40
    /// frames of the sample scaled to 1280x720 (`ffmpeg -c:v libvpx-vp9 -b:v 256k` against `-crf 31 -b:v 0 -row-mt
    /// 1`), 40.5 against 48.9 dB PSNR, 2.24 against 2.93 s (median of 3) on two cores of an AMD EPYC family 25 model
    /// 17 (Zen 4).
    public mutating func applyQualityDefault() {
        guard crf == nil, options.isEmpty else { return }
        switch codec {
        case "mjpeg":
            options = [(key: "flags", value: "+qscale"), (key: "global_quality", value: String(2 * EncoderSettings.lambdaPerQuantiser))]
        case "libtheora":
            // Its own default is a 200 kb/s budget: on 40 frames of the sample at 1280x720 (`ffmpeg -c:v libtheora [-q:v
            // 7]`), 28.7 against 48.6 dB PSNR. 7 of 10 is the quality Theora's tools suggest for good video.
            options = [(key: "flags", value: "+qscale"), (key: "global_quality", value: String(7 * EncoderSettings.lambdaPerQuantiser))]
        case "libvpx-vp9":
            crf = 31
            options = [(key: "b", value: "0"), (key: "row-mt", value: "1")]
        default:
            break
        }
    }

    /// Adds `entries` to the encoder's parameter string option `key` (`x265-params`, ...) ahead of what the user gave
    /// there, so that the user's own entries, parsed later, win.
    public mutating func prependParameters(_ key: String, _ entries: String) {
        if let index = options.lastIndex(where: { $0.key == key }) {
            options[index].value = entries + ":" + options[index].value
        } else {
            options.append((key: key, value: entries))
        }
    }

    /// False where the user's options turn the encoder's closed captions off (`a53cc=0`).
    public var keepsClosedCaptions: Bool {
        !options.contains { $0.key == "a53cc" && ["0", "false"].contains($0.value.lowercased()) }
    }

    /// FFmpeg's FF_QP2LAMBDA: the rate-distortion lambda of one quantiser step.
    static let lambdaPerQuantiser = 118

    /// True for encoders that take full-range YUV only: FFmpeg's mjpeg refuses video range at normal compliance
    /// (JPEG files carry no range, and readers take them as full range).
    public static func takesFullRangeOnly(_ name: String) -> Bool { name == "mjpeg" }

    /// True when this FFmpeg has an encoder of that name.
    public static func encoderExists(_ name: String) -> Bool { avcodec_find_encoder_by_name(name) != nil }
}

/// The frame geometry, timing and colour an encoder is opened for.
public struct VideoFormat: Sendable {
    public var width: Int
    public var height: Int
    public var timeBase: Rational
    public var frameRate: Rational
    public var sampleAspectRatio: Rational
    public var colour: ColourDescription
    /// The source's pixel format, from which the least lossy encoder format is chosen.
    public var sourcePixelFormat: String

    public init(width: Int, height: Int, timeBase: Rational, frameRate: Rational, sampleAspectRatio: Rational,
                colour: ColourDescription, sourcePixelFormat: String) {
        self.width = width
        self.height = height
        self.timeBase = timeBase
        self.frameRate = frameRate
        self.sampleAspectRatio = sampleAspectRatio
        self.colour = colour
        self.sourcePixelFormat = sourcePixelFormat
    }
}

/// Owns an `AVCodecContext` that encodes video frames.
public final class Encoder: @unchecked Sendable {
    let context: UnsafeMutablePointer<AVCodecContext>
    /// The pixel format frames must arrive in.
    public let pixelFormat: AVPixelFormat
    /// True where frames must come with a palette of their own (`pal8`: `GIFPalette` makes them).
    public var takesPalettedFrames: Bool { pixelFormat == AV_PIX_FMT_PAL8 }
    /// Name of `pixelFormat`, e.g. `yuv420p10le`.
    public var pixelFormatName: String { pixelFormat.name }
    /// The encoder's name.
    public let codecName: String
    /// The time base packets come out in.
    public var timeBase: Rational { Rational(context.pointee.time_base) }

    /// Opens an encoder; `globalHeader` is the muxer's request for out-of-band headers.
    public init(settings: EncoderSettings, format: VideoFormat, globalHeader: Bool) throws {
        guard let codec = avcodec_find_encoder_by_name(settings.codec) else {
            throw MediaError(code: onsr_averror(ENOSYS), call: "avcodec_find_encoder_by_name", context: settings.codec)
        }
        guard codec.pointee.type == AVMEDIA_TYPE_VIDEO else {
            throw MediaError(code: onsr_averror(EINVAL), call: "avcodec_find_encoder_by_name", context: "\(settings.codec) is not a video encoder")
        }
        let chosen = try Encoder.choosePixelFormat(codec: codec, settings: settings, source: format.sourcePixelFormat)
        guard let allocated = avcodec_alloc_context3(codec) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avcodec_alloc_context3", context: settings.codec)
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = allocated
        do {
            let ctx = allocated
            ctx.pointee.width = Int32(format.width)
            ctx.pointee.height = Int32(format.height)
            ctx.pointee.pix_fmt = chosen
            ctx.pointee.time_base = format.timeBase.av
            if format.frameRate.isValid { ctx.pointee.framerate = format.frameRate.av }
            if format.sampleAspectRatio.isValid { ctx.pointee.sample_aspect_ratio = format.sampleAspectRatio.av }
            // Upscaled frames are whole pictures, never pairs of fields: said so in the stream (MOV's `fiel`,
            // Matroska's FieldOrder), whatever the input stated.
            ctx.pointee.field_order = AV_FIELD_PROGRESSIVE
            ctx.pointee.colorspace = AVColorSpace(rawValue: numericCast(format.colour.space))
            ctx.pointee.color_range = AVColorRange(rawValue: numericCast(format.colour.range))
            ctx.pointee.color_primaries = AVColorPrimaries(rawValue: numericCast(format.colour.primaries))
            ctx.pointee.color_trc = AVColorTransferCharacteristic(rawValue: numericCast(format.colour.transfer))
            ctx.pointee.chroma_sample_location = AVChromaLocation(rawValue: numericCast(format.colour.chromaLocation))
            ctx.pointee.thread_count = Int32(settings.threads)
            if globalHeader { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
            if let crf = settings.crf {
                try Encoder.set("crf", String(crf), on: ctx, codec: settings.codec)
            }
            if let preset = settings.preset {
                try Encoder.set("preset", preset, on: ctx, codec: settings.codec)
            }
            for option in Encoder.quieted(settings) {
                try Encoder.set(option.key, option.value, on: ctx, codec: settings.codec)
            }
            try check(avcodec_open2(ctx, codec, nil), "avcodec_open2", settings.codec)
        } catch {
            avcodec_free_context(&owned)
            throw error
        }
        context = allocated
        pixelFormat = chosen
        codecName = settings.codec
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&doomed)
    }

    /// True when the encoder has an option of that name (codec-private or generic).
    public static func hasOption(_ name: String, codec: String) -> Bool {
        guard let found = avcodec_find_encoder_by_name(codec), let privClass = found.pointee.priv_class else { return false }
        var cls: UnsafePointer<AVClass>? = privClass
        return withUnsafeMutablePointer(to: &cls) { classPointer in
            av_opt_find(UnsafeMutableRawPointer(classPointer), name, nil, 0, AV_OPT_SEARCH_FAKE_OBJ) != nil
        }
    }

    /// The settings' options, with x265 kept as quiet as FFmpeg's log: x265 prints its banner and statistics
    /// itself (26 lines on a successful run), past FFmpeg's log level. A `log-level` the user passes in
    /// `x265-params` comes after ours and wins.
    static func quieted(_ settings: EncoderSettings) -> [(key: String, value: String)] {
        guard settings.codec == "libx265", av_log_get_level() < AV_LOG_INFO else { return settings.options }
        let user = settings.options.last { $0.key == "x265-params" }?.value
        return [(key: "x265-params", value: "log-level=none" + (user.map { ":" + $0 } ?? ""))]
            + settings.options.filter { $0.key != "x265-params" }
    }

    private static func set(_ key: String, _ value: String, on ctx: UnsafeMutablePointer<AVCodecContext>, codec: String) throws {
        var code = av_opt_set(ctx.pointee.priv_data, key, value, 0)
        if code < 0 {
            // Not a codec-private option: try the generic codec-context options (g, bf, b, ...).
            let generic = av_opt_set(UnsafeMutableRawPointer(ctx), key, value, 0)
            if generic >= 0 { code = generic }
        }
        try check(code, "av_opt_set", "\(codec) option \(key)=\(value)")
    }

    private static func choosePixelFormat(codec: UnsafePointer<AVCodec>, settings: EncoderSettings, source: String) throws -> AVPixelFormat {
        var supported: [AVPixelFormat] = []
        if var cursor = codec.pointee.pix_fmts {
            while cursor.pointee != AV_PIX_FMT_NONE { supported.append(cursor.pointee); cursor += 1 }
        }
        // A GIF gets a palette of its own per frame (`GIFPalette`), not the fixed bgr8 one FFmpeg picks by default.
        if settings.pixelFormat == nil && settings.codec == "gif" { return AV_PIX_FMT_PAL8 }
        if let requested = settings.pixelFormat {
            let format = av_get_pix_fmt(requested)
            guard format != AV_PIX_FMT_NONE else {
                throw MediaError(code: onsr_averror(EINVAL), call: "av_get_pix_fmt", context: "unknown pixel format \(requested)")
            }
            guard supported.isEmpty || supported.contains(format) else {
                let names = supported.compactMap { av_get_pix_fmt_name($0).map { String(cString: $0) } }.joined(separator: ", ")
                throw MediaError(code: onsr_averror(EINVAL), call: "avcodec_open2",
                                 context: "\(settings.codec) does not take \(requested) (it takes \(names))")
            }
            return format
        }
        // Full-range "J" formats are deprecated aliases: pick among the plain formats and tag the range.
        var sourceFormat = av_get_pix_fmt(source)
        switch sourceFormat {
        case AV_PIX_FMT_YUVJ420P: sourceFormat = AV_PIX_FMT_YUV420P
        case AV_PIX_FMT_YUVJ422P: sourceFormat = AV_PIX_FMT_YUV422P
        case AV_PIX_FMT_YUVJ444P: sourceFormat = AV_PIX_FMT_YUV444P
        default: break
        }
        if sourceFormat == AV_PIX_FMT_NONE { sourceFormat = AV_PIX_FMT_YUV420P }
        let candidates = supported.filter { $0 != AV_PIX_FMT_YUVJ420P && $0 != AV_PIX_FMT_YUVJ422P && $0 != AV_PIX_FMT_YUVJ444P }
        guard !candidates.isEmpty else { return sourceFormat }
        if candidates.contains(sourceFormat) { return sourceFormat }
        var list = candidates + [AV_PIX_FMT_NONE]
        // Losing the source's alpha plane counts as a loss (the video path carries it: `TimedFrame.alpha`).
        return avcodec_find_best_pix_fmt_of_list(&list, sourceFormat, sourceFormat.keepsAlpha ? 1 : 0, nil)
    }

    /// Feeds one frame; its `pts` must be in the encoder's time base.
    public func send(_ frame: Frame) throws {
        // A fixed quantiser (`flags=+qscale`, `global_quality`) is read from each frame, as ffmpeg sets it.
        if context.pointee.flags & AV_CODEC_FLAG_QSCALE != 0 { frame.pointer.pointee.quality = context.pointee.global_quality }
        try check(avcodec_send_frame(context, frame.pointer), "avcodec_send_frame", codecName)
    }

    /// Signals the end of the stream so that buffered packets come out.
    public func sendEndOfStream() throws { try EncodingContext.sendEndOfStream(context, codecName) }

    /// Takes the next encoded packet, if one is ready.
    public func receive(into packet: Packet) throws -> DecodeStep { try EncodingContext.receive(context, codecName, into: packet) }
}

/// The end of stream and the packet draining that every encoder context shares (`Encoder`, `AudioEncoder`).
enum EncodingContext {
    static func sendEndOfStream(_ context: UnsafeMutablePointer<AVCodecContext>, _ name: String) throws {
        let code = avcodec_send_frame(context, nil)
        if code == FlowCode.endOfFile { return }
        try check(code, "avcodec_send_frame", name)
    }

    static func receive(_ context: UnsafeMutablePointer<AVCodecContext>, _ name: String, into packet: Packet) throws -> DecodeStep {
        packet.reset()
        return try DecodeStep(receiving: avcodec_receive_packet(context, packet.pointer), call: "avcodec_receive_packet", context: name)
    }
}
