import Decode

/// What happens to each input stream: the main video stream is upscaled, the others are copied packet for
/// packet, re-encoded (audio the container cannot hold as it is) or dropped. Decided once, before the output header
/// is written.
struct StreamPlan {
    /// Output stream index for each copied input stream.
    var copies: [Int: Int] = [:]
    /// Audio and text subtitle streams re-encoded with the container's own codec, by input stream index.
    var transcodes: [Int: StreamTranscode] = [:]
    var entries: [JobReport.StreamEntry] = []
    var warnings: [String] = []

    /// Adds the output streams to `muxer` in input order, with the encoded video stream at its input position.
    static func build(demuxer: Demuxer, muxer: Muxer, outputName: String, video: StreamInfo, encoder: Encoder,
                      dropUnsupported: Bool, allowDamaged: Bool) throws -> (plan: StreamPlan, videoOutput: Int) {
        var plan = StreamPlan()
        var videoOutput = -1
        // Pictures, animations, Y4M and IVF hold the video alone: the other streams are left out, as FFmpeg maps them.
        let dropUnsupported = dropUnsupported || muxer.holdsVideoAlone
        for stream in demuxer.streams {
            let label = "stream #\(stream.index) (\(stream.kind.rawValue) \(stream.codecName))"
            func entry(_ action: String) -> JobReport.StreamEntry {
                JobReport.StreamEntry(inputIndex: stream.index, kind: stream.kind.rawValue, codec: stream.codecName,
                                      action: action, language: stream.language)
            }
            /// Gives a re-encoded stream its output stream (`addOutput`), and says so in the warnings and the report.
            func add(_ transcode: StreamTranscode, saying verb: String, addOutput: () throws -> Int) throws {
                transcode.output = try wrapOutput(muxer, addOutput)
                plan.transcodes[stream.index] = transcode
                plan.warnings.append("\(label) cannot be stored in \(muxer.formatName); \(verb) \(transcode.outputCodec)")
                var transcoded = entry("transcoded")
                transcoded.outputCodec = transcode.outputCodec
                plan.entries.append(transcoded)
            }
            if stream.index == video.index {
                videoOutput = try wrapOutput(muxer) { try muxer.addEncodedStream(encoder, replacing: stream.index, of: demuxer) }
                plan.entries.append(entry("upscaled"))
                continue
            }
            if let missing = stream.incompleteParameters {
                // A damaged header: the stream cannot be copied; it is damage, like a corrupt packet.
                guard dropUnsupported || allowDamaged else {
                    throw JobError(.dataError, "\(demuxer.path): \(label) is damaged (\(missing)); pass --allow-damaged to drop it")
                }
                plan.warnings.append("\(label) is damaged (\(missing)); dropped")
                plan.entries.append(entry("dropped"))
                continue
            }
            let holdable = muxer.canHold(streamOf: demuxer, index: stream.index)
            // Data streams (timecodes, GPS tracks) are kept only where the container is known to take them,
            // as ffmpeg does; everything else is kept unless the container is known to refuse it.
            let keep = stream.kind == .data || stream.kind == .unknown ? holdable == true : holdable != false
            if !keep && stream.kind == .audio && !dropUnsupported, let name = muxer.defaultAudioEncoder(forName: outputName) {
                // As FFmpeg does: audio the container cannot hold is re-encoded with its own codec (Opus for WebM).
                let encoder: AudioEncoder, transcode: AudioTranscode
                do {
                    encoder = try AudioEncoder(codecName: name, for: demuxer, stream: stream.index, globalHeader: muxer.wantsGlobalHeader)
                    transcode = try AudioTranscode(demuxer: demuxer, stream: stream.index, encoder: encoder)
                } catch {
                    // What the stream states cannot be decoded or encoded (a damaged header's channel count): damage.
                    guard allowDamaged else {
                        throw JobError(.dataError, "\(demuxer.path): \(label) cannot be re-encoded as \(name) (\(error)); "
                                        + "pass --allow-damaged or --drop-unsupported-streams to drop it")
                    }
                    plan.warnings.append("\(label) cannot be re-encoded as \(name) (\(error)); dropped")
                    plan.entries.append(entry("dropped"))
                    continue
                }
                try add(transcode, saying: "re-encoded as") { try muxer.addEncodedStream(encoder, replacing: stream.index, of: demuxer) }
                continue
            }
            if !keep && stream.kind == .subtitle && !dropUnsupported, let name = muxer.textSubtitleEncoder(forName: outputName),
               let transcode = try? SubtitleTranscode(demuxer: demuxer, stream: stream.index, codecName: name, width: video.width,
                                                      height: video.height, globalHeader: muxer.wantsGlobalHeader) {
                // As FFmpeg does: text subtitles the container cannot hold become its own text subtitles (MOV text into
                // Matroska becomes ASS); bitmap ones cannot, and stay an error below.
                try add(transcode, saying: "converted to") { try muxer.addEncodedStream(transcode.encoder, replacing: stream.index, of: demuxer) }
                continue
            }
            if !keep && stream.kind == .data && muxer.keepsTimecodeTag && demuxer.metadata(ofStream: stream.index)["timecode"] != nil
                && demuxer.metadata(ofStream: video.index)["timecode"] != nil {
                // A QuickTime timecode track holds one number, the start's timecode, which the video stream's `timecode`
                // tag repeats: from it MOV and MP4 write a new track and Matroska a tag, so nothing is lost there.
                plan.entries.append(entry("timecode"))
                continue
            }
            if !keep {
                if stream.kind == .data || stream.kind == .unknown || dropUnsupported {
                    plan.warnings.append("\(label) cannot be stored in \(muxer.formatName); dropped")
                    plan.entries.append(entry("dropped"))
                    continue
                }
                throw JobError(.usage, "\(demuxer.path): \(label) cannot be stored in a \(muxer.formatName) file; "
                                + "choose another container or pass --drop-unsupported-streams")
            }
            plan.copies[stream.index] = try wrapOutput(muxer) { try muxer.addCopiedStream(from: demuxer, index: stream.index) }
            plan.entries.append(entry("copied"))
        }
        return (plan, videoOutput)
    }

    private static func wrapOutput<T>(_ muxer: Muxer, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw JobError.wrap(error, kind: .cannotCreate) }
    }
}
