import Foundation
import Decode
import Engine

/// Things a job tells while it runs, beside the frame flow.
public enum JobEvent: Sendable {
    /// The job knows what it is doing; `expectedFrames` is nil when the input states no length.
    case started(input: String, output: String, expectedFrames: Int?)
    /// `frames` frames have been written so far.
    case progress(frames: Int, expectedFrames: Int?, elapsed: Double)
    /// Something the user should know that does not stop the job.
    case warning(String)
    /// An ONSR adaptation made progress.
    case adaptation(step: Int, of: Int, internalLoss: Float)
    /// The scheduler began a scene (with what it decided to adapt).
    case scene(SceneRecord)
}

/// Seconds spent in each stage of the frame flow (stages overlap in time: they run concurrently).
public struct StageSeconds: Codable, Sendable {
    public var demuxDecode: Double = 0
    public var toRGB: Double = 0
    /// Adaptation and inference together (they share a stage); `adapt` is the adaptation part.
    public var upscale: Double = 0
    public var adapt: Double = 0
    public var infer: Double = 0
    public var fromRGB: Double = 0
    public var encode: Double = 0
    public var mux: Double = 0
}

/// What `--report` writes: the settings, what happened to each stream, counts and timings.
public struct JobReport: Codable, Sendable {
    public struct Settings: Codable, Sendable {
        public var method: String
        public var scale: Int
        public var codec: String
        public var crf: Double?
        public var preset: String?
        public var pixelFormat: String
        public var encoderOptions: [String]
    }

    public struct StreamEntry: Codable, Sendable {
        public var inputIndex: Int
        public var kind: String
        public var codec: String
        /// "upscaled", "copied", "transcoded" or "dropped".
        public var action: String
        public var language: String?
        /// What a transcoded stream became (its encoder, e.g. `libopus`).
        public var outputCodec: String? = nil
    }

    public var input: String
    public var output: String
    public var inputSize: [Int]
    public var outputSize: [Int]
    public var settings: Settings
    public var colour: [String: String]
    public var frames: Int
    public var damagedPackets: Int
    public var repairedTimestamps: Int
    public var streams: [StreamEntry]
    /// How the starting model was chosen where `--model` was not given (`StartingModel`); nil otherwise.
    public var start: StartingChoice? = nil
    /// Scenes and adaptations (ONSR only).
    public var scenes: [SceneRecord]?
    /// Live mode: when adapted models took over.
    public var modelSwitches: [ModelSwitch]?
    /// Interlaced input: the field order the stream states, the frames decoded flagged interlaced, and the
    /// deinterlacer they went through (nil with `--deinterlace off`). Nil for progressive input.
    public var interlace: InterlaceRecord? = nil
    /// The part of the input upscaled (`--start`, `--duration`); nil for the whole input.
    public var trim: TrimWindow? = nil
    /// HDR10 metadata found in the input (the container's, or the first frame's) and handed to the output's encoder
    /// and container; nil where there was none.
    public var hdr: HDRMetadata? = nil
    /// Closed captions carried in the video (A/53): frames that had them and frames written with them; nil where none had.
    public var closedCaptions: CaptionRecord? = nil
    /// Decoded frames of another size than the stream's, fitted into its size before upscaling (nil where none were).
    public var refittedFrames: Int? = nil
    /// Frames written with the input's alpha plane, and how it was upscaled (`AlphaPlane`); nil where none were.
    public var alphaFrames: Int? = nil
    public var alphaMethod: String? = nil
    /// Frames dropped (drop policy) and frames upscaled by the fallback because they were late.
    public var droppedFrames: Int
    public var lateFrames: Int
    /// Seconds from a frame's decoding to its encoding.
    public var latency: LatencySummary?
    public var seconds: StageSeconds
    public var wallSeconds: Double
    public var framesPerSecond: Double
    /// Library, instruction set, precision and convolution kernel of the learned methods (nil otherwise).
    public var compute: ComputeReport? = nil
    /// The process's peak resident memory so far (MiB).
    public var peakResidentMegabytes: Double = JobReport.peakResidentMegabytes()

    /// The peak resident set size of this process (getrusage), in MiB.
    public static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Writes the report as pretty-printed JSON, atomically.
    public func write(to path: String) throws { try JSONReport.write(self, to: path) }
}

/// Input-to-output latency of frames: decoded to encoded, in seconds.
/// How many of the upscaled frames carried closed captions, and how many were written with them (all, unless the
/// encoder cannot carry captions).
public struct CaptionRecord: Codable, Sendable {
    public var frames: Int
    public var written: Int
    /// `cc_data` packets of dropped frames that no kept frame had room for (absent when none).
    public var lostPackets: Int? = nil
}

/// What an interlaced input went through; the output is progressive either way.
public struct InterlaceRecord: Codable, Sendable {
    public var fieldOrder: String?
    public var interlacedFrames: Int
    public var deinterlacer: String?
    public var deinterlacedFrames: Int
}

public struct LatencySummary: Codable, Sendable {
    public var maxSeconds: Double
    public var meanSeconds: Double
    public var frames: Int
}

/// Collects latencies as frames are written.
struct LatencyMeter {
    private(set) var max = 0.0, total = 0.0, count = 0
    mutating func record(since arrival: UInt64) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - arrival) / 1e9
        max = Swift.max(max, seconds); total += seconds; count += 1
    }
    var summary: LatencySummary? { count == 0 ? nil : LatencySummary(maxSeconds: max, meanSeconds: total / Double(count), frames: count) }
}

/// A monotonic stopwatch.
public struct Stopwatch {
    public init() {}
    private let start = DispatchTime.now().uptimeNanoseconds
    public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Runs `body` and adds its duration to `total`.
    public static func time<T>(_ total: inout Double, _ body: () throws -> T) rethrows -> T {
        let watch = Stopwatch()
        defer { total += watch.seconds }
        return try body()
    }
}

/// Writes any report as pretty-printed JSON, atomically.
public enum JSONReport {
    public static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw JobError(.cannotCreate, "\(path): cannot write the report: \(error.localizedDescription)")
        }
    }
}
