import CFFmpeg

/// Owns an output `AVFormatContext` and its file: streams are added, then the header, packets, trailer.
public final class Muxer: @unchecked Sendable {
    let context: UnsafeMutablePointer<AVFormatContext>
    /// The file being written (often a temporary name).
    public let path: String
    /// Short name of the container format, e.g. `mp4`.
    public let formatName: String
    private var headerWritten = false

    /// Prepares `path` for writing. The container is `formatName` when given, otherwise guessed from
    /// `nameForFormat` (the final file name, since `path` may be a temporary name).
    public init(path: String, formatName: String? = nil, nameForFormat: String) throws {
        let format: UnsafePointer<AVOutputFormat>?
        if let formatName {
            format = av_guess_format(formatName, nil, nil)
        } else {
            format = av_guess_format(nil, nameForFormat, nil)
        }
        guard let format else {
            throw MediaError(code: onsr_averror(EINVAL), call: "av_guess_format",
                             context: formatName.map { "unknown output format \($0)" } ?? "no container for the extension of \(nameForFormat)")
        }
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&allocated, format, nil, path), "avformat_alloc_output_context2", path)
        guard let allocated else { throw MediaError(code: onsr_averror(ENOMEM), call: "avformat_alloc_output_context2", context: path) }
        if format.pointee.flags & AVFMT_NOFILE == 0 {
            let opened = avio_open(&allocated.pointee.pb, ffmpegURL(forPath: path), AVIO_FLAG_WRITE)
            if opened < 0 {
                avformat_free_context(allocated)
                throw MediaError(code: opened, call: "avio_open", context: path)
            }
        }
        context = allocated
        self.path = path
        self.formatName = String(cString: format.pointee.name)
    }

    deinit {
        if context.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&context.pointee.pb) }
        avformat_free_context(context)
    }

    /// How the muxer FFmpeg picks for `name` (or `formatName`) lays out what it writes.
    public enum FileLayout: Sendable {
        /// One file under the name given: it can be written under a temporary name and renamed.
        case oneFile
        /// HLS and DASH (a playlist and its segments) and the segment muxers: every file in the output's folder,
        /// named relative to the output, so the set can be written in another folder and moved.
        case segmentsBeside
        /// Tee (other outputs named in the spec) and smooth streaming (a folder of its own): written in place.
        case elsewhere
    }

    /// The layout of the muxer FFmpeg picks for `name` (or `formatName`); `.oneFile` where it knows none.
    public static func fileLayout(name: String, formatName: String?) -> FileLayout {
        guard let format = av_guess_format(formatName, formatName == nil ? name : nil, nil) else { return .oneFile }
        switch String(cString: format.pointee.name) {
        case "hls", "dash", "segment", "stream_segment,ssegment": return .segmentsBeside
        case "tee", "smoothstreaming": return .elsewhere
        default: return .oneFile
        }
    }

    /// The encoder FFmpeg writes this container's video with by default for a file called `name` (a picture
    /// sequence goes by the extension: `png` for `.png`, `mjpeg` for `.jpg`), nil when it has none or this FFmpeg
    /// lacks it.
    public func defaultVideoEncoder(forName name: String) -> String? {
        let id = av_guess_codec(context.pointee.oformat, nil, name, nil, AVMEDIA_TYPE_VIDEO)
        guard id != AV_CODEC_ID_NONE, let codec = avcodec_find_encoder(id) else { return nil }
        return String(cString: codec.pointee.name)
    }

    /// True for containers that hold one video stream of their own kind and nothing else: pictures and animations
    /// (image2's numbered pictures, GIF, APNG, animated WebP), YUV4MPEG and IVF.
    public var holdsVideoAlone: Bool { ["image2", "gif", "apng", "webp", "yuv4mpegpipe", "ivf"].contains(formatName) }

    /// True when the container asks for codec headers out of band (MP4, MKV).
    public var wantsGlobalHeader: Bool { context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 }

    /// Whether the container can hold this stream's codec beside the upscaled video: true, false, or nil when FFmpeg
    /// cannot say. A container that holds the video alone (`holdsVideoAlone`) holds no other stream, whatever FFmpeg
    /// answers about its codec. Attachments (fonts, cover files) go by the container: Matroska writes them as its
    /// attachments, whatever their codec, while `avformat_query_codec` answers 0 ("unknown") for them there.
    public func canHold(streamOf demuxer: Demuxer, index: Int) -> Bool? {
        if holdsVideoAlone { return false }
        let parameters = demuxer.stream(index).pointee.codecpar.pointee
        if parameters.codec_type == AVMEDIA_TYPE_ATTACHMENT { return formatName == "matroska" }
        // MPEG-TS maps only DVB subtitles and teletext to a stream type; it writes any other subtitle codec as private
        // data, which reads back as `bin_data` (FFmpeg 5.1, `ffprobe`): the subtitles would be lost, not stored.
        if formatName == "mpegts" && parameters.codec_type == AVMEDIA_TYPE_SUBTITLE {
            return [AV_CODEC_ID_DVB_SUBTITLE, AV_CODEC_ID_DVB_TELETEXT].contains(parameters.codec_id)
        }
        let answer = avformat_query_codec(context.pointee.oformat, parameters.codec_id, FF_COMPLIANCE_NORMAL)
        if answer >= 0 { return answer == 1 }
        let input = demuxer.stream(index)
        return trialHeader { stream in
            guard avcodec_parameters_copy(stream.pointee.codecpar, input.pointee.codecpar) >= 0 else { return false }
            stream.pointee.codecpar.pointee.codec_tag = 0
            stream.pointee.time_base = input.pointee.time_base
            return true
        }
    }

    /// Whether the container can hold what the encoder named `encoderName` writes: true, false, or nil when
    /// FFmpeg cannot say.
    public func canHold(encoder encoderName: String) -> Bool? {
        guard let codec = avcodec_find_encoder_by_name(encoderName) else { return nil }
        let answer = avformat_query_codec(context.pointee.oformat, codec.pointee.id, FF_COMPLIANCE_NORMAL)
        if answer >= 0 { return answer == 1 }
        return trialHeader { stream in
            let parameters = stream.pointee.codecpar!
            parameters.pointee.codec_type = codec.pointee.type
            parameters.pointee.codec_id = codec.pointee.id
            if codec.pointee.type == AVMEDIA_TYPE_VIDEO {
                parameters.pointee.width = 640
                parameters.pointee.height = 360
                parameters.pointee.format = codec.pointee.pix_fmts?.pointee.rawValue ?? AV_PIX_FMT_YUV420P.rawValue
            }
            stream.pointee.time_base = AVRational(num: 1, den: 25)
            return true
        }
    }

    /// Where `avformat_query_codec` cannot say (Ogg, MPEG program streams, MXF, DV, ... answer "unknown"), the muxer's own
    /// checks answer: a header with one stream that `describe` fills is written into memory, and refused or not. Nil
    /// where the trial itself cannot be set up.
    private func trialHeader(_ describe: (UnsafeMutablePointer<AVStream>) -> Bool) -> Bool? {
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        guard avformat_alloc_output_context2(&allocated, context.pointee.oformat, nil, nil) >= 0, let trial = allocated else { return nil }
        defer { avformat_free_context(trial) }
        guard let stream = avformat_new_stream(trial, nil), describe(stream), avio_open_dyn_buf(&trial.pointee.pb) >= 0 else { return nil }
        let code = avformat_write_header(trial, nil)
        var written: UnsafeMutablePointer<UInt8>?
        _ = avio_close_dyn_buf(trial.pointee.pb, &written)
        av_free(written)
        trial.pointee.pb = nil
        return code >= 0
    }

    /// Adds a stream whose packets are copied from `demuxer`'s stream `index` untouched; returns its index.
    public func addCopiedStream(from demuxer: Demuxer, index: Int) throws -> Int {
        let input = demuxer.stream(index)
        guard let output = avformat_new_stream(context, nil) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avformat_new_stream", context: path)
        }
        try check(avcodec_parameters_copy(output.pointee.codecpar, input.pointee.codecpar), "avcodec_parameters_copy", path)
        // The input's codec tag is specific to its container; let this muxer pick its own.
        output.pointee.codecpar.pointee.codec_tag = 0
        output.pointee.time_base = input.pointee.time_base
        try copyStreamProperties(from: input, to: output)
        return Int(output.pointee.index)
    }

    /// Adds the stream an encoder writes, taking metadata, dispositions and side data (rotation) from
    /// `demuxer`'s stream `index`; returns its index.
    public func addEncodedStream(_ encoder: Encoder, replacing index: Int, of demuxer: Demuxer) throws -> Int {
        let input = demuxer.stream(index)
        guard let output = avformat_new_stream(context, nil) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avformat_new_stream", context: path)
        }
        try check(avcodec_parameters_from_context(output.pointee.codecpar, encoder.context), "avcodec_parameters_from_context", path)
        output.pointee.time_base = encoder.context.pointee.time_base
        output.pointee.avg_frame_rate = input.pointee.avg_frame_rate
        output.pointee.r_frame_rate = input.pointee.r_frame_rate
        output.pointee.sample_aspect_ratio = encoder.context.pointee.sample_aspect_ratio
        try copyStreamProperties(from: input, to: output)
        // Statistics of the old encoding would be wrong for the new one.
        for key in ["BPS", "NUMBER_OF_BYTES", "NUMBER_OF_FRAMES", "DURATION", "_STATISTICS_TAGS", "_STATISTICS_WRITING_APP",
                    "_STATISTICS_WRITING_DATE_UTC", "encoder", "ENCODER"] {
            av_dict_set(&output.pointee.metadata, key, nil, 0)
        }
        return Int(output.pointee.index)
    }

    /// Adds the stream an audio encoder writes in place of `demuxer`'s stream `index` (its metadata and dispositions
    /// kept); returns its index.
    public func addEncodedStream(_ encoder: AudioEncoder, replacing index: Int, of demuxer: Demuxer) throws -> Int {
        try addStream(encodedBy: encoder.context, replacing: index, of: demuxer)
    }

    /// A stream for what the encoder `context` writes, with the replaced stream's metadata, dispositions and side data,
    /// less the statistics of its old encoding (Matroska's `BPS`, `DURATION`, ...).
    private func addStream(encodedBy encoder: UnsafeMutablePointer<AVCodecContext>, replacing index: Int, of demuxer: Demuxer) throws -> Int {
        guard let output = avformat_new_stream(context, nil) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "avformat_new_stream", context: path)
        }
        try check(avcodec_parameters_from_context(output.pointee.codecpar, encoder), "avcodec_parameters_from_context", path)
        output.pointee.time_base = encoder.pointee.time_base
        try copyStreamProperties(from: demuxer.stream(index), to: output)
        for key in ["BPS", "NUMBER_OF_BYTES", "NUMBER_OF_FRAMES", "DURATION", "encoder", "ENCODER"] {
            av_dict_set(&output.pointee.metadata, key, nil, 0)
        }
        return Int(output.pointee.index)
    }

    /// True for containers that keep a video stream's `timecode` tag (MOV and MP4 write a timecode track from it, Matroska,
    /// WebM and NUT a tag); MPEG-TS, AVI and the rest drop it. Measured with FFmpeg 5.1's muxers and ffprobe.
    public var keepsTimecodeTag: Bool { ["mov", "mp4", "matroska", "webm", "nut"].contains(formatName) }

    /// Adds the stream a subtitle encoder writes in place of `demuxer`'s stream `index` (its metadata, language and
    /// dispositions kept); returns its index.
    public func addEncodedStream(_ encoder: SubtitleEncoder, replacing index: Int, of demuxer: Demuxer) throws -> Int {
        try addStream(encodedBy: encoder.context, replacing: index, of: demuxer)
    }

    /// The text subtitle encoder for this container: the one FFmpeg writes its subtitles with by default for a file called
    /// `name` (`ass` for Matroska, `mov_text` for MOV, `webvtt` for WebM), else the first text codec it is known to hold
    /// (FFmpeg 5.1 names none for MP4, which holds MOV text); nil where it holds none (AVI) or only a bitmap one (MPEG-TS's
    /// `dvb_subtitle`), which text cannot become.
    public func textSubtitleEncoder(forName name: String) -> String? {
        func textEncoder(_ id: AVCodecID) -> String? {
            guard id != AV_CODEC_ID_NONE, let descriptor = avcodec_descriptor_get(id), descriptor.pointee.props & AV_CODEC_PROP_TEXT_SUB != 0,
                  let codec = avcodec_find_encoder_by_name(descriptor.pointee.name) ?? avcodec_find_encoder(id) else { return nil }
            return String(cString: codec.pointee.name)
        }
        if let own = textEncoder(av_guess_codec(context.pointee.oformat, nil, name, nil, AVMEDIA_TYPE_SUBTITLE)) { return own }
        return [AV_CODEC_ID_MOV_TEXT, AV_CODEC_ID_ASS, AV_CODEC_ID_WEBVTT, AV_CODEC_ID_SUBRIP].first {
            avformat_query_codec(context.pointee.oformat, $0, FF_COMPLIANCE_NORMAL) == 1
        }.flatMap(textEncoder)
    }

    /// The audio encoder FFmpeg writes this container with by default for a file called `name` (`libopus` for WebM,
    /// `libvorbis` for Ogg), nil when it has none or this FFmpeg lacks it.
    public func defaultAudioEncoder(forName name: String) -> String? {
        let id = av_guess_codec(context.pointee.oformat, nil, name, nil, AVMEDIA_TYPE_AUDIO)
        guard id != AV_CODEC_ID_NONE, let codec = avcodec_find_encoder(id) else { return nil }
        return String(cString: codec.pointee.name)
    }

    private func copyStreamProperties(from input: UnsafeMutablePointer<AVStream>, to output: UnsafeMutablePointer<AVStream>) throws {
        output.pointee.disposition = input.pointee.disposition
        try check(av_dict_copy(&output.pointee.metadata, input.pointee.metadata, 0), "av_dict_copy", path)
        for i in 0..<Int(input.pointee.nb_side_data) {
            let side = input.pointee.side_data[i]
            guard let target = av_stream_new_side_data(output, side.type, Int(side.size)) else {
                throw MediaError(code: onsr_averror(ENOMEM), call: "av_stream_new_side_data", context: path)
            }
            target.update(from: side.data, count: Int(side.size))
        }
    }

    /// States `hdr` for output stream `index` where the copied stream properties did not (Matroska and WebM store it
    /// in the track header; MP4 in FFmpeg 5.1 does not).
    public func attach(_ hdr: HDRMetadata, toStream index: Int) throws {
        try hdr.attach(to: context.pointee.streams[index]!, path: path)
    }

    /// Copies the container's metadata and chapters from `demuxer`.
    public func copyMetadataAndChapters(from demuxer: Demuxer) throws {
        let input = demuxer.context
        try check(av_dict_copy(&context.pointee.metadata, input.pointee.metadata, 0), "av_dict_copy", path)
        let count = Int(input.pointee.nb_chapters)
        guard count > 0 else { return }
        let size = MemoryLayout<UnsafeMutablePointer<AVChapter>?>.stride * count
        guard let raw = av_mallocz(size) else { throw MediaError(code: onsr_averror(ENOMEM), call: "av_mallocz", context: path) }
        let list = raw.bindMemory(to: UnsafeMutablePointer<AVChapter>?.self, capacity: count)
        context.pointee.chapters = list
        for i in 0..<count {
            guard let source = input.pointee.chapters[i], let memory = av_mallocz(MemoryLayout<AVChapter>.stride) else {
                throw MediaError(code: onsr_averror(ENOMEM), call: "av_mallocz", context: path)
            }
            let chapter = memory.bindMemory(to: AVChapter.self, capacity: 1)
            chapter.pointee.id = source.pointee.id
            chapter.pointee.time_base = source.pointee.time_base
            chapter.pointee.start = source.pointee.start
            chapter.pointee.end = source.pointee.end
            try check(av_dict_copy(&chapter.pointee.metadata, source.pointee.metadata, 0), "av_dict_copy", path)
            list[i] = chapter
            // Counted as each chapter lands so that avformat_free_context frees exactly what exists.
            context.pointee.nb_chapters = UInt32(i + 1)
        }
    }

    /// Writes the container header; streams can no longer be added.
    public func writeHeader() throws {
        try check(avformat_write_header(context, nil), "avformat_write_header", path)
        headerWritten = true
    }

    /// The time base the container chose for stream `index` (valid after the header).
    public func timeBase(ofStream index: Int) -> Rational { Rational(context.pointee.streams[index]!.pointee.time_base) }

    /// Writes a packet to stream `index`, rescaling its timestamps from `timeBase`; the packet is emptied.
    public func write(_ packet: Packet, toStream index: Int, from timeBase: Rational) throws {
        let stream = context.pointee.streams[index]!
        packet.pointer.pointee.stream_index = Int32(index)
        packet.pointer.pointee.pos = -1
        av_packet_rescale_ts(packet.pointer, timeBase.av, stream.pointee.time_base)
        try check(av_interleaved_write_frame(context, packet.pointer), "av_interleaved_write_frame", path)
    }

    /// Flushes interleaving buffers and writes the trailer (the MP4 index, MKV cues).
    public func finish() throws {
        precondition(headerWritten, "finish() before writeHeader()")
        try check(av_write_trailer(context), "av_write_trailer", path)
        if context.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            try check(avio_closep(&context.pointee.pb), "avio_closep", path)
        }
    }
}
