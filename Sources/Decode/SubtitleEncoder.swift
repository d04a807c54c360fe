import CFFmpeg

/// One decoded subtitle (`AVSubtitle`: its rectangles of text or bitmap, start and end), owned until `deinit`.
public final class Subtitle: @unchecked Sendable {
    var value = AVSubtitle()

    init() {}

    deinit { avsubtitle_free(&value) }

    /// True when it shows nothing (a decoder's "clear" event, or nothing decoded).
    public var isEmpty: Bool { value.num_rects == 0 }
}

extension Decoder {
    /// Decodes one subtitle packet; nil where the packet gives no subtitle. Subtitles are decoded packet by packet,
    /// outside the send / receive flow of audio and video.
    public func decodeSubtitle(_ packet: Packet) throws -> Subtitle? {
        let subtitle = Subtitle()
        var got: Int32 = 0
        try check(avcodec_decode_subtitle2(context, &subtitle.value, &got, packet.pointer), "avcodec_decode_subtitle2", codecName)
        return got != 0 ? subtitle : nil
    }

    /// True for a decoder of text subtitles (SubRip, MOV text, WebVTT, ASS ...), whose events any text subtitle
    /// encoder can write.
    public var decodesTextSubtitles: Bool {
        avcodec_descriptor_get(context.pointee.codec_id).map { $0.pointee.props & AV_CODEC_PROP_TEXT_SUB != 0 } ?? false
    }
}

/// Owns an `AVCodecContext` that encodes text subtitles for an output container that cannot hold the input's
/// subtitle codec as it is (MOV text into Matroska becomes ASS, SubRip into MP4 becomes MOV text, as FFmpeg converts
/// them). Text decoders give their events as ASS dialogue, and text encoders read ASS, with the style header the
/// decoder made (`subtitle_header`), so the styles carry across.
public final class SubtitleEncoder: @unchecked Sendable {
    let context: UnsafeMutablePointer<AVCodecContext>
    /// FFmpeg encoder name, e.g. `ass`, `mov_text`, `webvtt`.
    public let codecName: String
    /// The time base packets come out in: microseconds, as subtitles' own `pts` (FFmpeg's `AV_TIME_BASE`).
    public var timeBase: Rational { Rational(context.pointee.time_base) }

    /// Opens text subtitle encoder `codecName` for what `decoder` decodes; `width` x `height` is the video's picture
    /// size (MOV text and ASS state it).
    public init(codecName: String, for decoder: Decoder, width: Int, height: Int, globalHeader: Bool) throws {
        guard let codec = avcodec_find_encoder_by_name(codecName), codec.pointee.type == AVMEDIA_TYPE_SUBTITLE,
              let descriptor = avcodec_descriptor_get(codec.pointee.id), descriptor.pointee.props & AV_CODEC_PROP_TEXT_SUB != 0 else {
            throw MediaError(code: onsr_averror(ENOSYS), call: "avcodec_find_encoder_by_name", context: "no text subtitle encoder \(codecName)")
        }
        guard let allocated = avcodec_alloc_context3(codec) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avcodec_alloc_context3", context: codecName)
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = allocated
        do {
            allocated.pointee.time_base = onsr_time_base_q()
            allocated.pointee.width = Int32(width)
            allocated.pointee.height = Int32(height)
            if globalHeader { allocated.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
            let header = decoder.context.pointee.subtitle_header, size = Int(decoder.context.pointee.subtitle_header_size)
            if let header, size > 0 {
                // The encoder frees its header with the context: it gets a copy, zero-terminated as FFmpeg's are.
                guard let copy = av_mallocz(size + 1)?.assumingMemoryBound(to: UInt8.self) else {
                    throw MediaError(code: onsr_averror(ENOMEM), call: "av_mallocz", context: codecName)
                }
                copy.update(from: header, count: size)
                allocated.pointee.subtitle_header = copy
                allocated.pointee.subtitle_header_size = Int32(size)
            }
            try check(avcodec_open2(allocated, codec, nil), "avcodec_open2", codecName)
        } catch {
            avcodec_free_context(&owned)
            throw error
        }
        context = allocated
        self.codecName = codecName
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&doomed)
    }

    /// Encodes one subtitle into `packet`, its pts and duration in `timeBase`; false where it shows nothing (clear
    /// events are not written: the previous event's duration already ends it).
    public func encode(_ subtitle: Subtitle, into packet: Packet) throws -> Bool {
        guard !subtitle.isEmpty, subtitle.value.pts != FlowCode.noTimestamp else { return false }
        // As FFmpeg's own transcoding does: the display window moves into pts and duration.
        let milliseconds = AVRational(num: 1, den: 1000)
        // A damaged packet's time can be near the end of Int64: such a subtitle is left out, not trapped on.
        let (start, overflow) = subtitle.value.pts.addingReportingOverflow(
            av_rescale_q(Int64(subtitle.value.start_display_time), milliseconds, onsr_time_base_q()))
        guard !overflow else { return false }
        let shown = Int64(subtitle.value.end_display_time) - Int64(subtitle.value.start_display_time)
        subtitle.value.pts = start
        subtitle.value.end_display_time = UInt32(clamping: shown)
        subtitle.value.start_display_time = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let size = avcodec_encode_subtitle(context, &buffer, Int32(buffer.count), &subtitle.value)
        try check(size, "avcodec_encode_subtitle", codecName)
        guard size > 0 else { return false }
        packet.reset()
        try check(av_new_packet(packet.pointer, size), "av_new_packet", codecName)
        packet.pointer.pointee.data.update(from: buffer, count: Int(size))
        packet.pointer.pointee.pts = start
        packet.pointer.pointee.dts = start
        packet.pointer.pointee.duration = shown > 0 ? av_rescale_q(shown, milliseconds, onsr_time_base_q()) : 0
        return true
    }
}
