import CFFmpeg

/// Deinterlaces decoded frames through a `FilterChain`: buffer -> bwdif -> buffersink.
///
/// bwdif ("Bob Weaver", FFmpeg's motion-adaptive deinterlacer, yadif's successor) runs in `send_frame` mode, one
/// progressive frame per input frame at the input's rate and timestamps, with the field order taken from each
/// frame, and only on frames flagged interlaced (`deint=interlaced`): progressive frames of mixed content pass
/// as they are. It needs the next frame to build the current one, so output lags input by a frame and the end of
/// the stream must be sent to get the last one out.
public final class Deinterlacer: @unchecked Sendable {
    /// The filter's name, for reports.
    public static let filterName = "bwdif"
    private let chain: FilterChain
    private let width: Int, height: Int, pixelFormat: AVPixelFormat

    /// A graph for frames of `width` x `height` in `pixelFormat`, timestamps in `timeBase`.
    public init(width: Int, height: Int, pixelFormat: AVPixelFormat, timeBase: Rational, sampleAspectRatio: Rational) throws {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        let aspect = sampleAspectRatio.isValid ? sampleAspectRatio : Rational(1, 1)
        let base = timeBase.isValid ? timeBase : Rational(1, 25)
        chain = try FilterChain(source: ("buffer", "video_size=\(width)x\(height):pix_fmt=\(pixelFormat.name):time_base=\(base):pixel_aspect=\(aspect)"),
                                filters: [(Deinterlacer.filterName, "mode=send_frame:parity=auto:deint=interlaced")],
                                sink: "buffersink", label: Deinterlacer.filterName)
    }

    /// False for a frame of another size or pixel format than the graph was built for: bwdif refuses it (EPERM from the
    /// sink), so a stream that changes them needs a new deinterlacer from there on.
    public func accepts(_ frame: Frame) -> Bool {
        frame.width == width && frame.height == height && frame.pixelFormat == pixelFormat
    }

    /// Feeds one decoded frame; the caller's frame stays its own (the graph takes a new reference).
    public func send(_ frame: Frame) throws { try chain.send(frame) }

    /// Signals the end of the stream so that the last frame comes out.
    public func sendEndOfStream() throws { try chain.sendEndOfStream() }

    /// Takes the next deinterlaced frame, if one is ready.
    public func receive(into frame: Frame) throws -> DecodeStep { try chain.receive(into: frame) }
}
