import CFFmpeg

/// Owns an `AVFilterGraph` that turns decoded audio into what an `AudioEncoder` takes: abuffer -> aformat (sample
/// rate, sample format and channel layout; FFmpeg inserts its resampler) -> abuffersink, which hands out frames of
/// exactly the encoder's frame size where it has one (Opus: 960 samples).
public final class AudioResampler: @unchecked Sendable {
    private let graph: UnsafeMutablePointer<AVFilterGraph>
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>

    /// A graph for frames like `first` (decoded, timestamps in `timeBase`) into `encoder`.
    public init(first frame: Frame, timeBase: Rational, into encoder: AudioEncoder) throws {
        guard let allocated = avfilter_graph_alloc() else { throw MediaError(code: onsr_averror(ENOMEM), call: "avfilter_graph_alloc") }
        var owned: UnsafeMutablePointer<AVFilterGraph>? = allocated
        do {
            let input = frame.pointer.pointee
            var layout = input.ch_layout
            if layout.order == AV_CHANNEL_ORDER_UNSPEC { av_channel_layout_default(&layout, max(1, layout.nb_channels)) }
            let format = String(cString: av_get_sample_fmt_name(AVSampleFormat(rawValue: input.format)))
            let base = timeBase.isValid ? timeBase : Rational(1, input.sample_rate)
            let bufferArguments = "time_base=\(base):sample_rate=\(input.sample_rate):sample_fmt=\(format)"
                + ":channel_layout=\(AudioEncoder.describe(&layout))"
            source = try AudioResampler.filter("abuffer", named: "in", arguments: bufferArguments, in: allocated)
            let convert = try AudioResampler.filter("aformat", named: "convert", arguments: "sample_fmts=\(encoder.sampleFormatName)"
                                                        + ":sample_rates=\(encoder.sampleRate):channel_layouts=\(encoder.channelLayoutName)",
                                                    in: allocated)
            sink = try AudioResampler.filter("abuffersink", named: "out", arguments: nil, in: allocated)
            try check(avfilter_link(source, 0, convert, 0), "avfilter_link", "abuffer -> aformat")
            try check(avfilter_link(convert, 0, sink, 0), "avfilter_link", "aformat -> abuffersink")
            try check(avfilter_graph_config(allocated, nil), "avfilter_graph_config", "audio resampling")
            if encoder.frameSize > 0 { av_buffersink_set_frame_size(sink, UInt32(encoder.frameSize)) }
        } catch {
            avfilter_graph_free(&owned)
            throw error
        }
        graph = allocated
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVFilterGraph>? = graph
        avfilter_graph_free(&doomed)
    }

    private static func filter(_ name: String, named label: String, arguments: String?,
                               in graph: UnsafeMutablePointer<AVFilterGraph>) throws -> UnsafeMutablePointer<AVFilterContext> {
        guard let filter = avfilter_get_by_name(name) else {
            throw MediaError(code: onsr_averror(ENOSYS), call: "avfilter_get_by_name", context: name)
        }
        var context: UnsafeMutablePointer<AVFilterContext>?
        try check(avfilter_graph_create_filter(&context, filter, label, arguments, nil, graph), "avfilter_graph_create_filter", name)
        guard let context else { throw MediaError(code: onsr_averror(ENOMEM), call: "avfilter_graph_create_filter", context: name) }
        return context
    }

    /// The time base of the frames that come out.
    public var timeBase: Rational { Rational(av_buffersink_get_time_base(sink)) }

    /// Feeds one decoded frame; the caller's frame stays its own.
    public func send(_ frame: Frame) throws {
        try check(av_buffersrc_add_frame_flags(source, frame.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "av_buffersrc_add_frame_flags",
                  "audio resampling")
    }

    /// Signals the end of the stream so that the last samples come out (a short last frame).
    public func sendEndOfStream() throws {
        try check(av_buffersrc_add_frame_flags(source, nil, 0), "av_buffersrc_add_frame_flags", "audio resampling")
    }

    /// Takes the next frame, if one is ready.
    public func receive(into frame: Frame) throws -> DecodeStep {
        frame.reset()
        let code = av_buffersink_get_frame(sink, frame.pointer)
        if code == FlowCode.again { return .needsInput }
        if code == FlowCode.endOfFile { return .endOfStream }
        try check(code, "av_buffersink_get_frame", "audio resampling")
        return .output
    }
}
