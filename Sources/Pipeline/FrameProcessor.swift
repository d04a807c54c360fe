import Decode

/// One decoded frame with its presentation time, as it travels between stages.
public struct TimedFrame: Sendable {
    public var image: RGBImage
    /// Presentation time in the video stream's time base.
    public var pts: Int64
    /// Presentation time in seconds, where the stream's time base is known.
    public var seconds: Double?

    public init(image: RGBImage, pts: Int64, seconds: Double? = nil) {
        self.image = image
        self.pts = pts
        self.seconds = seconds
    }
}

/// The upscaling stage of a video job: frames go in in order and come out in order, upscaled, possibly later
/// (a scheduler holds a bounded look-ahead). Called from one thread at a time.
public protocol FrameProcessor: AnyObject {
    var scale: Int { get }
    var name: String { get }
    /// Takes the next frame; returns the frames that are ready.
    func submit(_ frame: TimedFrame) throws -> [TimedFrame]
    /// The end of the stream: returns every frame still held.
    func finish() throws -> [TimedFrame]
    /// Seconds spent adapting (zero for fixed methods); the rest of the stage's time is inference.
    var adaptSeconds: Double { get }
    /// Scene and adaptation records for reports (empty for fixed methods).
    var scenes: [SceneRecord] { get }
    /// Live mode: when adapted models took over (empty otherwise).
    var switches: [ModelSwitch] { get }
    /// True when the processor returns every frame at once and can upscale a late frame cheaply.
    var acceptsLateFrames: Bool { get }
    /// Takes the next frame; a `late` one (behind the latency budget) gets a cheap fallback where accepted.
    func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame]
}

extension FrameProcessor {
    public var switches: [ModelSwitch] { [] }
    public var acceptsLateFrames: Bool { false }
    public func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame] { try submit(frame) }
}

/// A fixed upscaler as a frame processor: one frame in, the same frame upscaled out.
public final class PerFrameProcessor: FrameProcessor {
    public let upscaler: FrameUpscaler
    public var scale: Int { upscaler.scale }
    public var name: String { upscaler.name }
    public var adaptSeconds: Double { 0 }
    public var scenes: [SceneRecord] { [] }

    public var acceptsLateFrames: Bool { true }
    private lazy var fallback = InterpolationUpscaler(kernel: .bicubic, scale: upscaler.scale, name: "bicubic")

    public init(_ upscaler: FrameUpscaler) { self.upscaler = upscaler }

    public func submit(_ frame: TimedFrame) throws -> [TimedFrame] { try submit(frame, late: false) }

    public func submit(_ frame: TimedFrame, late: Bool) throws -> [TimedFrame] {
        [TimedFrame(image: try (late ? fallback : upscaler).upscale(frame.image), pts: frame.pts, seconds: frame.seconds)]
    }

    public func finish() throws -> [TimedFrame] { [] }
}
