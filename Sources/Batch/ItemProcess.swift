import Foundation
import Pipeline
#if canImport(Glibc)
import CMalloc
#endif

/// Runs one batch item in a child `onsr-video` process. A crash, a leak or a stuck decoder in one damaged
/// file then stays in that file's process, and every item starts from the same fresh state, so its output is
/// the same whether it ran first in a batch, third, or alone.
public enum ItemProcess {
    /// Set in a child's environment to the parent's pid: the child then dies (cleanly, removing its partial
    /// output) when the parent does, even by SIGKILL, instead of finishing an item nobody will record.
    static let parentVariable = "ONSR_VIDEO_BATCH_PARENT"

    /// Called first thing in `main`: arranges SIGTERM on the parent's death when started by a batch; exits with
    /// `exitStatus` at once if the parent is already gone.
    public static func dieWithParentIfAsked(exitStatus: Int32) {
        #if canImport(Glibc)
        guard let value = ProcessInfo.processInfo.environment[parentVariable], let parent = Int32(value) else { return }
        _ = onsr_set_parent_death_signal(SIGTERM)
        // The parent may have died before the signal was armed.
        if getppid() != parent { _exit(exitStatus) }
        #endif
    }

    /// Runs `onsr-video` with `arguments`; throws a JobError carrying the child's own one-line error, of the
    /// kind `kindOf` reads from its exit status (the command line's policy).
    public static func run(kindOf: (Int32) -> JobError.Kind, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[parentVariable] = String(getpid())
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw JobError(.other, "cannot start \(executable): \(error.localizedDescription)")
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let status = process.terminationStatus
        guard process.terminationReason == .exit else {
            throw JobError(.other, "onsr-video crashed on this item (signal \(status))")
        }
        guard status == 0 else {
            let line = text.split(separator: "\n").last { $0.contains("error:") }
                .map { String($0.split(separator: ":", maxSplits: 2).last ?? $0).trimmingCharacters(in: .whitespaces) }
            throw JobError(kindOf(status), line ?? "onsr-video exited with status \(status)")
        }
    }

    /// This program's own executable.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
