import CFFmpeg

/// Owns an `AVCodecContext` that encodes audio for an output container that cannot hold the input's audio as it is
/// (AAC into WebM becomes Opus): the container's own audio encoder, at the input stream's channel layout and the
/// nearest sample rate the encoder takes.
public final class AudioEncoder: @unchecked Sendable {
    let context: UnsafeMutablePointer<AVCodecContext>
    /// FFmpeg encoder name, e.g. `libopus`.
    public let codecName: String
    /// Samples per frame the encoder takes; 0 where it takes any number.
    public let frameSize: Int
    /// The sample rate, format and channel layout frames must come in (as FFmpeg's aformat filter names them).
    public let sampleRate: Int
    public let sampleFormatName: String
    public let channelLayoutName: String

    /// Bits per second per channel: Opus and Vorbis are close to transparent at 64 kb/s a channel.
    public static let bitRatePerChannel = 64_000

    /// Opens encoder `codecName` for what `demuxer`'s stream `index` carries; where the encoder refuses its channels
    /// (nine channels of no named layout into Opus), for stereo, which the resampler downmixes to.
    public convenience init(codecName: String, for demuxer: Demuxer, stream index: Int, globalHeader: Bool) throws {
        let input = demuxer.stream(index).pointee.codecpar.pointee
        do {
            try self.init(codecName: codecName, inputRate: input.sample_rate, layout: input.ch_layout, globalHeader: globalHeader)
        } catch let error as MediaError where error.call == "avcodec_open2" && input.ch_layout.nb_channels != 2 {
            var stereo = AVChannelLayout()
            av_channel_layout_default(&stereo, 2)
            try self.init(codecName: codecName, inputRate: input.sample_rate, layout: stereo, globalHeader: globalHeader)
        }
    }

    private init(codecName: String, inputRate: Int32, layout requested: AVChannelLayout, globalHeader: Bool) throws {
        guard let codec = avcodec_find_encoder_by_name(codecName), codec.pointee.type == AVMEDIA_TYPE_AUDIO else {
            throw MediaError(code: onsr_averror(ENOSYS), call: "avcodec_find_encoder_by_name", context: "no audio encoder \(codecName)")
        }
        guard let allocated = avcodec_alloc_context3(codec) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avcodec_alloc_context3", context: codecName)
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = allocated
        do {
            let ctx = allocated
            ctx.pointee.sample_rate = AudioEncoder.nearestRate(to: inputRate, of: codec)
            ctx.pointee.sample_fmt = codec.pointee.sample_fmts?.pointee ?? AV_SAMPLE_FMT_FLTP
            var layout = requested
            if layout.order == AV_CHANNEL_ORDER_UNSPEC || !AudioEncoder.takes(layout, codec) {
                // An unnamed layout, or one the encoder cannot map: the default layout of as many channels, else stereo.
                var fallback = AVChannelLayout()
                av_channel_layout_default(&fallback, max(1, layout.nb_channels))
                layout = AudioEncoder.takes(fallback, codec) ? fallback : AVChannelLayout()
                if layout.nb_channels == 0 { av_channel_layout_default(&layout, 2) }
            }
            try check(av_channel_layout_copy(&ctx.pointee.ch_layout, &layout), "av_channel_layout_copy", codecName)
            ctx.pointee.bit_rate = Int64(AudioEncoder.bitRatePerChannel * Int(layout.nb_channels))
            ctx.pointee.time_base = AVRational(num: 1, den: ctx.pointee.sample_rate)
            if globalHeader { ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
            try check(avcodec_open2(ctx, codec, nil), "avcodec_open2", codecName)
        } catch {
            avcodec_free_context(&owned)
            throw error
        }
        context = allocated
        self.codecName = codecName
        frameSize = allocated.pointee.codec.pointee.capabilities & Int32(AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0
            ? 0 : Int(allocated.pointee.frame_size)
        sampleRate = Int(allocated.pointee.sample_rate)
        sampleFormatName = String(cString: av_get_sample_fmt_name(allocated.pointee.sample_fmt))
        channelLayoutName = AudioEncoder.describe(&allocated.pointee.ch_layout)
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&doomed)
    }

    /// The time base of the encoder's packets: one sample.
    public var timeBase: Rational { Rational(context.pointee.time_base) }

    /// Feeds one frame of `sampleRate`, `sampleFormatName`, `channelLayoutName` and (where set) `frameSize` samples,
    /// its pts in `timeBase`.
    public func send(_ frame: Frame) throws {
        try check(avcodec_send_frame(context, frame.pointer), "avcodec_send_frame", codecName)
    }

    /// Signals the end of the stream so that buffered packets come out.
    public func sendEndOfStream() throws { try EncodingContext.sendEndOfStream(context, codecName) }

    /// Takes the next encoded packet, if one is ready.
    public func receive(into packet: Packet) throws -> DecodeStep { try EncodingContext.receive(context, codecName, into: packet) }

    /// `rate` where the encoder takes it (or takes any), else the lowest rate it takes above `rate`, else its highest.
    static func nearestRate(to rate: Int32, of codec: UnsafePointer<AVCodec>) -> Int32 {
        guard var cursor = codec.pointee.supported_samplerates else { return rate > 0 ? rate : 48_000 }
        var rates: [Int32] = []
        while cursor.pointee != 0 { rates.append(cursor.pointee); cursor += 1 }
        if rates.contains(rate) { return rate }
        return rates.filter { $0 > rate }.min() ?? rates.max() ?? 48_000
    }

    /// Whether the encoder takes `layout` (encoders that list none take any).
    static func takes(_ layout: AVChannelLayout, _ codec: UnsafePointer<AVCodec>) -> Bool {
        guard var cursor = codec.pointee.ch_layouts else { return layout.nb_channels > 0 }
        var wanted = layout
        while cursor.pointee.nb_channels != 0 {
            var candidate = cursor.pointee
            if av_channel_layout_compare(&candidate, &wanted) == 0 { return true }
            cursor += 1
        }
        return false
    }

    /// A layout as FFmpeg's filters name it (`stereo`, `5.1`).
    static func describe(_ layout: UnsafePointer<AVChannelLayout>) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        return av_channel_layout_describe(layout, &buffer, buffer.count) >= 0 ? String(cString: buffer) : "stereo"
    }
}
