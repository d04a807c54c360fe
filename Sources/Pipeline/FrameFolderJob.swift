import Foundation
import Decode
import Engine
import ONSR

/// Upscales still images: one file, or a folder of numbered frames (PNG / JPEG) into PNGs of the same names.
public struct FrameFolderJob {
    /// What `--report` writes for image and frame-folder runs.
    public struct Report: Codable, Sendable {
        public var input: String
        public var output: String
        public var method: String
        public var scale: Int
        public var frames: Int
        public var secondsRead: Double
        public var secondsUpscale: Double
        public var secondsWrite: Double
        public var wallSeconds: Double
        /// Library, instruction set, precision and convolution kernel of the learned methods (nil otherwise).
        public var compute: ComputeReport? = nil
        /// Scenes and their adaptations, where a scene scheduler upscaled the folder (ONSR).
        public var scenes: [SceneRecord]? = nil
        /// Frames that could not be read and were skipped (`allowDamaged`); nil when none were.
        public var skippedFrames: [String]? = nil
        /// Pictures whose alpha plane was kept (nil when none had one), and how that plane was upscaled.
        public var alphaFrames: Int? = nil
        public var alphaMethod: String? = nil
        /// ONSR on one picture: the kernel shape Gr was fine-tuned through, and the picture's compression the
        /// external branch reproduced (nil when none).
        public var kernelShape: KernelShape? = nil
        public var compression: CompressionProfile? = nil
        /// ONSR on one picture: the blur estimator's reading, which chose the starting Gr.
        public var blurEstimate: BlurEstimate? = nil
        /// ONSR on one picture: the Gr the adaptation started from, and where the estimate was unsure of the blur,
        /// the bicubic-trained Gr mixed into the output and its share.
        public var startingModel: String? = nil
        public var mixedModel: String? = nil
        public var mixedShare: Double? = nil
        /// ONSR on one picture: how far the adapted Gr's weights count against the starting ones, as applied (`OnlineAdapter.blend`).
        public var blend: Float? = nil
        /// One picture: the symmetries the learned model's output was averaged over (`SelfEnsemble.kept`).
        public var selfEnsemble: SelfEnsemble? = nil
    }

    /// Frames go through this in name order, as a video's frames do (a scene scheduler adapts per scene).
    public let processor: FrameProcessor
    public let overwrite: Bool
    /// The pictures' output size (`--width`, `--height`); the model's by default.
    public let size: OutputSize
    private let events: (JobEvent) -> Void

    public init(processor: FrameProcessor, overwrite: Bool, size: OutputSize = OutputSize(), events: @escaping (JobEvent) -> Void = { _ in }) {
        self.processor = processor
        self.overwrite = overwrite
        self.size = size
        self.events = events
    }

    /// One fixed upscaler for every frame.
    public init(upscaler: FrameUpscaler, overwrite: Bool, size: OutputSize = OutputSize(), events: @escaping (JobEvent) -> Void = { _ in }) {
        self.init(processor: PerFrameProcessor(upscaler), overwrite: overwrite, size: size, events: events)
    }

