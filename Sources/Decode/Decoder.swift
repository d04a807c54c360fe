import CFFmpeg

/// Where a decoder or encoder stands after a receive call: end of stream and "needs more input" are
/// states of the data flow, not errors.
public enum DecodeStep: Sendable {
    /// A frame (or packet, for encoders) was written into the caller's buffer.
    case output
    /// Nothing is ready: send more input.
    case needsInput
    /// Everything has been drained after the end-of-stream signal.
    case endOfStream
}

extension DecodeStep {
    /// The state a receive call's return `code` stands for (`avcodec_receive_frame`, `avcodec_receive_packet`,
    /// `av_buffersink_get_frame`); any other negative code throws, naming `call` and `context`.
    init(receiving code: Int32, call: String, context: String) throws {
        if code == FlowCode.again { self = .needsInput; return }
        if code == FlowCode.endOfFile { self = .endOfStream; return }
        try check(code, call, context)
        self = .output
    }
}

/// Owns an `AVCodecContext` that decodes one stream of a `Demuxer`.
public final class Decoder: @unchecked Sendable {
    let context: UnsafeMutablePointer<AVCodecContext>
    /// Name of the codec, e.g. `h264`.
    public let codecName: String

    /// Opens a decoder for stream `streamIndex`; `threads` 0 lets FFmpeg pick. `exportQuantisers` asks the
    /// decoder to attach each frame's quantisers (`Frame.quantiser`; H.264, MPEG-1/2/4 part 2 and H.263 do).
    public convenience init(demuxer: Demuxer, streamIndex: Int, threads: Int = 0, exportQuantisers: Bool = false) throws {
        let stream = demuxer.stream(streamIndex)
        try self.init(parameters: stream.pointee.codecpar!, timeBase: stream.pointee.time_base, threads: threads,
                      exportQuantisers: exportQuantisers)
    }

    /// Opens a decoder for what `encoder` produces (an in-process encode and decode round trip).
    public convenience init(decoding encoder: Encoder, threads: Int = 1, exportQuantisers: Bool = false) throws {
        guard let parameters = avcodec_parameters_alloc() else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avcodec_parameters_alloc", context: encoder.codecName)
        }
        var owned: UnsafeMutablePointer<AVCodecParameters>? = parameters
        defer { avcodec_parameters_free(&owned) }
        try check(avcodec_parameters_from_context(parameters, encoder.context), "avcodec_parameters_from_context", encoder.codecName)
        try self.init(parameters: parameters, timeBase: encoder.context.pointee.time_base, threads: threads, exportQuantisers: exportQuantisers)
    }

    private init(parameters: UnsafeMutablePointer<AVCodecParameters>, timeBase: AVRational, threads: Int, exportQuantisers: Bool) throws {
        let name = String(cString: avcodec_get_name(parameters.pointee.codec_id))
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw MediaError(code: onsr_averror(ENOSYS), call: "avcodec_find_decoder", context: name)
        }
        guard let allocated = avcodec_alloc_context3(codec) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avcodec_alloc_context3", context: name)
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = allocated
        do {
            try check(avcodec_parameters_to_context(allocated, parameters), "avcodec_parameters_to_context", name)
            allocated.pointee.pkt_timebase = timeBase
            allocated.pointee.thread_count = Int32(threads)
            if exportQuantisers { allocated.pointee.export_side_data |= Int32(AV_CODEC_EXPORT_DATA_VIDEO_ENC_PARAMS) }
            try check(avcodec_open2(allocated, codec, nil), "avcodec_open2", name)
        } catch {
            avcodec_free_context(&owned)
            throw error
        }
        context = allocated
        codecName = name
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&doomed)
    }

    /// Feeds one packet. Throws for data the decoder rejects (`MediaError.isInvalidData`); the caller
    /// drains frames with `receive` after every send, so the decoder never answers "full".
    public func send(_ packet: Packet) throws {
        try check(avcodec_send_packet(context, packet.pointer), "avcodec_send_packet", codecName)
    }

    /// Signals the end of the stream so that buffered frames come out.
    public func sendEndOfStream() throws {
        let code = avcodec_send_packet(context, nil)
        if code == FlowCode.endOfFile { return }
        try check(code, "avcodec_send_packet", codecName)
    }

    /// Takes the next decoded frame, if one is ready.
    public func receive(into frame: Frame) throws -> DecodeStep {
        frame.reset()
        return try DecodeStep(receiving: avcodec_receive_frame(context, frame.pointer), call: "avcodec_receive_frame", context: codecName)
    }
}
