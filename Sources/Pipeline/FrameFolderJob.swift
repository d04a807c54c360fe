import Foundation
import Decode
import Engine

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
    }

    public let upscaler: FrameUpscaler
    public let overwrite: Bool
    private let events: (JobEvent) -> Void

    public init(upscaler: FrameUpscaler, overwrite: Bool, events: @escaping (JobEvent) -> Void = { _ in }) {
        self.upscaler = upscaler
        self.overwrite = overwrite
        self.events = events
    }

    /// File extensions read as frames.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The frame files of `folder` in natural order (frame2 before frame10).
    public static func frameFiles(in folder: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw ToolError(.noInput, "\(folder): no such folder")
        }
        guard isDirectory.boolValue else { throw ToolError(.noInput, "\(folder): not a folder") }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        return names.sorted { NaturalOrder.precedes($0, $1) }
    }

    /// Upscales every frame of `inputFolder` into `outputFolder` (created if missing).
    public func runFolder(_ inputFolder: String, into outputFolder: String) throws -> Report {
        let names = try FrameFolderJob.frameFiles(in: inputFolder)
        guard !names.isEmpty else { throw ToolError(.dataError, "\(inputFolder): no PNG or JPEG frames") }
        let inputURL = URL(fileURLWithPath: inputFolder).standardizedFileURL
        let outputURL = URL(fileURLWithPath: outputFolder).standardizedFileURL
        if inputURL.path == outputURL.path || AtomicOutput.sameFile(inputURL.path, outputURL.path) {
            throw ToolError(.usage, "\(outputFolder): output folder is the input folder; choose another")
        }
        do {
            try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        } catch {
            throw ToolError(.cannotCreate, "\(outputFolder): cannot create the folder: \(error.localizedDescription)")
        }
        let pairs = names.map { name -> (String, String) in
            let base = (name as NSString).deletingPathExtension
            return (inputURL.appendingPathComponent(name).path, outputURL.appendingPathComponent(base + ".png").path)
        }
        let targets = pairs.map(\.1)
        if Set(targets).count != targets.count {
            throw ToolError(.usage, "\(inputFolder): two frames share a name apart from the extension (e.g. a.png and a.jpg)")
        }
        if !overwrite, let existing = targets.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw ToolError(.cannotCreate, "\(existing): already exists; pass --overwrite to replace it")
        }
        events(.started(input: inputFolder, output: outputFolder, expectedFrames: pairs.count))
        var report = Report(input: inputFolder, output: outputFolder, method: upscaler.name, scale: upscaler.scale, frames: 0,
                            secondsRead: 0, secondsUpscale: 0, secondsWrite: 0, wallSeconds: 0)
        let wall = Stopwatch()
        for (input, output) in pairs {
            try upscaleOne(input, to: output, report: &report)
            events(.progress(frames: report.frames, expectedFrames: pairs.count, elapsed: wall.seconds))
        }
        report.wallSeconds = wall.seconds
        return report
    }

    /// Makes a folder of results atomically: `make` fills a hidden sibling folder, which takes the final name
    /// only when `make` succeeds (replacing an existing folder only then); on failure it is removed.
    public static func replacingFolder(_ outputFolder: String, overwrite: Bool, make: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: outputFolder).standardizedFileURL
        let parent = url.deletingLastPathComponent().path, name = url.lastPathComponent
        let partial = (parent as NSString).appendingPathComponent(".\(name).onsr-partial-\(getpid())")
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if exists && !overwrite { throw ToolError(.cannotCreate, "\(outputFolder): already exists; pass --overwrite to replace it") }
        if exists && !isDirectory.boolValue { throw ToolError(.cannotCreate, "\(outputFolder): exists and is not a folder") }
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try make(partial)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        let old = partial + "-old"
        if exists { guard rename(url.path, old) == 0 else { throw ToolError(.cannotCreate, "\(outputFolder): cannot replace the folder") } }
        guard rename(partial, url.path) == 0 else { throw ToolError(.cannotCreate, "\(outputFolder): cannot move the finished frames into place") }
        if exists { try? FileManager.default.removeItem(atPath: old) }
    }

    /// Upscales one image file into a PNG.
    public func runImage(_ input: String, into output: String) throws -> Report {
        guard (output as NSString).pathExtension.lowercased() == "png" else {
            throw ToolError(.usage, "\(output): images are written as PNG; name the output .png")
        }
        var report = Report(input: input, output: output, method: upscaler.name, scale: upscaler.scale, frames: 0,
                            secondsRead: 0, secondsUpscale: 0, secondsWrite: 0, wallSeconds: 0)
        let wall = Stopwatch()
        try upscaleOne(input, to: output, report: &report)
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
            throw ToolError(.dataError, "\(input): not an image FFmpeg can read (\((error as? MediaError)?.reason ?? "\(error)"))")
        }
    }

    private func upscaleOne(_ input: String, to output: String, report: inout Report) throws {
        try InputCheck.requireReadableFile(input)
        let target = try AtomicOutput(finalPath: output, overwrite: overwrite, inputs: [input])
        let decoded = try Stopwatch.time(&report.secondsRead) { try FrameFolderJob.readImage(input) }
        let large = try Stopwatch.time(&report.secondsUpscale) { try upscaler.upscale(decoded.image) }
        do {
            try Stopwatch.time(&report.secondsWrite) {
                try ImageFile.writePNG(large, to: target.temporaryPath, bitDepth: decoded.bitDepth)
            }
        } catch {
            throw ToolError.wrap(error, kind: .cannotCreate, context: output)
        }
        try target.commit()
        report.frames += 1
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
