import Foundation
import Decode

/// Everything one video upscaling run needs to know.
public struct VideoJobOptions: Sendable {
    public var input: String
    public var output: String
    /// Container names for inputs and outputs whose name does not tell (`nut`, `matroska`, ...).
    public var inputFormat: String?
    public var outputFormat: String?
    public var encoder = EncoderSettings()
    public var overwrite = false
    public var allowDamaged = false
    public var dropUnsupportedStreams = false
    /// Frames buffered between stages; bounds memory independently of the video's length.
    public var queueDepth = 4
    /// What happens to frames when the input is faster than the tool.
    public var dropPolicy = DropPolicy.block
    /// Fallback policy: a frame that waited longer than this (seconds since it was decoded) gets the cheap method.
    public var maxLatency = 2.0
    /// Whether interlaced input is deinterlaced before upscaling.
    public var deinterlace = DeinterlaceMode.auto
    /// The part of the input to upscale (`--start`, `--duration`); the whole input by default.
    public var trim = TrimWindow()
    /// The output picture size (`--width`, `--height`); the model's by default.
    public var size = OutputSize()

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }
}

/// What happens to frames that arrive faster than they can be upscaled.
public enum DropPolicy: String, CaseIterable, Codable, Sendable {
    /// Back-pressure: reading waits (a pipe or file just slows down). Nothing is lost.
    case block
    /// Frames that find the queue full are dropped, counted and reported (a live source keeps its pace).
    case drop
    /// Frames that waited longer than the latency budget are upscaled with bicubic interpolation instead.
    case fallback
}

/// What happens to interlaced input.
public enum DeinterlaceMode: String, CaseIterable, Codable, Sendable {
    /// Frames the decoder flags interlaced (or all frames of a stream stating a field order) go through
    /// FFmpeg's bwdif first: two fields scaled together would magnify the combing between them.
    case auto
    /// Frames are upscaled as they are decoded (a warning counts the interlaced ones).
    case off
}

/// One item travelling between stages: a frame with its presentation time and the monotonic time (ns) it
/// was decoded, or the end of the stream.
enum FlowItem {
    case frame(TimedFrame)
    case end
}

/// Decodes a video, upscales every frame, encodes it and copies every other stream, in three concurrent
/// stages joined by bounded queues: (demux, decode, to RGB) -> (upscale) -> (from RGB, encode, mux).
public final class VideoJob {
    public let options: VideoJobOptions
    private let processor: FrameProcessor
    private let events: (JobEvent) -> Void

    public init(options: VideoJobOptions, processor: FrameProcessor, events: @escaping (JobEvent) -> Void = { _ in }) {
        self.options = options
        self.processor = processor
        self.events = events
    }

    /// A job that upscales every frame with one fixed upscaler.
    public convenience init(options: VideoJobOptions, upscaler: FrameUpscaler, events: @escaping (JobEvent) -> Void = { _ in }) {
        self.init(options: options, processor: PerFrameProcessor(upscaler), events: events)
    }

    /// The encoder settings for `muxer`: without --codec, a container that takes no H.264 (pictures and animations, a
    /// numbered sequence among them, Y4M, IVF, WebM) gets its own codec (png, gif, libvpx-vp9 for WebM), as FFmpeg
    /// writes it; then encoders whose own default quality is poor get a good one.
    static func encoderSettings(_ requested: EncoderSettings, for muxer: Muxer, named name: String) -> EncoderSettings {
        var settings = requested
        if !settings.codecChosen && (muxer.holdsVideoAlone || muxer.canHold(encoder: settings.codec) == false),
           let own = muxer.defaultVideoEncoder(forName: name) {
            settings.codec = own
            settings.crf = nil
        }
        settings.applyQualityDefault()
        return settings
    }

    /// The input's HDR10 metadata: what its container states, else, for PQ or HLG video in a file, what its first frame
    /// carries (HEVC and AV1 keep it in the bitstream), read by a second demuxer so that the job's own reading starts at
    /// the beginning; a pipe or network input is read once, so there only the container's counts.
    private func hdrMetadata(of video: StreamInfo) -> HDRMetadata? {
        if let stated = video.hdr { return stated }
        guard video.colour.isHDR, !InputCheck.isStream(options.input),
              let probe = try? Demuxer(path: InputCheck.ffmpegName(options.input, input: true), formatName: options.inputFormat)
        else { return nil }
        return HDRMetadata.firstFrame(of: probe, stream: video.index)
    }