    /// File extensions read as frames.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The frame files of `folder` in natural order (frame2 before frame10).
    public static func frameFiles(in folder: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw JobError(.noInput, "\(folder): no such folder")
        }
        guard isDirectory.boolValue else { throw JobError(.noInput, "\(folder): not a folder") }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        return names.sorted { NaturalOrder.precedes($0, $1) }
    }

    /// Upscales every frame of `inputFolder` into `outputFolder` (created if missing). Every frame is read
    /// once before any is upscaled: an unreadable one fails the run before anything is written, or, with
    /// `allowDamaged`, is skipped and listed in the report (`skippedFrames`).
    public func runFolder(_ inputFolder: String, into outputFolder: String, allowDamaged: Bool = false) throws -> Report {
        var names = try FrameFolderJob.frameFiles(in: inputFolder)
        guard !names.isEmpty else { throw JobError(.dataError, "\(inputFolder): no PNG or JPEG frames") }
        var unreadable: [(name: String, error: JobError)] = []
        var firstCodec: String?
        for name in names {
            do {
                let decoded = try FrameFolderJob.readImage((inputFolder as NSString).appendingPathComponent(name))
                firstCodec = firstCodec ?? decoded.codecName
            } catch let error as JobError where error.kind == .dataError {
                unreadable.append((name, error))
            }
        }
        if let first = unreadable.first {
            guard allowDamaged else {
                throw JobError(.dataError, "\(first.error.message); \(unreadable.count) of \(names.count) frames unreadable, "
                                + "nothing written; pass --allow-damaged to skip them")
            }
            unreadable.forEach { events(.warning("\($0.error.message); skipped")) }
            names.removeAll { name in unreadable.contains { $0.name == name } }
            guard !names.isEmpty else { throw JobError(.dataError, "\(inputFolder): no frame could be read") }
        }
        let inputURL = URL(fileURLWithPath: inputFolder).standardizedFileURL
        let outputURL = URL(fileURLWithPath: outputFolder).standardizedFileURL
        if inputURL.path == outputURL.path || AtomicOutput.sameFile(inputURL.path, outputURL.path) {
            throw JobError(.usage, "\(outputFolder): output folder is the input folder; choose another")
        }
        let createdFolder = !FileManager.default.fileExists(atPath: outputURL.path)
        do {
            try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        } catch {
            throw JobError(.cannotCreate, "\(outputFolder): cannot create the folder: \(error.localizedDescription)")
        }
        let pairs = names.map { name -> (String, String) in
            let base = (name as NSString).deletingPathExtension
            return (inputURL.appendingPathComponent(name).path, outputURL.appendingPathComponent(base + ".png").path)
        }
        let targets = pairs.map(\.1)
        if Set(targets).count != targets.count {
            throw JobError(.usage, "\(inputFolder): two frames share a name apart from the extension (e.g. a.png and a.jpg)")
        }
        if !overwrite, let existing = targets.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw JobError(.cannotCreate, "\(existing): already exists; pass --overwrite to replace it")
        }
        // The frames' codec tells the processor whether they were lossily coded (a JPEG sequence), as a video's does.
        processor.prepare(for: SourceStream(codecName: firstCodec ?? "", pixelFormatName: "rgb24"))
        events(.started(input: inputFolder, output: outputFolder, expectedFrames: pairs.count))
        var report = Report(input: inputFolder, output: outputFolder, method: processor.name, scale: processor.scale, frames: 0,
                            secondsRead: 0, secondsUpscale: 0, secondsWrite: 0, wallSeconds: 0)
        let wall = Stopwatch()
        let summary: ProcessingSummary
        do {
            summary = try upscale(pairs, report: &report) { events(.progress(frames: $0, expectedFrames: pairs.count, elapsed: wall.seconds)) }
        } catch {
            // Frames written before the failure stay (each is whole); a folder this run made and left empty goes.
            if createdFolder, (try? FileManager.default.contentsOfDirectory(atPath: outputURL.path))?.isEmpty == true {
                try? FileManager.default.removeItem(at: outputURL)
            }
            throw error
        }
        // Named after the run: an adaptation may have chosen its starting Gr from the blur estimate.
        report.method = processor.name
        report.scenes = summary.scenes.isEmpty ? nil : summary.scenes
        report.skippedFrames = unreadable.isEmpty ? nil : unreadable.map(\.name)
        report.wallSeconds = wall.seconds
        return report
    }

    /// Makes a folder of results atomically: `make` fills a hidden sibling folder, which takes the final name
    /// only when `make` succeeds (replacing an existing folder only then); on failure it is removed.
    public static func replacingFolder(_ outputFolder: String, overwrite: Bool, make: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: outputFolder).standardizedFileURL
        let parent = url.deletingLastPathComponent().path, name = url.lastPathComponent
        StalePartials.removeDead(of: name, in: parent)
        let partial = (parent as NSString).appendingPathComponent(StalePartials.prefix(of: name) + StalePartials.owner)
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if exists && !overwrite { throw JobError(.cannotCreate, "\(outputFolder): already exists; pass --overwrite to replace it") }
        if exists && !isDirectory.boolValue { throw JobError(.cannotCreate, "\(outputFolder): exists and is not a folder") }
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try make(partial)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        let old = partial + "@old"
        if exists { guard rename(url.path, old) == 0 else { throw JobError(.cannotCreate, "\(outputFolder): cannot replace the folder") } }
        guard rename(partial, url.path) == 0 else { throw JobError(.cannotCreate, "\(outputFolder): cannot move the finished frames into place") }
        if exists { try? FileManager.default.removeItem(atPath: old) }
    }

    /// True for output names that ask for a JPEG (`.jpg`, `.jpeg`); every other picture is written as PNG.
    static func isJPEG(_ path: String) -> Bool { ["jpg", "jpeg"].contains((path as NSString).pathExtension.lowercased()) }

    /// Upscales one image file into a PNG or a JPEG (by the output's extension). `decoded`, where the caller already
    /// read the file (to describe it to the upscaler), is upscaled instead of a second read, so the description and
    /// the pixels come from one read.
    public func runImage(_ input: String, into output: String, decoded: DecodedImage? = nil) throws -> Report {
        guard (output as NSString).pathExtension.lowercased() == "png" || FrameFolderJob.isJPEG(output) else {
            throw JobError(.usage, "\(output): images are written as PNG or JPEG; name the output .png or .jpg")
        }
        if FrameFolderJob.isJPEG(output), decoded?.alpha != nil {
            throw JobError(.usage, "\(output): a JPEG holds no alpha plane, and \(input) has one; name the output .png")
        }
        var report = Report(input: input, output: output, method: processor.name, scale: processor.scale, frames: 0,
                            secondsRead: 0, secondsUpscale: 0, secondsWrite: 0, wallSeconds: 0)
        let wall = Stopwatch()
        _ = try upscale([(input, output)], report: &report, firstDecoded: decoded) { _ in }
        report.method = processor.name
        report.wallSeconds = wall.seconds
        return report
    }

    /// Decodes one picture, with the tool's error for anything FFmpeg cannot read (callers that build an
    /// expensive upscaler check their input with it first).
    public static func readImage(_ input: String) throws -> DecodedImage {
        try InputCheck.requireReadableFile(input)
        do {
            return try ImageFile.read(path: input)
        } catch {
            throw JobError(.dataError, "\(input): not an image FFmpeg can read (\((error as? MediaError)?.reason ?? "\(error)"))")
        }
    }

    /// Upscales each (input, output) pair in order through the processor: frame i goes in with pts i, and each
    /// frame that comes out (possibly later: a scheduler holds a look-ahead) is written to its own output.
    /// Returns what the processor reported at the end.
    private func upscale(_ pairs: [(String, String)], report: inout Report, firstDecoded: DecodedImage? = nil,
                         progress: (Int) -> Void) throws -> ProcessingSummary {
        var pending: [Int64: (target: AtomicOutput, source: PictureForm)] = [:]
        // Frames of a folder share a size: the resampler is built once per upscaled size.
        var resizes: [[Int]: FrameResize?] = [:]
        func write(_ frames: [TimedFrame], report: inout Report) throws {
            for frame in frames {
                guard let (target, source) = pending.removeValue(forKey: frame.pts) else { continue }
                do {
                    try Stopwatch.time(&report.secondsWrite) {
                        let key = [frame.image.width, frame.image.height]
                        if resizes[key] == nil {
                            resizes[key] = FrameResize(from: key[0], key[1], to: size.resolved(scaledWidth: key[0], scaledHeight: key[1]))
                        }
                        let image = resizes[key]!.map { $0(frame.image) } ?? frame.image
                        let alpha = source.alpha.map { AlphaPlane.upscaled($0, width: source.width, height: source.height, to: image) }
                        if alpha != nil {
                            report.alphaFrames = (report.alphaFrames ?? 0) + 1
                            report.alphaMethod = AlphaPlane.method
                        }
                        if FrameFolderJob.isJPEG(target.finalPath) {
                            guard alpha == nil else {
                                throw JobError(.usage, "\(target.finalPath): a JPEG holds no alpha plane; name the output .png")
                            }
                            try ImageFile.writeJPEG(image, to: target.temporaryPath)
                        } else {
                            try ImageFile.writePNG(image, alpha: alpha, to: target.temporaryPath, bitDepth: source.bitDepth, grey: source.grey)
                        }
                    }
                } catch {
                    throw JobError.wrap(error, kind: .cannotCreate, context: pairs[Int(frame.pts)].1)
                }
                try target.commit()
                report.frames += 1
                progress(report.frames)
            }
        }
        for (folder, outputs) in Dictionary(grouping: pairs.map(\.1), by: { ($0 as NSString).deletingLastPathComponent }) {
            StalePartials.removeDead(of: Set(outputs.map { ($0 as NSString).lastPathComponent }), in: folder)
        }
        for (index, (input, output)) in pairs.enumerated() {
            try InputCheck.requireReadableFile(input)
            let target = try AtomicOutput(finalPath: output, overwrite: overwrite, inputs: [input], sweptStale: true)
            let decoded = try Stopwatch.time(&report.secondsRead) { try (index == 0 ? firstDecoded : nil) ?? FrameFolderJob.readImage(input) }
            pending[Int64(index)] = (target, PictureForm(decoded))
            let ready: [TimedFrame]
            do {
                ready = try Stopwatch.time(&report.secondsUpscale) { try processor.submit(TimedFrame(image: decoded.image, pts: Int64(index))) }
            } catch let error as JobError {
                throw error.naming(input)
            }
            try write(ready, report: &report)
        }
        let (rest, summary) = try Stopwatch.time(&report.secondsUpscale) { try processor.finish() }
        try write(rest, report: &report)
        return summary
    }
}

/// Orders names as people count: digit runs compare by value, so frame2 < frame10.
public enum NaturalOrder {
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let left = chunks(a), right = chunks(b)
        for (x, y) in zip(left, right) where x != y {
            switch (x, y) {
            case (.number(let p, let ps), .number(let q, let qs)):
                if p != q { return p < q }
                return ps < qs
            case (.text(let p), .text(let q)): return p < q
            case (.number, .text): return true
            case (.text, .number): return false
            }
        }
        return left.count < right.count
    }

    enum Chunk: Equatable {
        case text(String)
        /// Value, and the digits as written (so that "01" and "1" still differ).
        case number(Double, String)
    }

    static func chunks(_ s: String) -> [Chunk] {
        var result: [Chunk] = []
        var current = ""
        var inDigits = false
        func flush() {
            guard !current.isEmpty else { return }
            result.append(inDigits ? .number(Double(current) ?? 0, current) : .text(current))
            current = ""
        }
        for character in s {
            let digit = character.isASCII && character.isNumber
            if digit != inDigits { flush(); inDigits = digit }
            current.append(character)
        }
        flush()
        return result
    }
}
