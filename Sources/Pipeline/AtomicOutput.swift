import Foundation

/// Paths of partial outputs (files, a picture sequence's folder, batch lock files) that must vanish if the process
/// is interrupted.
public final class PartialFiles: @unchecked Sendable {
    public static let shared = PartialFiles()
    private let lock = NSLock()
    private var paths: Set<String> = []

    public func add(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    public func remove(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }

    /// Deletes every registered partial file or folder (called on SIGINT / SIGTERM before exiting).
    public func deleteAll() {
        lock.lock(); let doomed = paths; paths.removeAll(); lock.unlock()
        for path in doomed where unlink(path) != 0 { PartialFiles.removeFolder(path) }
    }

    /// A picture sequence's folder is still being written while the handler runs: a picture created between the
    /// listing and the rmdir kept the folder alive. Renamed first, the folder takes no new picture by its old path;
    /// the removal is repeated for one that was being created at that moment.
    static func removeFolder(_ path: String) {
        let doomed = path + ".removing"
        let target = rename(path, doomed) == 0 ? doomed : path
        for _ in 0..<50 where FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: target)
            if FileManager.default.fileExists(atPath: target) { usleep(2_000) }
        }
    }
}

/// An output file written under a temporary name in its destination folder and renamed into place only
/// when complete, so that no half-written file ever carries the final name.
public final class AtomicOutput {
    /// Where the finished file goes.
    public let finalPath: String
    /// Where it is written meanwhile: a hidden sibling with the same extension (the container is
    /// chosen from the extension).
    public let temporaryPath: String
    private var settled = false

    /// Checks the destination and reserves a temporary name, removing what dead processes of this host left
    /// under such names for the same destination (`StalePartials`). `inputs` are never replaced.
    /// `sweptStale`: the caller has already removed stale partials for this destination (a frame folder does it
    /// once for all its frames instead of listing the folder per frame).
    public init(finalPath: String, overwrite: Bool, inputs: [String], sweptStale: Bool = false) throws {
        let url = URL(fileURLWithPath: finalPath)
        let folder = try AtomicOutput.checkDestination(finalPath, overwrite: overwrite, inputs: inputs)
        let name = url.lastPathComponent
        let ext = url.pathExtension
        if !sweptStale { StalePartials.removeDead(of: name, in: folder) }
        let unique = "\(StalePartials.owner)@\(AtomicOutput.counter.next())"
        let hidden = StalePartials.prefix(of: name) + unique + (ext.isEmpty ? "" : ".\(ext)")
        self.finalPath = finalPath
        temporaryPath = URL(fileURLWithPath: folder).appendingPathComponent(hidden).path
        PartialFiles.shared.add(temporaryPath)
    }

    deinit { if !settled { discard() } }

    /// Moves the finished file into place.
    public func commit() throws {
        precondition(!settled, "output already committed or discarded")
        guard rename(temporaryPath, finalPath) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw JobError(.cannotCreate, "\(finalPath): cannot rename the finished file into place: \(reason)")
        }
        settled = true
        PartialFiles.shared.remove(temporaryPath)
    }

    /// Deletes the partial file.
    public func discard() {
        unlink(temporaryPath)
        settled = true
        PartialFiles.shared.remove(temporaryPath)
    }

    /// The folder `path` goes into, which must exist.
    /// Checks that `finalPath` may be written: its folder exists and is writable, it is no folder and no input, and it
    /// exists only where `overwrite` allows; returns the folder.
    static func checkDestination(_ finalPath: String, overwrite: Bool, inputs: [String]) throws -> String {
        let folder = try existingFolder(of: finalPath)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: finalPath, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw JobError(.cannotCreate, "\(finalPath): is a directory") }
            for input in inputs where sameFile(input, finalPath) {
                throw JobError(.usage, "\(finalPath): output would overwrite the input")
            }
            if !overwrite { throw JobError(.cannotCreate, "\(finalPath): already exists; pass --overwrite to replace it") }
        }
        try requireWritable(folder, for: finalPath)
        return folder
    }

    static func existingFolder(of path: String) throws -> String {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw JobError(.cannotCreate, "\(path): folder \(folder) does not exist")
        }
        return folder
    }

    /// Fails unless `folder`, where `path` and its partial output go, is writable.
    static func requireWritable(_ folder: String, for path: String) throws {
        guard access(folder, W_OK) == 0 else { throw JobError(.cannotCreate, "\(path): folder \(folder) is not writable") }
    }

    /// True when both paths name the same existing file (device and inode).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    private static let counter = Counter()
}

/// A thread-safe increasing counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
