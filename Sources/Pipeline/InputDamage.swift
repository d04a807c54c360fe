import Foundation
import Decode

/// Counts damaged input and decides, the first time, whether the job may go on.
final class DamageCounter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var count = 0
    let allowed: Bool
    let path: String

    init(allowed: Bool, path: String) {
        self.allowed = allowed
        self.path = path
    }

    /// Records one damaged packet or frame; throws unless damage is allowed.
    func record(_ what: String, at seconds: Double?) throws {
        lock.lock(); count += 1; lock.unlock()
        guard allowed else {
            let when = seconds.map { String(format: " near %.2f s", $0) } ?? ""
            throw JobError(.dataError, "\(path): damaged data\(when) (\(what)); pass --allow-damaged to keep what decodes")
        }
    }
}

/// What a video stream's container states about its length, against which the frames that decoded are judged: a
/// demuxer that meets a cut or garbage may just stop, as if the file ended there.
public struct StreamShortfall: Sendable {
    /// Frames the container states (MP4, AVI), if it states a count.
    public var statedFrameCount: Int?
    /// Seconds the stream (or else the container) states.
    public var statedDuration: Double?
    /// Seconds of one frame at the stream's average rate (0.04 where the rate is unknown).
    public var frameSeconds: Double

    public init(statedFrameCount: Int?, statedDuration: Double?, frameSeconds: Double) {
        self.statedFrameCount = statedFrameCount
        self.statedDuration = statedDuration
        self.frameSeconds = frameSeconds
    }

    /// What `stream` and its container (`containerDuration`) state.
    public init(stream: StreamInfo, containerDuration: Double?) {
        let rate = stream.averageFrameRate
        self.init(statedFrameCount: stream.statedFrameCount, statedDuration: stream.statedDuration ?? containerDuration,
                  frameSeconds: rate.isValid && rate.doubleValue > 0 ? 1 / rate.doubleValue : 0.04)
    }

    /// How far a stream that decoded `frames` frames over `span` seconds falls short of what is stated, when it
    /// does (one line for the damage record), else nil. `frames` is nil where frames were skipped on purpose (a trim
    /// window's start): only the span counts then. Judged by the stated frame count where there is one, else by the
    /// stated duration, with a margin of two frames or 2% for edit lists and rounding. Fewer frames than stated are
    /// no cut when the frames that came still span the stated duration: AVI states one index entry per tick of its
    /// frame rate and repeats a frame with an empty entry, which the demuxer skips (opencv-doc's tree.avi: 68 frames
    /// decode of 444 stated, the last at 29.53 s of 29.60 s), and any variable-rate stream leaves such gaps.
    public func judge(frames: Int?, span: Double?) -> String? {
        func spanFallsShort(of stated: Double) -> Bool { stated - (span ?? 0) > max(2 * frameSeconds, stated / 50) }
        if let stated = statedFrameCount, let frames {
            guard stated - frames > max(2, stated / 50) else { return nil }
            if let duration = statedDuration, duration > 0, span != nil, !spanFallsShort(of: duration) { return nil }
            return "the video ends after \(frames) of the \(stated) frames its container states"
        }
        guard let stated = statedDuration, stated > 0, spanFallsShort(of: stated) else { return nil }
        return String(format: "the video ends after %.2f s of the %.2f s its container states", span ?? 0, stated)
    }
}