    /// Runs the job to completion; the output appears under its final name only on success.
    public func run() throws -> JobReport {
        let wall = Stopwatch()
        let demuxer = try InputCheck.openMedia(options.input, format: options.inputFormat)
        let video = try InputCheck.videoStream(of: demuxer)
        if options.trim.start > 0, let length = video.statedDuration ?? demuxer.duration, options.trim.start >= length {
            throw JobError(.usage, "\(options.input): --start \(TrimWindow.describe(options.trim.start)) is past the end of the video "
                            + "(\(TrimWindow.describe(length)))")
        }
        let decoder = try InputCheck.openDecoder(demuxer, stream: video, threads: 0, exportQuantisers: processor.wantsFrameCoding)
        // Pipes and network outputs are written as they go; files appear under their name only when complete.
        let streamed = InputCheck.isURL(options.output)
        if streamed && options.outputFormat == nil && options.output == "-" {
            throw JobError(.usage, "-: name the container of standard output with --output-format (e.g. nut, matroska, mpegts)")
        }
        // A numbered picture sequence (frame_%04d.png) is many files: written into a hidden folder, moved out at the end.
        let sequence = !streamed && PictureSequence.isPattern(options.output)
        let output: PendingOutput?
        if streamed {
            output = nil
        } else if case let layout = Muxer.fileLayout(name: options.output, formatName: options.outputFormat), layout != .oneFile {
            _ = try AtomicOutput.checkDestination(options.output, overwrite: options.overwrite, inputs: [options.input])
            // HLS, DASH and segment outputs name their segments relative to the output: written together in a hidden
            // folder and moved out. Tee and smooth streaming name files elsewhere: written in place.
            output = layout == .segmentsBeside
                ? try AtomicSequence(finalPattern: options.output, overwrite: options.overwrite, inputs: [options.input], playlist: true)
                : nil
        } else if sequence {
            output = try AtomicSequence(finalPattern: options.output, overwrite: options.overwrite, inputs: [options.input])
        } else {
            output = try AtomicOutput(finalPath: options.output, overwrite: options.overwrite, inputs: [options.input])
        }
        let muxer: Muxer
        do {
            muxer = try Muxer(path: output?.temporaryPath ?? InputCheck.ffmpegName(options.output), formatName: options.outputFormat,
                              nameForFormat: options.output)
        } catch let error as MediaError {
            let kind: JobError.Kind = error.call == "av_guess_format" ? .usage : .cannotCreate
            throw JobError(kind, "\(options.output): \(error.context ?? error.reason)")
        }

        var settings = VideoJob.encoderSettings(options.encoder, for: muxer, named: options.output)
        let hdr = hdrMetadata(of: video)
        let hdrParameters = hdr?.encoderParameters(for: settings.codec)
        if let hdrParameters { settings.prependParameters(hdrParameters.key, hdrParameters.value) }
        // Before any encoder opens: a container that cannot hold the video codec (libx264 into WebM) otherwise
        // fails in avformat_write_header with "Invalid argument".
        if muxer.canHold(encoder: settings.codec) == false {
            throw JobError(.usage, "\(options.output): a \(muxer.formatName) file cannot hold \(settings.codec) video; "
                            + "choose another --codec or container")
        }
        let colour = video.colour
        let matrix = colour.matrix(height: video.height)
        let sourceFormat = video.pixelFormatName ?? "yuv420p"
        let fullRange = colour.isFullRange(pixelFormatName: sourceFormat)
        // JPEG pictures are full range (FFmpeg's mjpeg encoder refuses video range): the output follows the encoder.
        let outputFullRange = fullRange || EncoderSettings.takesFullRangeOnly(settings.codec)
        let (scaledWidth, scaledHeight) = (video.width * processor.scale, video.height * processor.scale)
        let outputSize = options.size.resolved(scaledWidth: scaledWidth, scaledHeight: scaledHeight)
        let format = VideoFormat(width: outputSize.width, height: outputSize.height,
                                 timeBase: video.timeBase, frameRate: video.averageFrameRate,
                                 sampleAspectRatio: video.sampleAspectRatio,
                                 colour: colour.resolved(matrix: matrix, fullRange: outputFullRange), sourcePixelFormat: sourceFormat)
        // FFmpeg refuses pictures of (w + 128) * (h + 128) >= INT_MAX / 8 samples, with only "Invalid argument".
        if (scaledWidth + 128) * (scaledHeight + 128) >= Int(Int32.max) / 8 || (format.width + 128) * (format.height + 128) >= Int(Int32.max) / 8 {
            throw JobError(.dataError, "\(options.input): a \(video.width)x\(video.height) video upscaled x\(processor.scale) is "
                            + "\(format.width)x\(format.height), larger than FFmpeg's encoders take (about 268 million pixels a frame)")
        }
        let encoder: Encoder
        do {
            encoder = try Encoder(settings: settings, format: format, globalHeader: muxer.wantsGlobalHeader)
        } catch let error as MediaError where settings.codec != options.encoder.codec {
            // The container's own codec, not the user's choice: name the container, which is what the user chose.
            throw JobError(.usage, "\(options.output): a \(muxer.formatName) file takes \(settings.codec) video, which refuses "
                            + "\(format.width)x\(format.height) (\(error.reason)); choose another --codec or container")
        } catch {
            throw JobError.wrap(error, kind: .usage, context: "cannot open encoder \(settings.codec)")
        }
        let (plan, videoOutput) = try StreamPlan.build(demuxer: demuxer, muxer: muxer, outputName: options.output, video: video, encoder: encoder,
                                                       dropUnsupported: options.dropUnsupportedStreams,
                                                       allowDamaged: options.allowDamaged)
        plan.warnings.forEach { events(.warning($0)) }
        if hdr != nil && hdrParameters == nil {
            events(.warning("\(options.input): \(settings.codec) does not write HDR10 metadata into the video; only the container states it "
                            + "where it can (Matroska, WebM); libx265, libx264 and libsvtav1 write it"))
        }
        do {
            if let hdr { try muxer.attach(hdr, toStream: videoOutput) }
            try muxer.copyMetadataAndChapters(from: demuxer)
            try muxer.writeHeader()
        } catch let error as MediaError where error.isFormatRefusal {
            // FFmpeg does not say which stream it refused: name what was given.
            let copied = plan.entries.filter { $0.action == "copied" }.map { "\($0.codec) \($0.kind)" }
            let given = ["\(settings.codec) video at \(format.width)x\(format.height)"] + copied.map { "copied \($0)" }
            throw JobError(.usage, "\(options.output): a \(muxer.formatName) file refuses \(given.joined(separator: ", ")) "
                            + "(\(error.reason)); choose another --codec or container")
        } catch {
            throw JobError.wrap(error, kind: .cannotCreate, context: options.output)
        }

        let expected = options.trim.expectedFrames(statedFrames: video.statedFrameCount, statedDuration: video.statedDuration ?? demuxer.duration,
                                                   frameRate: video.averageFrameRate.doubleValue)
        if options.trim.start > 0 {
            // Where the input cannot seek to a keyframe, its frames before the window are decoded and dropped instead.
            _ = demuxer.seek(toSeconds: demuxer.startTime + options.trim.start, stream: video.index)
        }
        events(.started(input: options.input, output: options.output, expectedFrames: expected))

        let inputHasAlpha = PixelFormats.keepsAlpha(named: sourceFormat) || PixelFormats.isPalette(named: sourceFormat)
        processor.prepare(for: SourceStream(codecName: video.codecName, pixelFormatName: sourceFormat))
        let flow = FrameFlow(.init(demuxer: demuxer, decoder: decoder, encoder: encoder, muxer: muxer, video: video, plan: plan,
                                   videoOutput: videoOutput, matrix: matrix, fullRange: fullRange, outputFullRange: outputFullRange,
                                   resize: FrameResize(from: scaledWidth, scaledHeight, to: outputSize), expectedFrames: expected,
                                   carriesCaptions: Frame.encoderCarriesCaptions(settings.codec) && settings.keepsClosedCaptions,
                                   carriesAlpha: inputHasAlpha && PixelFormats.keepsAlpha(named: encoder.pixelFormatName),
                                   inputHasAlpha: inputHasAlpha,
                                   options: options, processor: processor, events: events))
        try flow.run()
        do {
            try muxer.finish()
        } catch {
            throw JobError.wrap(error, kind: .cannotCreate, context: options.output)
        }
        try output?.commit()

        let seconds = wall.seconds
        return JobReport(
            input: options.input, output: options.output,
            inputSize: [video.width, video.height], outputSize: [format.width, format.height],
            settings: .init(method: processor.name, scale: processor.scale, codec: settings.codec, crf: settings.crf,
                            preset: settings.preset, pixelFormat: encoder.pixelFormatName,
                            encoderOptions: settings.options.map { "\($0.key)=\($0.value)" }),
            colour: format.colour.names.merging(["matrixUsed": matrix.rawValue, "fullRange": String(outputFullRange)]) { a, _ in a },
            frames: flow.framesWritten, damagedPackets: flow.damage.count, repairedTimestamps: flow.repairedTimestamps,
            streams: plan.entries, scenes: flow.summary.scenes.isEmpty ? nil : flow.summary.scenes,
            modelSwitches: flow.summary.switches.isEmpty ? nil : flow.summary.switches,
            interlace: flow.interlacedFrames > 0 || video.isInterlaced
                ? InterlaceRecord(fieldOrder: video.fieldOrder, interlacedFrames: flow.interlacedFrames,
                                  deinterlacer: flow.deinterlacedFrames > 0 ? Deinterlacer.filterName : nil,
                                  deinterlacedFrames: flow.deinterlacedFrames)
                : nil,
            trim: options.trim.isWhole ? nil : options.trim,
            hdr: hdr,
            closedCaptions: flow.captionRecord,
            refittedFrames: flow.refittedFrames > 0 ? flow.refittedFrames : nil,
            alphaFrames: flow.alphaFrames > 0 ? flow.alphaFrames : nil, alphaMethod: flow.alphaFrames > 0 ? AlphaPlane.method : nil,
            droppedFrames: flow.droppedFrames, lateFrames: flow.lateFrames, latency: flow.latency.summary, seconds: flow.stages, wallSeconds: seconds,
            framesPerSecond: seconds > 0 ? Double(flow.framesWritten) / seconds : 0)
    }
}
