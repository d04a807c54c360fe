import Foundation
import Decode

/// Opens inputs and turns every way an input can be wrong into one clear line with the right status.
public enum InputCheck {
    /// True for names FFmpeg opens as protocols rather than files (URLs, `-` for stdin).
    static func isURL(_ path: String) -> Bool { path == "-" || path.contains("://") }

    /// True for inputs that cannot be read twice: standard input and network streams (`file:` URLs are files).
    public static func isStream(_ path: String) -> Bool { isURL(path) && !path.hasPrefix("file:") }

    /// True for network sources, whose frames arrive in real time whether or not they are read (`pipe:` and
    /// `file:` URLs wait for their reader).
    public static func isNetwork(_ path: String) -> Bool {
        path.contains("://") && !path.hasPrefix("file:") && !path.hasPrefix("pipe:")
    }

    /// The name FFmpeg opens for a path: `-` is standard input or output.
    static func ffmpegName(_ path: String, input: Bool = false) -> String {
        path == "-" ? (input ? "pipe:0" : "pipe:1") : path
    }

    /// Fails unless `path` is an existing, readable, non-empty regular file (URLs pass unchecked; a numbered
    /// picture sequence, `frame_%04d.png`, is checked by its first picture).
    static func requireReadableFile(_ path: String) throws {
        guard !isURL(path) else { return }
        if !FileManager.default.fileExists(atPath: path) && PictureSequence.isPattern(path) {
            guard let first = PictureSequence.firstInputFile(path) else {
                throw JobError(.noInput, "\(path): no such file (nor a picture numbered 0 to 4 in this sequence)")
            }
            return try requireReadableFile(first)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw JobError(.noInput, "\(path): no such file")
        }
        if isDirectory.boolValue { throw JobError(.noInput, "\(path): is a directory, not a media file") }
        guard access(path, R_OK) == 0 else { throw JobError(.noInput, "\(path): not readable (permission denied)") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        if size == 0 { throw JobError(.dataError, "\(path): empty file") }
    }

    /// Opens a media file for demuxing.
    static func openMedia(_ path: String, format: String?) throws -> Demuxer {
        try requireReadableFile(path)
        do {
            return try Demuxer(path: ffmpegName(path, input: true), formatName: format)
        } catch let error as MediaError {
            if error.isNoSuchFile { throw JobError(.noInput, "\(path): no such file") }
            if error.call == "av_find_input_format" { throw JobError(.usage, "\(format ?? ""): unknown input format") }
            throw JobError(.dataError, "\(path): not a media file FFmpeg can read (\(error.reason))")
        }
    }

    /// The main video stream of an opened input.
    static func videoStream(of demuxer: Demuxer) throws -> StreamInfo {
        guard let index = demuxer.bestVideoStream else {
            // A cover picture is stored as a video stream, but it is no video.
            let kinds = Set(demuxer.streams.map { $0.isAttachedPicture ? "a cover picture" : $0.kind.rawValue }).sorted().joined(separator: ", ")
            let has = kinds.isEmpty ? "no streams" : "only \(kinds)"
            throw JobError(.dataError, "\(demuxer.path): no video stream (it has \(has))")
        }
        let stream = demuxer.streams[index]
        guard stream.width > 0, stream.height > 0 else {
            throw JobError(.dataError, "\(demuxer.path): video stream #\(index) (\(stream.codecName)) has no frame size; the file may be damaged")
        }
        return stream
    }

    /// Opens the decoder for the main video stream.
    static func openDecoder(_ demuxer: Demuxer, stream: StreamInfo, threads: Int, exportQuantisers: Bool = false) throws -> Decoder {
        do {
            return try Decoder(demuxer: demuxer, streamIndex: stream.index, threads: threads, exportQuantisers: exportQuantisers)
        } catch let error as MediaError {
            if error.call == "avcodec_find_decoder" {
                throw JobError(.dataError, "\(demuxer.path): unsupported video codec \(stream.codecName) (this FFmpeg has no decoder for it)")
            }
            throw JobError(.dataError, "\(demuxer.path): cannot decode video stream #\(stream.index) (\(stream.codecName)): \(error.reason)")
        }
    }
}
