import CFFmpeg

/// Owns an `AVFilterGraph` that runs from one buffer source to one buffer sink, through a chain of FFmpeg filters or a
/// graph that branches between them: what `Deinterlacer` (video, bwdif), `AudioResampler` (audio, aformat) and
/// `GIFPalette` (palettegen / paletteuse) are built on.
final class FilterChain: @unchecked Sendable {
    private let graph: UnsafeMutablePointer<AVFilterGraph>
    let source: UnsafeMutablePointer<AVFilterContext>
    let sink: UnsafeMutablePointer<AVFilterContext>
    /// Names the chain in errors (`bwdif`, `audio resampling`).
    let label: String

    /// `source` and `sink` are `buffer` / `buffersink` for video, `abuffer` / `abuffersink` for audio; each of
    /// `filters` is a filter's name and its arguments.
    init(source: (name: String, arguments: String), filters: [(name: String, arguments: String)], sink: String, label: String) throws {
        (graph, self.source, self.sink) = try FilterChain.configured(label) { graph in
            let first = try FilterChain.filter(source.name, named: "in", arguments: source.arguments, in: graph)
            var previous = first
            for (position, filter) in filters.enumerated() {
                let next = try FilterChain.filter(filter.name, named: "f\(position)", arguments: filter.arguments, in: graph)
                try check(avfilter_link(previous, 0, next, 0), "avfilter_link", "-> \(filter.name)")
                previous = next
            }
            let last = try FilterChain.filter(sink, named: "out", arguments: nil, in: graph)
            try check(avfilter_link(previous, 0, last, 0), "avfilter_link", "-> \(sink)")
            return (first, last)
        }
        self.label = label
    }

    /// A graph described in FFmpeg's filtergraph syntax between the source and the sink (`description` reads from the
    /// source as `[in]` and writes to the sink as `[out]`), for graphs that branch: `GIFPalette`'s split into palettegen
    /// and paletteuse.
    init(source: (name: String, arguments: String), description: String, sink: String, label: String) throws {
        (graph, self.source, self.sink) = try FilterChain.configured(label) { graph in
            let first = try FilterChain.filter(source.name, named: "in", arguments: source.arguments, in: graph)
            let last = try FilterChain.filter(sink, named: "out", arguments: nil, in: graph)
            var outputs = avfilter_inout_alloc(), inputs = avfilter_inout_alloc()
            defer {
                avfilter_inout_free(&outputs)
                avfilter_inout_free(&inputs)
            }
            guard let open = outputs, let close = inputs else { throw MediaError(code: onsr_averror(ENOMEM), call: "avfilter_inout_alloc") }
            // The parser's open ends: its [in] is fed by the source, its [out] feeds the sink.
            open.pointee.name = av_strdup("in")
            open.pointee.filter_ctx = first
            close.pointee.name = av_strdup("out")
            close.pointee.filter_ctx = last
            try check(avfilter_graph_parse_ptr(graph, description, &inputs, &outputs, nil), "avfilter_graph_parse_ptr", label)
            return (first, last)
        }
        self.label = label
    }

    /// A new graph that `build` fills (returning its source and sink), configured; freed again if anything fails.
    private static func configured(_ label: String, build: (UnsafeMutablePointer<AVFilterGraph>) throws
                                   -> (UnsafeMutablePointer<AVFilterContext>, UnsafeMutablePointer<AVFilterContext>)) throws
        -> (UnsafeMutablePointer<AVFilterGraph>, UnsafeMutablePointer<AVFilterContext>, UnsafeMutablePointer<AVFilterContext>) {
        guard let allocated = avfilter_graph_alloc() else { throw MediaError(code: onsr_averror(ENOMEM), call: "avfilter_graph_alloc") }
        do {
            let (source, sink) = try build(allocated)
            try check(avfilter_graph_config(allocated, nil), "avfilter_graph_config", label)
            return (allocated, source, sink)
        } catch {
            var owned: UnsafeMutablePointer<AVFilterGraph>? = allocated
            avfilter_graph_free(&owned)
            throw error
        }
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

    /// Feeds one frame; the caller's frame stays its own (the graph takes a new reference).
    func send(_ frame: Frame) throws {
        try check(av_buffersrc_add_frame_flags(source, frame.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "av_buffersrc_add_frame_flags", label)
    }

    /// Signals the end of the stream so that what the filters hold back comes out.
    func sendEndOfStream() throws {
        try check(av_buffersrc_add_frame_flags(source, nil, 0), "av_buffersrc_add_frame_flags", label)
    }

    /// Takes the next frame, if one is ready.
    func receive(into frame: Frame) throws -> DecodeStep {
        frame.reset()
        return try DecodeStep(receiving: av_buffersink_get_frame(sink, frame.pointer), call: "av_buffersink_get_frame", context: label)
    }
}
