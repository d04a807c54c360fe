import Foundation

/// The outcome of a finished command.
public struct CommandResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// Standard output as bytes (raw pictures and audio: decoding them as UTF-8 would merge different bytes).
    public var stdoutBytes: [UInt8] = []
}

/// Runs external programs (ffmpeg, ffprobe, the built onsr-video) from tests.
public enum Shell {
    /// Runs `arguments[0]` (looked up on PATH) with the rest as arguments and waits for it.
    @discardableResult
    public static func run(_ arguments: [String], in folder: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes while the process runs so that neither fills up and blocks it; the group's wait orders
        // the reader's write before the read below.
        let errData = ReadBuffer()
        let reader = DispatchGroup()
        DispatchQueue.global().async(group: reader) { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        reader.wait()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData.data, as: UTF8.self), stdoutBytes: [UInt8](outData))
    }

    /// Runs ffmpeg quietly and fails loudly if it fails (test fixtures must be made).
    public static func ffmpeg(_ arguments: [String], in folder: String) throws {
        let result = try run(["ffmpeg", "-nostdin", "-v", "error", "-y"] + arguments, in: folder)
        guard result.status == 0 else { throw FixtureError("ffmpeg \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
    }

    /// Runs ffprobe and returns its standard output.
    public static func ffprobe(_ arguments: [String], in folder: String) throws -> String {
        let result = try run(["ffprobe", "-v", "error"] + arguments, in: folder)
        guard result.status == 0 else { throw FixtureError("ffprobe \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout
    }

    /// Starts onsr-video with `arguments` in `folder` and returns at once (stderr discarded), for tests that
    /// interrupt or kill a run.
    public static func startOnsrVideo(_ arguments: [String], in folder: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProducts.onsrVideo)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A fixture that could not be made.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh folder under the system's temporary folder, removed by `remove()`.
public final class TemporaryFolder {
    public let path: String

    public init(_ label: String = "onsr-test") throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    /// `path` joined with `name`.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Names in the folder, hidden ones included, sorted.
    public func listing() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Where the package's built products are: beside the running test bundle.
public enum BuiltProducts {
    public static var folder: String {
        if let overridden = ProcessInfo.processInfo.environment["ONSR_PRODUCTS"] { return overridden }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    /// The onsr-video executable built with the tests.
    public static var onsrVideo: String { (folder as NSString).appendingPathComponent("onsr-video") }

    /// Media-layer tests judge decoding, encoding and streams, not the upscaling method: they run the fast
    /// bicubic method unless they name one (the default method has tests of its own).
    public static func withFastMethod(_ arguments: [String]) -> [String] {
        let methodless = ["models", "train", "eval", "batch"]
        guard let first = arguments.first, !methodless.contains(first), !arguments.contains("--method") else { return arguments }
        return arguments + ["--method", "bicubic"]
    }
}

/// What a background reader of a pipe collected; written once on the reader, read after its group's wait.
private final class ReadBuffer: @unchecked Sendable {
    var data = Data()
}
