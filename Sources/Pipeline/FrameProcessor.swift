import Decode
import Foundation

/// One decoded frame as it travels between stages: its image, presentation time and when it was decoded.
public struct TimedFrame: Sendable {
    public var image: RGBImage
    /// Presentation time in the video stream's time base.
    public var pts: Int64
    /// Presentation time in seconds, where the stream's time base is known.
    public var seconds: Double?
    /// When the frame was decoded (monotonic nanoseconds): latency and the late-frame policy count from here.
    public var arrival: UInt64
    /// How the frame was coded in the input (nil for pictures that were not decoded from a video stream).
    public var coding: FrameCoding? = nil
    /// The closed captions the input frame carried (A/53 bytes), handed on to the output frame.
    public var captions: [UInt8]? = nil
    /// The input frame's alpha plane (`width * height` of the input, [0, 1]), where the output keeps alpha: upscaled
    /// with bicubic interpolation when the frame is written (`AlphaPlane`).
    public var alpha: [Float]? = nil

    public init(image: RGBImage, pts: Int64, seconds: Double? = nil, arrival: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        self.image = image
        self.pts = pts
        self.seconds = seconds
        self.arrival = arrival
    }

    /// The same frame (time, arrival) with another picture: its upscaled version.
    public func with(_ image: RGBImage) -> TimedFrame {
        var frame = self
        frame.image = image
        return frame
    }
}

/// How one input frame was coded: its quantiser, where the decoder exported one, and whether it was intra.
public struct FrameCoding: Sendable {
    public var quantiser: QuantiserReading?
    public var intra: Bool

    public init(quantiser: QuantiserReading?, intra: Bool) {
        self.quantiser = quantiser
        self.intra = intra
    }
}

/// The coded video stream frames come from, told to a processor before the first frame.
public struct SourceStream: Sendable {
    /// FFmpeg's codec name, e.g. `h264`, `mpeg2video`.
    public var codecName: String
    /// The decoded pixel format, e.g. `yuv420p`.
    public var pixelFormatName: String

    public init(codecName: String, pixelFormatName: String) {
        self.codecName = codecName
        self.pixelFormatName = pixelFormatName
    }

    /// True where the decoded format stores chroma at a lower resolution than luma (4:2:0 and the like).
    public var hasSubsampledChroma: Bool { PixelFormats.hasSubsampledChroma(named: pixelFormatName) }
}

/// What a processor did over a whole stream, returned with the last frames.
public struct ProcessingSummary: Sendable {
    /// Seconds spent adapting (zero for fixed methods).
    public var adaptSeconds = 0.0
    /// Scene and adaptation records for reports (empty for fixed methods).
    public var scenes: [SceneRecord] = []
    /// Live mode: when adapted models took over (empty otherwise).
    public var switches: [ModelSwitch] = []

    public init(adaptSeconds: Double = 0, scenes: [SceneRecord] = [], switches: [ModelSwitch] = []) {
        self.adaptSeconds = adaptSeconds
        self.scenes = scenes
        self.switches = switches
    }
}

/// The upscaling stage of a video job: frames go in in order and come out in order, upscaled, possibly later
/// (a scheduler holds a bounded look-ahead). Called from one thread at a time.
public protocol FrameProcessor: AnyObject {
    var scale: Int { get }
    var name: String { get }
    /// Takes the next frame; returns the frames that are ready.
    func submit(_ frame: TimedFrame) throws -> [TimedFrame]
    /// The end of the stream: returns every frame still held and what the processor did.
    func finish() throws -> (frames: [TimedFrame], summary: ProcessingSummary)
    /// True when the processor returns every frame at once and can upscale a late frame cheaply.
    var acceptsLateFrames: Bool { get }
    /// Takes the next frame; a `late` one (behind the latency budget) gets a cheap fallback where accepted.
    func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame]
    /// Told once, before the first frame, what the frames were coded with (video input only).
    func prepare(for source: SourceStream)
    /// True when the processor reads `TimedFrame.coding`: only then does the decoder export quantisers and the
    /// reader attach them to every frame.
    var wantsFrameCoding: Bool { get }
}

extension FrameProcessor {
    public func prepare(for source: SourceStream) {}
    public var wantsFrameCoding: Bool { false }
    public var acceptsLateFrames: Bool { false }
    public func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame] { try submit(frame) }
}

/// A fixed upscaler as a frame processor: one frame in, the same frame upscaled out.
public final class PerFrameProcessor: FrameProcessor {
    public let upscaler: FrameUpscaler
    public var scale: Int { upscaler.scale }
    public var name: String { upscaler.name }

    public var acceptsLateFrames: Bool { true }
    private lazy var fallback = InterpolationUpscaler(kernel: .bicubic, scale: upscaler.scale, name: "bicubic")

    public init(_ upscaler: FrameUpscaler) { self.upscaler = upscaler }

    public func submit(_ frame: TimedFrame) throws -> [TimedFrame] { try submit(frame, late: false) }

    public func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame] {
        [frame.with(try (late ? fallback : upscaler).upscale(frame.image))]
    }

    public func finish() throws -> (frames: [TimedFrame], summary: ProcessingSummary) { ([], ProcessingSummary()) }
}
