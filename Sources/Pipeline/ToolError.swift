import Decode

/// A failure the user sees as one line and an exit status (sysexits-style).
public struct ToolError: Error, CustomStringConvertible, Sendable {
    /// The exit statuses onsr-video documents.
    public enum Kind: Int32, Sendable {
        /// Bad command line or option combination (EX_USAGE).
        case usage = 64
        /// The input exists but its data is not usable: not a video, damaged, unsupported (EX_DATAERR).
        case dataError = 65
        /// The input does not exist or cannot be read (EX_NOINPUT).
        case noInput = 66
        /// The output cannot be created or would replace a file without `--overwrite` (EX_CANTCREAT).
        case cannotCreate = 73
        /// Stopped by SIGINT / SIGTERM (128 + SIGINT).
        case interrupted = 130
        /// Anything else.
        case other = 1
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The same error with its message prefixed by `path`, unless it names it already: stages that do not know
    /// the file they work on throw plain messages, and the job that does names it.
    public func naming(_ path: String) -> ToolError {
        message.hasPrefix(path + ":") ? self : ToolError(kind, "\(path): \(message)")
    }
    public var exitCode: Int32 { kind.rawValue }

    /// Wraps any error as a ToolError, keeping ToolErrors as they are.
    public static func wrap(_ error: Error, kind: Kind = .other, context: String? = nil) -> ToolError {
        if let tool = error as? ToolError { return tool }
        let prefix = context.map { "\($0): " } ?? ""
        if let media = error as? MediaError { return ToolError(kind, prefix + media.description) }
        return ToolError(kind, prefix + "\(error)")
    }
}
