import CFFmpeg
import Foundation

/// How much FFmpeg's own logging prints on stderr.
public enum MediaLog: Sendable {
    /// Nothing at all.
    case silent
    /// FFmpeg's errors only (the default: encoder banners and statistics stay hidden).
    case errors
    /// Everything FFmpeg reports at its informational level.
    case verbose

    /// Applies the level process-wide. SVT-AV1 prints its banner itself, past FFmpeg's level; its own
    /// variable (`SVT_LOG`, 1: errors only) quiets it unless the user has set it. (x265: `Encoder.quieted`.)
    public func apply() {
        switch self {
        case .silent: av_log_set_level(AV_LOG_QUIET)
        case .errors: av_log_set_level(AV_LOG_ERROR)
        case .verbose: av_log_set_level(AV_LOG_INFO)
        }
        if self != .verbose { setenv("SVT_LOG", "1", 0) }
    }
}
