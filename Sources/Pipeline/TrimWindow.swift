import Foundation
import Decode

/// The part of the input a video job upscales (`--start`, `--duration`), in seconds from the input's start, as
/// FFmpeg's input `-ss` / `-t` read it: a preview of a few seconds before committing hours of upscaling. The output
/// starts at zero; copied streams (audio, subtitles) keep the packets that start inside the window.
public struct TrimWindow: Codable, Equatable, Sendable {
    /// Seconds from the input's start to the first frame kept.
    public var start: Double
    /// Seconds kept from there; nil keeps the rest.
    public var duration: Double?

    public init(start: Double = 0, duration: Double? = nil) {
        precondition(start >= 0 && (duration ?? 1) > 0, "a trim window starts at or after zero and lasts a positive time")
        self.start = start
        self.duration = duration
    }

    /// `seconds` as messages write a time: "90 s", "12.5 s".
    public static func describe(_ seconds: Double) -> String {
        var text = String(format: "%.3f", seconds)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + " s"
    }

    /// True when the window is the whole input.
    public var isWhole: Bool { start == 0 && duration == nil }

    /// How many frames the window should hold, from what the input states (for the whole input its frame count where
    /// it has one, else its duration and frame rate); nil when neither the window nor the input has an end.
    public func expectedFrames(statedFrames: Int? = nil, statedDuration: Double?, frameRate: Double) -> Int? {
        if isWhole, let statedFrames { return statedFrames }
        let remaining = statedDuration.map { max(0, $0 - start) }
        guard let length = [remaining, duration].compactMap({ $0 }).min(), frameRate > 0 else { return nil }
        return Int((length * frameRate).rounded())
    }

    /// The window on the input's own clock (which starts at `inputStart`) in ticks of `timeBase`.
    func ticks(inputStart: Double, timeBase: Rational) -> Ticks {
        let tick = timeBase.isValid && timeBase.doubleValue > 0 ? timeBase.doubleValue : 1.0 / 90_000
        let from = Int64(((inputStart + start) / tick).rounded())
        return Ticks(from: from, to: duration.map { from + Int64(($0 / tick).rounded()) },
                     readOn: Int64((TrimWindow.readOnSeconds / tick).rounded()))
    }

    /// Seconds the video is read past the window's end, for the copied streams' packets that the file interleaves
    /// behind it.
    static let readOnSeconds = 2.0

    /// A window in one stream's time base: `from` inclusive, `to` exclusive; `readOn` ticks past `to` are still read.
    struct Ticks {
        let from: Int64
        let to: Int64?
        let readOn: Int64

        /// Whether `pts` lies past the window's end and the read-on after it: reading can stop.
        func isPastReadOn(_ pts: Int64) -> Bool { to.map { pts >= $0 + readOn } ?? false }

        /// Whether a packet or frame stamped `pts` starts inside the window.
        func keeps(_ pts: Int64) -> Bool { pts >= from && to.map { pts < $0 } ?? true }
        /// Whether `pts` lies past the window's end, so that nothing after it is wanted.
        func isPastEnd(_ pts: Int64) -> Bool { to.map { pts >= $0 } ?? false }
    }
}

/// Parses the times `--start` and `--duration` take: seconds (`90`, `12.5`) or `[HH:]MM:SS[.fff]` (`1:30`,
/// `01:02:03.5`), as FFmpeg's time durations are written.
public enum TimeArgument {
    /// Seconds, or nil for text that is not a time.
    public static func seconds(_ text: String) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), let last = Double(parts.last!), last >= 0, last.isFinite else { return nil }
        guard parts.count == 1 || last < 60 else { return nil }
        var total = last, unit = 60.0
        for (position, part) in parts.dropLast().reversed().enumerated() {
            // Minutes under an hours field stay below 60, as seconds do under minutes.
            guard !part.isEmpty, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber), let whole = Int(part),
                  position == 1 || parts.count == 2 || whole < 60 else { return nil }
            total += Double(whole) * unit
            unit *= 60
        }
        return total
    }
}
