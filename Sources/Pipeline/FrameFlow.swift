import Foundation
import Decode

/// The three concurrent stages of one `VideoJob`. The muxer is shared by the reader (copied streams)
/// and the writer (video), so every muxer call holds `muxLock`.
final class FrameFlow: @unchecked Sendable {
    /// Everything a flow is set up with, decided once by `VideoJob` before any frame moves: the opened media,
    /// the stream plan, the colour conversion, the job's options and the processor frames go through.
    struct Configuration {
        let demuxer: Demuxer, decoder: Decoder, encoder: Encoder, muxer: Muxer
        let video: StreamInfo
        let plan: StreamPlan
        /// Output index of the upscaled video stream.
        let videoOutput: Int
        let matrix: ColourMatrix, fullRange: Bool
        /// The range frames are encoded in: the input's, or full where the encoder takes nothing else (JPEG).
        let outputFullRange: Bool
        /// Brings upscaled frames to the output size asked for; nil where they have it.
        let resize: FrameResize?
        let expectedFrames: Int?
        /// True where the encoder writes the closed captions frames carry (libx264, mpeg2video).
        let carriesCaptions: Bool
        /// True where the input's frames have an alpha plane and the encoder's format keeps one (ProRes 4444, PNG,
        /// QuickTime Animation, FFV1): the plane is carried beside the colour. Where only the input has one, the first
        /// frames are looked at, and transparency found there is warned about once.
        let carriesAlpha: Bool, inputHasAlpha: Bool
        let options: VideoJobOptions
        let processor: FrameProcessor
        let events: (JobEvent) -> Void
    }

    /// What the flow was set up with (media, plan, colour, options, processor, events).
    let setup: Configuration
    let damage: DamageCounter

    private let decoded: BoundedQueue<FlowItem>
    private let upscaled: BoundedQueue<FlowItem>
    private let muxLock = NSLock()
    private let errorLock = NSLock()
    private var firstError: Error?

    private(set) var framesWritten = 0
    private(set) var droppedFrames = 0
    private(set) var lateFrames = 0
    private(set) var latency = LatencyMeter()
    let dropPolicy: DropPolicy
    /// The input's name, for the processor's errors.
    let input: String
    let maxLatency: Double
    private(set) var repairedTimestamps = 0
    /// Decoded frames flagged interlaced, and frames that came out of the deinterlacer.
    private(set) var interlacedFrames = 0
    private(set) var deinterlacedFrames = 0
    /// Decoded frames of another size than the stream's, fitted into it (`FrameRefit`).
    private(set) var refittedFrames = 0
    /// Frames written with the input's alpha plane.
    private(set) var alphaFrames = 0
    /// Upscaled frames whose input frame carried closed captions, and those of them written with the captions.
    private(set) var captionedFrames = 0
    private(set) var captionsWritten = 0
    /// Captions of dropped frames, carried on to the next frame kept.
    private var captionCarry = ClosedCaptionCarry()
    /// The report's captions: frames that had them, frames written with them, and packets of dropped frames never
    /// written (no room in the next kept frame, or none came); nil where no frame had any.
    var captionRecord: CaptionRecord? {
        let lost = captionCarry.lostPackets + captionCarry.pending.count / 3
        guard captionedFrames > 0 || lost > 0 else { return nil }
        return CaptionRecord(frames: captionedFrames, written: captionsWritten, lostPackets: lost > 0 ? lost : nil)
    }
    private(set) var stages = StageSeconds()
    /// What the processor reported when the stream ended.
    private(set) var summary = ProcessingSummary()
    private var readerStages = StageSeconds(), upscaleStages = StageSeconds()

    /// The trim window in each read stream's time base (the video's and every copied or re-encoded stream's), empty
    /// for the whole input; decided once, not per packet.
    private let windows: [Int: TrimWindow.Ticks]
    /// The video's window, nil for the whole input.
    private var window: TrimWindow.Ticks? { windows[setup.video.index] }

    init(_ c: Configuration) {
        setup = c
        var windows: [Int: TrimWindow.Ticks] = [:]
        if !c.options.trim.isWhole {
            for index in [c.video.index] + Array(c.plan.copies.keys) + Array(c.plan.transcodes.keys) {
                windows[index] = c.options.trim.ticks(inputStart: c.demuxer.startTime, timeBase: c.demuxer.streams[index].timeBase)
            }
        }
        self.windows = windows
        damage = DamageCounter(allowed: c.options.allowDamaged, path: c.options.input)
        input = c.options.input
        dropPolicy = c.options.dropPolicy
        maxLatency = c.options.maxLatency
        decoded = BoundedQueue(capacity: c.options.queueDepth)
        upscaled = BoundedQueue(capacity: c.options.queueDepth)
    }

