import Decode

/// A failure the user sees as one line, with its kind; the command line decides the exit status of each kind
/// (`ExitStatus` in the `onsr-video` target), this library only what went wrong and where.
public struct JobError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure it is.
    public enum Kind: Sendable, CaseIterable {
        /// Bad command line or option combination.
        case usage
        /// The input exists but its data is not usable: not a video, damaged, unsupported.
        case dataError
        /// The input does not exist or cannot be read.
        case noInput
        /// The output cannot be created or would replace a file without `--overwrite`.
        case cannotCreate
        /// Stopped by a signal.
        case interrupted
        /// Anything else.
        case other
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
    public func naming(_ path: String) -> JobError {
        message.hasPrefix(path + ":") ? self : JobError(kind, "\(path): \(message)")
    }

    /// Wraps any error as a JobError, keeping JobErrors as they are.
    public static func wrap(_ error: Error, kind: Kind = .other, context: String? = nil) -> JobError {
        if let job = error as? JobError { return job }
        let prefix = context.map { "\($0): " } ?? ""
        if let media = error as? MediaError {
            // A hidden temporary name means nothing to the user; the context names the output it stands for.
            if context != nil, media.context?.contains(StalePartials.marker) == true {
                return JobError(kind, prefix + "\(media.reason) (\(media.call))")
            }
            return JobError(kind, prefix + media.description)
        }
        return JobError(kind, prefix + "\(error)")
    }
}
