import CFFmpeg

/// A failed FFmpeg call: its return code and the name of the call, with optional context (a file, a stream).
public struct MediaError: Error, CustomStringConvertible, Sendable {
    /// The negative AVERROR code the call returned.
    public let code: Int32
    /// The name of the FFmpeg function that failed, e.g. `avformat_open_input`.
    public let call: String
    /// What the call was working on, e.g. the input path.
    public let context: String?

    public init(code: Int32, call: String, context: String? = nil) {
        self.code = code
        self.call = call
        self.context = context
    }

    /// FFmpeg's own text for the code.
    public var reason: String { MediaError.text(for: code) }

    /// True when FFmpeg judged the data itself broken (AVERROR_INVALIDDATA and kin).
    public var isInvalidData: Bool { code == onsr_averror_invaliddata() }

    /// True when the system said the file does not exist.
    public var isNoSuchFile: Bool { code == onsr_averror(ENOENT) }

    /// True when a muxer refused what it was given (a codec, size or pixel format it does not take) rather than
    /// failing to write: what `avformat_write_header` returns for libx264 into GIF or an odd size into DV.
    public var isFormatRefusal: Bool {
        [EINVAL, EPERM, ENOSYS].contains { code == onsr_averror($0) } || isInvalidData
    }

    public var description: String {
        let prefix = context.map { "\($0): " } ?? ""
        return "\(prefix)\(reason) (\(call))"
    }

    /// FFmpeg's text for an error code.
    public static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        return buffer.withUnsafeMutableBufferPointer { raw in
            String(cString: onsr_err2str(code, raw.baseAddress, raw.count))
        }
    }
}

/// Throws a `MediaError` when an FFmpeg return code is negative; passes other values through.
@discardableResult
func check(_ code: Int32, _ call: String, _ context: String? = nil) throws -> Int32 {
    if code < 0 { throw MediaError(code: code, call: call, context: context) }
    return code
}

/// FFmpeg status codes that are states of the data flow rather than errors.
enum FlowCode {
    static let again = onsr_averror_eagain()
    static let endOfFile = onsr_averror_eof()
    static let noTimestamp = onsr_nopts_value()
}