    /// Runs all stages; throws the first error any of them met.
    func run() throws {
        let group = DispatchGroup()
        spawn(group) { try self.readStage() }
        spawn(group) { try self.upscaleStage() }
        // The writer reports its own failure through fail(), like the other stages.
        try? writeStage()
        group.wait()
        stages.demuxDecode = readerStages.demuxDecode
        stages.toRGB = readerStages.toRGB
        stages.upscale = upscaleStages.upscale
        stages.adapt = summary.adaptSeconds
        // Live adaptation runs on its own thread, beside inference rather than inside the stage's time.
        stages.infer = max(0, stages.upscale - (setup.processor.acceptsLateFrames ? 0 : stages.adapt))
        if let error = errorLock.withLock({ firstError }) { throw error }
    }

    private func spawn(_ group: DispatchGroup, _ body: @escaping () throws -> Void) {
        group.enter()
        let thread = Thread {
            do { try body() } catch { self.fail(error) }
            group.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func fail(_ error: Error) {
        errorLock.withLock { if firstError == nil { firstError = error } }
        decoded.close()
        upscaled.close()
    }

    private func seconds(_ pts: Int64?) -> Double? { pts.map { Double($0) * setup.video.timeBase.doubleValue } }

    // MARK: Stage 1: demux, decode, convert to RGB

    private func readStage() throws {
        let packet = try Packet(), frame = try Frame(), progressive = try Frame(), intake = FrameIntake(setup)
        defer {
            readerStages.toRGB += intake.seconds
            refittedFrames = intake.refittedFrames
        }
        var lastPts: Int64?, firstPts: Int64?, decodedFrames = 0
        /// Set when a frame past the trim window's end came: reading stops there, and the rest is not judged.
        var windowEnded = false
        let frameDuration = FrameFlow.ticksPerFrame(setup.video)
        let window = self.window
        var deinterlacer: Deinterlacer?

        /// Decoded frames, through the deinterlacer once there is one.
        func drain() throws -> Bool {
            while true {
                let step: DecodeStep
                do {
                    step = try Stopwatch.time(&readerStages.demuxDecode) { try setup.decoder.receive(into: frame) }
                } catch {
                    try damage.record("\(error)", at: seconds(lastPts))
                    return true
                }
                guard case .output = step else { return true }
                if frame.hasDecodeErrors { try damage.record("concealed decoding errors", at: seconds(frame.bestEffortTimestamp)) }
                if frame.isInterlaced { interlacedFrames += 1 }
                if let current = deinterlacer, !current.accepts(frame) {
                    // The stream changed size or format: the frames held back come out first, then a graph for the new ones.
                    try Stopwatch.time(&readerStages.demuxDecode) { try current.sendEndOfStream() }
                    if try !drainDeinterlaced() { return false }
                    deinterlacer = nil
                }
                if deinterlacer == nil && setup.options.deinterlace == .auto && (frame.isInterlaced || setup.video.isInterlaced) {
                    deinterlacer = try Deinterlacer(width: frame.width, height: frame.height, pixelFormat: frame.pixelFormat,
                                                    timeBase: setup.video.timeBase, sampleAspectRatio: setup.video.sampleAspectRatio)
                }
                if let deinterlacer {
                    do {
                        try Stopwatch.time(&readerStages.demuxDecode) { try deinterlacer.send(frame) }
                    } catch {
                        let near = seconds(frame.bestEffortTimestamp).map { String(format: "near %.2f s", $0) } ?? "at the start"
                        throw JobError(.dataError, "\(setup.demuxer.path): cannot deinterlace a frame \(near) (\(error))")
                    }
                    if try !drainDeinterlaced() { return false }
                } else if try !emit(frame) {
                    return false
                }
            }
        }

        func drainDeinterlaced() throws -> Bool {
            guard let deinterlacer else { return true }
            while case .output = try Stopwatch.time(&readerStages.demuxDecode, { try deinterlacer.receive(into: progressive) }) {
                deinterlacedFrames += 1
                if try !emit(progressive) { return false }
            }
            return true
        }

        /// Gives one frame its timestamp, converts it to RGB and queues it (if the trim window keeps it); false when
        /// the queue has closed or the window has ended.
        func emit(_ frame: Frame) throws -> Bool {
            var pts = frame.bestEffortTimestamp ?? lastPts.map { $0 + frameDuration } ?? 0
            if let last = lastPts, pts <= last {
                pts = last + 1
                repairedTimestamps += 1
            }
            lastPts = pts
            if firstPts == nil { firstPts = pts }
            decodedFrames += 1
            if let window {
                if window.isPastEnd(pts) { windowEnded = true; return false }
                // Decoding starts at the keyframe before the window: frames before it only lead up to it.
                guard window.keeps(pts) else { return true }
                pts -= window.from
            }
            var timed = try intake.timedFrame(from: frame, pts: pts, seconds: seconds(pts)) { setup.events(.warning("\(input): \($0)")) }
            if dropPolicy == .drop {
                timed.captions = captionCarry.kept(timed.captions)
                switch decoded.offer(.frame(timed)) {
                case .queued: break
                case .closed: return false
                case .full:
                    // The caption stream is one text in order: what this frame carried waits for the next one kept.
                    captionCarry.dropped(timed.captions)
                    droppedFrames += 1
                    if droppedFrames == 1 {
                        setup.events(.warning("input is faster than upscaling: dropping frames (the report counts them)"))
                    }
                }
            } else if !decoded.push(.frame(timed)) {
                return false
            }
            return true
        }

        reading: while true {
            let step: ReadStep
            do {
                step = try Stopwatch.time(&readerStages.demuxDecode) { try setup.demuxer.read(into: packet) }
            } catch {
                // A read error ends what can be read: the rest of the file is unreachable.
                try damage.record("\(error)", at: seconds(lastPts))
                break reading
            }
            guard case .packet = step else { break }
            if packet.streamIndex == setup.video.index {
                if windowEnded {
                    // Copied streams lag the video in the file by up to its interleaving: read on a little past it.
                    if let pts = packet.pts, let window, window.isPastReadOn(pts) { break reading }
                    continue
                }
                if packet.isCorrupt { try damage.record("packet flagged corrupt by the demuxer", at: seconds(packet.pts)) }
                do {
                    try Stopwatch.time(&readerStages.demuxDecode) { try setup.decoder.send(packet) }
                } catch {
                    try damage.record("\(error)", at: seconds(packet.pts))
                }
                if try !drain() && !windowEnded { return }
            } else if setup.plan.copies[packet.streamIndex] != nil || setup.plan.transcodes[packet.streamIndex] != nil {
                let timeBase = setup.demuxer.streams[packet.streamIndex].timeBase
                let when = packet.pts.map { Double($0) * timeBase.doubleValue }
                if packet.isCorrupt {
                    try damage.record("a packet of stream #\(packet.streamIndex) flagged corrupt by the demuxer", at: when)
                }
                if let kept = windows[packet.streamIndex] {
                    guard let pts = packet.pts, kept.keeps(pts) else { continue }
                    packet.shiftTimestamps(earlierBy: kept.from)
                }
                do {
                    if let target = setup.plan.copies[packet.streamIndex] {
                        try muxLock.withLock { try setup.muxer.write(packet, toStream: target, from: timeBase) }
                    } else if let transcode = setup.plan.transcodes[packet.streamIndex] {
                        try transcode.feed(packet, write: writeTranscoded(transcode))
                    }
                } catch {
                    // The muxer refuses a copied packet it cannot place (timestamps gone backwards, a size of 0), or
                    // the audio decoder a packet: damage in that stream, not an output failure.
                    try damage.record("a packet of stream #\(packet.streamIndex) could not be stored: \(error)", at: when)
                }
            }
        }
        for (index, transcode) in setup.plan.transcodes.sorted(by: { $0.key < $1.key }) {
            do {
                try transcode.finish(write: writeTranscoded(transcode))
            } catch {
                try damage.record("the end of stream #\(index) could not be re-encoded: \(error)", at: seconds(lastPts))
            }
        }
        if !windowEnded {
            do {
                try setup.decoder.sendEndOfStream()
            } catch {
                try damage.record("\(error)", at: seconds(lastPts))
            }
            if try !drain() && !windowEnded { return }
        }
        if let deinterlacer, !windowEnded {
            try deinterlacer.sendEndOfStream()
            if try !drainDeinterlaced() && !windowEnded { return }
        }
        if interlacedFrames > 0 && deinterlacer == nil {
            setup.events(.warning("\(input): \(interlacedFrames) interlaced frames upscaled as progressive frames (--deinterlace off)"))
        }
        var span: Double?
        if let first = firstPts, let last = lastPts { span = Double(last - first + frameDuration) * setup.video.timeBase.doubleValue }
        if window != nil, let last = lastPts {
            // Reading began at a keyframe near the start: the span runs from the input's start, the frames uncounted.
            span = Double(last + frameDuration) * setup.video.timeBase.doubleValue - setup.demuxer.startTime
        }
        if windowEnded {
            // The window ended before the input: what lies after it was not read.
        } else if let shortfall = StreamShortfall(stream: setup.video, containerDuration: setup.demuxer.duration)
                    .judge(frames: window == nil ? decodedFrames : nil, span: span) {
            try damage.record(shortfall, at: seconds(lastPts))
        } else if let missing = setup.demuxer.bytesMissingFromIndex {
            // Every video frame came, but the index places other data (audio, subtitles) past the end of the file.
            try damage.record("the file ends \(missing) bytes before the end its index states", at: seconds(lastPts))
        }
        decoded.push(.end)
    }

    /// Writes what a transcoded stream's encoder gives back to its output stream.
    private func writeTranscoded(_ transcode: StreamTranscode) -> (Packet, Rational) throws -> Void {
        { packet, timeBase in try self.muxLock.withLock { try self.setup.muxer.write(packet, toStream: transcode.output, from: timeBase) } }
    }

    /// Ticks of the stream's time base per frame, for inputs whose frames carry no timestamps.
    static func ticksPerFrame(_ video: StreamInfo) -> Int64 {
        guard video.averageFrameRate.isValid, video.timeBase.isValid else { return 1 }
        let ticks = video.timeBase.doubleValue > 0 ? 1 / (video.averageFrameRate.doubleValue * video.timeBase.doubleValue) : 1
        return max(1, Int64(ticks.rounded()))
    }

    // MARK: Stage 2: upscale

    private func upscaleStage() throws {
        do {
            try upscaleFrames()
        } catch let error as JobError {
            throw error.naming(input)
        }
    }

    private func upscaleFrames() throws {
        let canFallBack = dropPolicy == .fallback && setup.processor.acceptsLateFrames
        while let item = decoded.pop() {
            switch item {
            case .frame(let frame):
                let late = canFallBack && Double(DispatchTime.now().uptimeNanoseconds - frame.arrival) / 1e9 > maxLatency
                if late { lateFrames += 1 }
                let ready = try Stopwatch.time(&upscaleStages.upscale) { try setup.processor.submit(frame, late: late) }
                if !ready.allSatisfy({ upscaled.push(.frame($0)) }) { return }
            case .end:
                let (rest, summary) = try Stopwatch.time(&upscaleStages.upscale) { try setup.processor.finish() }
                self.summary = summary
                if !rest.allSatisfy({ upscaled.push(.frame($0)) }) { return }
                upscaled.push(.end)
                return
            }
        }
    }

    // MARK: Stage 3: convert, encode, mux

    private func writeStage() throws {
        do {
            let clock = Stopwatch()
            let writer = try FrameWriter(setup) { packet in
                try self.muxLock.withLock { try self.setup.muxer.write(packet, toStream: self.setup.videoOutput, from: self.setup.encoder.timeBase) }
            }
            defer {
                stages.fromRGB = writer.stages.fromRGB
                stages.encode = writer.stages.encode
                stages.mux = writer.stages.mux
                (alphaFrames, captionedFrames, captionsWritten) = (writer.alphaFrames, writer.captionedFrames, writer.captionsWritten)
            }
            while let item = upscaled.pop() {
                switch item {
                case .frame(let timed):
                    try writer.write(timed) { setup.events(.warning("\(input): \($0)")) }
                    latency.record(since: timed.arrival)
                    framesWritten += 1
                    setup.events(.progress(frames: framesWritten, expectedFrames: setup.expectedFrames, elapsed: clock.seconds))
                case .end:
                    try writer.finish()
                    guard framesWritten > 0 else {
                        if setup.options.trim.isWhole { throw JobError(.dataError, "\(setup.demuxer.path): no video frame could be decoded") }
                        throw JobError(.usage, "\(setup.demuxer.path): no video frame from --start \(TrimWindow.describe(setup.options.trim.start)) on")
                    }
                    return
                }
            }
        } catch {
            fail(error)
            throw error
        }
    }
}
