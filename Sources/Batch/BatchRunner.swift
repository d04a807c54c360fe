import Foundation
import Pipeline

/// What a batch run decided for each item, and the totals.
public struct BatchSummary: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var item: String
        /// "done", "failed", "skipped" (finished earlier with the same input and settings) or "busy" (another
        /// worker holds it).
        public var result: String
        public var error: String?
        public var seconds: Double?
    }
    public var entries: [Entry] = []
    public var done: Int { entries.filter { $0.result == "done" }.count }
    public var failed: Int { entries.filter { $0.result == "failed" }.count }
    public var skipped: Int { entries.filter { $0.result == "skipped" }.count }
    public var busy: Int { entries.filter { $0.result == "busy" }.count }

    /// One line for people.
    public var line: String {
        var text = "\(done) done, \(failed) failed, \(skipped) skipped"
        if busy > 0 { text += ", \(busy) left to other workers" }
        return text
    }
}

/// What a batch worker tells while it runs.
public enum BatchEvent: Sendable {
    case itemStarted(index: Int, of: Int, item: BatchItem)
    case itemFinished(index: Int, of: Int, item: BatchItem, entry: BatchSummary.Entry)
}

/// Runs a batch's items one after another: skips what is finished, locks what it works on, records every
/// result in the manifest and isolates failures, so that a rerun after any crash redoes exactly the unfinished
/// items and one bad file never stops the rest.
public final class BatchRunner {
    public let items: [BatchItem]
    public let outputFolder: String
    /// A description of the settings: items finished with other settings are redone.
    public let settings: String
    /// Replace outputs that this batch's manifest does not account for.
    public let overwrite: Bool
    public let staleLockSeconds: Double
    private let manifest: BatchManifest
    private let work: (BatchItem, _ overwrite: Bool) throws -> Void
    private let events: (BatchEvent) -> Void

    /// `work` makes one item's output (atomically: nothing under the final name until it is complete).
    public init(items: [BatchItem], outputFolder: String, settings: String, worker: String, overwrite: Bool = false,
                staleLockSeconds: Double = 600, work: @escaping (BatchItem, _ overwrite: Bool) throws -> Void,
                events: @escaping (BatchEvent) -> Void = { _ in }) throws {
        self.items = items
        self.outputFolder = outputFolder
        self.settings = settings
        self.overwrite = overwrite
        self.staleLockSeconds = staleLockSeconds
        self.work = work
        self.events = events
        manifest = try BatchManifest(outputFolder: outputFolder, worker: worker)
    }

    public func run() -> BatchSummary {
        var summary = BatchSummary()
        let locks = (manifest.folder as NSString).appendingPathComponent("locks")
        try? FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        for (index, item) in items.enumerated() {
            events(.itemStarted(index: index, of: items.count, item: item))
            let entry = process(item, locks: locks)
            summary.entries.append(entry)
            events(.itemFinished(index: index, of: items.count, item: item, entry: entry))
        }
        return summary
    }

    private func record(_ item: BatchItem, _ state: ManifestRecord.State, identity: ItemIdentity?, error: String? = nil,
                        seconds: Double? = nil, outputBytes: Int64? = nil) throws {
        try manifest.append(ManifestRecord(item: item.relativePath, state: state, input: item.input, output: item.output,
                                           identity: identity, settings: settings, error: error, seconds: seconds,
                                           outputBytes: outputBytes, host: ProcessInfo.processInfo.hostName, pid: getpid(),
                                           time: Date().timeIntervalSince1970))
    }

    private func isFinished(_ item: BatchItem, identity: ItemIdentity) -> Bool {
        guard let last = manifest.latest()[item.relativePath], last.state == .done, last.identity == identity,
              last.settings == settings, last.output == item.output else { return false }
        return FileManager.default.fileExists(atPath: item.output)
    }

    private func process(_ item: BatchItem, locks: String) -> BatchSummary.Entry {
        var entry = BatchSummary.Entry(item: item.relativePath, result: "failed")
        var identity: ItemIdentity?
        do {
            let id = try ItemIdentity.of(item)
            identity = id
            if isFinished(item, identity: id) { entry.result = "skipped"; return entry }
            let name = String(format: "%016llx.lock", ContentHash.fnv1a(Array(item.relativePath.utf8)))
            guard let lock = try ItemLock.acquire((locks as NSString).appendingPathComponent(name), staleAfter: staleLockSeconds) else {
                entry.result = "busy"
                return entry
            }
            defer { lock.release() }
            // Another worker may have finished it between the check and the lock.
            if isFinished(item, identity: id) { entry.result = "skipped"; return entry }
            let claimed = manifest.latest()[item.relativePath]?.output == item.output
            try prepareOutputFolder(for: item)
            try record(item, .started, identity: id)
            let watch = Stopwatch()
            try work(item, overwrite || claimed)
            entry.seconds = watch.seconds
            entry.result = "done"
            try record(item, .done, identity: id, seconds: entry.seconds, outputBytes: BatchRunner.size(of: item.output))
        } catch {
            entry.result = "failed"
            entry.error = (error as? JobError)?.message ?? "\(error)"
            try? record(item, .failed, identity: identity, error: entry.error)
        }
        return entry
    }

    /// Creates the item's folder and removes partial outputs that a killed worker left for this item (the lock
    /// is ours, so no live worker is writing them).
    private func prepareOutputFolder(for item: BatchItem) throws {
        let folder = (item.output as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw JobError(.cannotCreate, "\(folder): cannot create the folder: \(error.localizedDescription)")
        }
        let prefix = "." + (item.output as NSString).lastPathComponent + ".onsr-partial-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix) {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    static func size(of path: String) -> Int64? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue {
            return ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).reduce(Int64(0)) {
            $0 + (size(of: (path as NSString).appendingPathComponent($1)) ?? 0)
        }
    }
}
