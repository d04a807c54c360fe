import CFFmpeg

/// Turns decoded audio into what an `AudioEncoder` takes, through a `FilterChain`: abuffer -> aformat (sample
/// rate, sample format and channel layout; FFmpeg inserts its resampler) -> abuffersink, which hands out frames of
/// exactly the encoder's frame size where it has one (Opus: 960 samples).
public final class AudioResampler: @unchecked Sendable {
    private let chain: FilterChain

    /// A graph for frames like `first` (decoded, timestamps in `timeBase`) into `encoder`.
    public init(first frame: Frame, timeBase: Rational, into encoder: AudioEncoder) throws {
        let input = frame.pointer.pointee
        var layout = input.ch_layout
        if layout.order == AV_CHANNEL_ORDER_UNSPEC { av_channel_layout_default(&layout, max(1, layout.nb_channels)) }
        let format = String(cString: av_get_sample_fmt_name(AVSampleFormat(rawValue: input.format)))
        let base = timeBase.isValid ? timeBase : Rational(1, input.sample_rate)
        chain = try FilterChain(source: ("abuffer", "time_base=\(base):sample_rate=\(input.sample_rate):sample_fmt=\(format)"
                                            + ":channel_layout=\(AudioEncoder.describe(&layout))"),
                                filters: [("aformat", "sample_fmts=\(encoder.sampleFormatName):sample_rates=\(encoder.sampleRate)"
                                            + ":channel_layouts=\(encoder.channelLayoutName)")],
                                sink: "abuffersink", label: "audio resampling")
        if encoder.frameSize > 0 { av_buffersink_set_frame_size(chain.sink, UInt32(encoder.frameSize)) }
    }

    /// The time base of the frames that come out.
    public var timeBase: Rational { Rational(av_buffersink_get_time_base(chain.sink)) }

    /// Feeds one decoded frame; the caller's frame stays its own.
    public func send(_ frame: Frame) throws { try chain.send(frame) }

    /// Signals the end of the stream so that the last samples come out (a short last frame).
    public func sendEndOfStream() throws { try chain.sendEndOfStream() }

    /// Takes the next frame, if one is ready.
    public func receive(into frame: Frame) throws -> DecodeStep { try chain.receive(into: frame) }
}
