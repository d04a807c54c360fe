import CFFmpeg

/// Result of one read from a demuxer.
public enum ReadStep: Sendable {
    case packet
    case endOfFile
}

/// Owns an input `AVFormatContext`: opens a file or URL, snapshots its streams, reads packets.
public final class Demuxer: @unchecked Sendable {
    let context: UnsafeMutablePointer<AVFormatContext>
    /// The path or URL that was opened.
    public let path: String
    /// Snapshots of every stream, indexed like the container's streams.
    public let streams: [StreamInfo]
    /// Short name of the container format, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    public let formatName: String

    /// Opens `path`; `formatName` forces a container format where probing cannot tell.
    public init(path: String, formatName: String? = nil) throws {
        var inputFormat: UnsafePointer<AVInputFormat>?
        if let formatName {
            guard let format = av_find_input_format(formatName) else {
                throw MediaError(code: onsr_averror(EINVAL), call: "av_find_input_format", context: formatName)
            }
            inputFormat = format
        }
        var opened: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_open_input(&opened, ffmpegURL(forPath: path), inputFormat, nil), "avformat_open_input", path)
        guard let opened else { throw MediaError(code: onsr_averror(ENOMEM), call: "avformat_open_input", context: path) }
        let probed = avformat_find_stream_info(opened, nil)
        if probed < 0 {
            var doomed: UnsafeMutablePointer<AVFormatContext>? = opened
            avformat_close_input(&doomed)
            throw MediaError(code: probed, call: "avformat_find_stream_info", context: path)
        }
        context = opened
        self.path = path
        let formatName = String(cString: opened.pointee.iformat.pointee.name)
        self.formatName = formatName
        streams = (0..<Int(opened.pointee.nb_streams)).map {
            StreamInfo(stream: opened.pointee.streams[$0]!, indexListsEveryFrame: formatName == "avi")
        }
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&doomed)
    }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        precondition(index >= 0 && index < streams.count, "stream index \(index) out of range")
        return context.pointee.streams[index]!
    }

    /// The stream FFmpeg judges the main video stream (cover art excluded), nil when there is none.
    public var bestVideoStream: Int? {
        let found = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        if found >= 0 && !streams[Int(found)].isAttachedPicture { return Int(found) }
        return streams.first { $0.kind == .video && !$0.isAttachedPicture }?.index
    }

    /// Whole-file duration in seconds, nil when unknown.
    public var duration: Double? {
        context.pointee.duration > 0 ? Double(context.pointee.duration) / Double(AV_TIME_BASE) : nil
    }

    /// How many bytes past the end of the file the container's index places data (a file cut short after its
    /// index was written: an MP4 with its index first, an AVI, a Matroska file with cues before the clusters);
    /// nil when the index ends inside the file, or the size or the index is unknown (pipes, indexless streams).
    public var bytesMissingFromIndex: Int64? {
        guard let io = context.pointee.pb else { return nil }
        let size = avio_size(io)
        guard size > 0 else { return nil }
        var end: Int64 = 0
        for index in 0..<Int(context.pointee.nb_streams) {
            let stream = context.pointee.streams[index]!
            for entry in 0..<avformat_index_get_entries_count(stream) {
                guard let found = avformat_index_get_entry(stream, entry), found.pointee.pos >= 0 else { continue }
                end = max(end, found.pointee.pos + Int64(found.pointee.size))
            }
        }
        return end > size ? end - size : nil
    }

    /// Seconds at which the input starts (an MPEG-TS capture often starts well after zero); 0 when unknown.
    public var startTime: Double {
        context.pointee.start_time == onsr_nopts_value() ? 0 : Double(context.pointee.start_time) / Double(AV_TIME_BASE)
    }

    /// Moves reading to the last keyframe of stream `index` at or before `seconds` (on the input's own clock,
    /// `startTime` included), so that decoding from there reaches that time. Only where the container indexes that
    /// stream's keyframes (MP4, Matroska with cues, AVI): elsewhere (MPEG-TS, pipes, live sources) a seek lands
    /// between keyframes and the decoder would drop the frames up to the next one, so this returns false and
    /// reading goes on from where it is.
    public func seek(toSeconds seconds: Double, stream index: Int) -> Bool {
        let indexed = stream(index)
        let keyframes = (0..<avformat_index_get_entries_count(indexed)).contains {
            (avformat_index_get_entry(indexed, $0)?.pointee.flags ?? 0) & AVINDEX_KEYFRAME != 0
        }
        guard keyframes else { return false }
        let target = Int64((seconds * Double(AV_TIME_BASE)).rounded(.down))
        return avformat_seek_file(context, -1, Int64.min, target, target, 0) >= 0
    }

    /// Number of chapters in the input.
    public var chapterCount: Int { Int(context.pointee.nb_chapters) }

    /// Container-level metadata.
    public var metadata: [String: String] { Dictionary(copying: context.pointee.metadata) }

    /// Stream-level metadata of stream `index`.
    public func metadata(ofStream index: Int) -> [String: String] { Dictionary(copying: stream(index).pointee.metadata) }

    /// Reads the next packet of any stream. Read errors other than end of file throw.
    public func read(into packet: Packet) throws -> ReadStep {
        packet.reset()
        let code = av_read_frame(context, packet.pointer)
        if code == FlowCode.endOfFile { return .endOfFile }
        try check(code, "av_read_frame", path)
        return .packet
    }
}

/// The name to hand FFmpeg for `path`. FFmpeg reads a leading run of letters, digits, `+`, `-` and `.` ending in a colon
/// as a protocol, so a file called `a:b.mp4` (or the hidden `.a:b.mp4.onsr-partial-...` written beside it) would be
/// "Protocol not found"; where no protocol of that name exists, the name is a relative path and gets `./`. Real
/// protocols (`pipe:0`, `file:`, `concat:`, `tcp://`, ...) and absolute paths pass as they are.
func ffmpegURL(forPath path: String) -> String {
    guard !path.hasPrefix("/"), path.contains(":"), avio_find_protocol_name(path) == nil else { return path }
    return "./" + path
}

extension Dictionary where Key == String, Value == String {
    /// Copies an `AVDictionary` into a Swift dictionary.
    init(copying dictionary: OpaquePointer?) {
        self.init()
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let next = av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            self[String(cString: next.pointee.key)] = String(cString: next.pointee.value)
            entry = next
        }
    }
}
