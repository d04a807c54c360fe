import CFFmpeg

/// Owns an `AVFilterGraph` that deinterlaces decoded frames: buffer -> bwdif -> buffersink.
///
/// bwdif ("Bob Weaver", FFmpeg's motion-adaptive deinterlacer, yadif's successor) runs in `send_frame` mode, one
/// progressive frame per input frame at the input's rate and timestamps, with the field order taken from each
/// frame, and only on frames flagged interlaced (`deint=interlaced`): progressive frames of mixed content pass
/// as they are. It needs the next frame to build the current one, so output lags input by a frame and the end of
/// the stream must be sent to get the last one out.
public final class Deinterlacer: @unchecked Sendable {
    /// The filter's name, for reports.
    public static let filterName = "bwdif"
    private let graph: UnsafeMutablePointer<AVFilterGraph>
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>

    /// A graph for frames of `width` x `height` in `pixelFormat`, timestamps in `timeBase`.
    public init(width: Int, height: Int, pixelFormat: AVPixelFormat, timeBase: Rational, sampleAspectRatio: Rational) throws {
        guard let allocated = avfilter_graph_alloc() else { throw MediaError(code: onsr_averror(ENOMEM), call: "avfilter_graph_alloc") }
        var owned: UnsafeMutablePointer<AVFilterGraph>? = allocated
        do {
            let aspect = sampleAspectRatio.isValid ? sampleAspectRatio : Rational(1, 1)
            let base = timeBase.isValid ? timeBase : Rational(1, 25)
            let bufferArguments = "video_size=\(width)x\(height):pix_fmt=\(pixelFormat.name):time_base=\(base):pixel_aspect=\(aspect)"
            source = try Deinterlacer.filter("buffer", named: "in", arguments: bufferArguments, in: allocated)
            let deinterlace = try Deinterlacer.filter(Deinterlacer.filterName, named: "deinterlace",
                                                      arguments: "mode=send_frame:parity=auto:deint=interlaced", in: allocated)
            sink = try Deinterlacer.filter("buffersink", named: "out", arguments: nil, in: allocated)
            try check(avfilter_link(source, 0, deinterlace, 0), "avfilter_link", "buffer -> \(Deinterlacer.filterName)")
            try check(avfilter_link(deinterlace, 0, sink, 0), "avfilter_link", "\(Deinterlacer.filterName) -> buffersink")
            try check(avfilter_graph_config(allocated, nil), "avfilter_graph_config", Deinterlacer.filterName)
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

    /// Feeds one decoded frame; the caller's frame stays its own (the graph takes a new reference).
    public func send(_ frame: Frame) throws {
        try check(av_buffersrc_add_frame_flags(source, frame.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "av_buffersrc_add_frame_flags",
                  Deinterlacer.filterName)
    }

    /// Signals the end of the stream so that the last frame comes out.
    public func sendEndOfStream() throws {
        try check(av_buffersrc_add_frame_flags(source, nil, 0), "av_buffersrc_add_frame_flags", Deinterlacer.filterName)
    }

    /// Takes the next deinterlaced frame, if one is ready.
    public func receive(into frame: Frame) throws -> DecodeStep {
        frame.reset()
        let code = av_buffersink_get_frame(sink, frame.pointer)
        if code == FlowCode.again { return .needsInput }
        if code == FlowCode.endOfFile { return .endOfStream }
        try check(code, "av_buffersink_get_frame", Deinterlacer.filterName)
        return .output
    }
}
