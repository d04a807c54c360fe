import CFFmpeg

/// How much FFmpeg's own logging prints on stderr.
public enum MediaLog: Sendable {
    /// Nothing at all.
    case silent
    /// FFmpeg's errors only (the default: encoder banners and statistics stay hidden).
    case errors
    /// Everything FFmpeg reports at its informational level.
    case verbose

    /// Applies the level process-wide.
    public func apply() {
        switch self {
        case .silent: av_log_set_level(AV_LOG_QUIET)
        case .errors: av_log_set_level(AV_LOG_ERROR)
        case .verbose: av_log_set_level(AV_LOG_INFO)
        }
    }
}
