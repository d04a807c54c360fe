import Foundation
import Pipeline

/// One unit of a batch: a video file or a folder of frames, with where its result goes.
public struct BatchItem: Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case video, frames }
    public let kind: Kind
    /// The input as found (a file or a folder).
    public let input: String
    /// The item's key: its path relative to the folder it was found in (mirrored under the output folder).
    public let relativePath: String
    /// The output file (video) or folder (frames).
    public let output: String

    public init(kind: Kind, input: String, relativePath: String, output: String) {
        self.kind = kind; self.input = input; self.relativePath = relativePath; self.output = output
    }
}

/// Finds the items of a batch and splits them into shards.
public enum BatchPlan {
    /// File extensions taken as videos when searching folders (files named directly are always tried).
    public static let videoExtensions: Set<String> = [
        "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "mts", "m2ts", "flv", "wmv", "ogv", "3gp", "nut", "y4m", "dv",
    ]

    /// The items of `inputs` (files, or folders searched recursively for videos and frame folders), in a fixed
    /// order; `container` replaces the output extension of videos when set.
    public static func items(inputs: [String], outputFolder: String, container: String? = nil) throws -> [BatchItem] {
        let manager = FileManager.default
        let outputRoot = URL(fileURLWithPath: outputFolder).standardizedFileURL.path
        var items: [BatchItem] = []
        func add(_ kind: BatchItem.Kind, _ input: String, _ relative: String) {
            var target = relative
            if kind == .video, let container {
                target = (relative as NSString).deletingPathExtension + "." + container
            }
            items.append(BatchItem(kind: kind, input: input, relativePath: relative,
                                   output: (outputRoot as NSString).appendingPathComponent(target)))
        }
        for input in inputs {
            var isDirectory: ObjCBool = false
            let path = URL(fileURLWithPath: input).standardizedFileURL.path
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                // Missing and unreadable files become items that fail on their own, so the rest still runs.
                add(.video, path, (path as NSString).lastPathComponent)
                continue
            }
            if isFrameFolder(path) { add(.frames, path, (path as NSString).lastPathComponent) }
            for relative in try search(path, skipping: outputRoot) {
                let full = (path as NSString).appendingPathComponent(relative)
                _ = manager.fileExists(atPath: full, isDirectory: &isDirectory)
                add(isDirectory.boolValue ? .frames : .video, full, relative)
            }
        }
        var seen: [String: String] = [:]
        for item in items {
            if let other = seen[item.output] {
                throw JobError(.usage, "\(other) and \(item.input) would both be written to \(item.output)")
            }
            seen[item.output] = item.input
        }
        return items
    }

    /// Videos and frame folders below `root`, as paths relative to it, in natural order.
    static func search(_ root: String, skipping skipped: String) throws -> [String] {
        var found: [String] = []
        func visit(_ relative: String) throws {
            let folder = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: folder)
            } catch {
                throw JobError(.noInput, "\(folder): cannot list the folder: \(error.localizedDescription)")
            }
            for name in names.sorted(by: NaturalOrder.precedes) where !name.hasPrefix(".") {
                let child = relative.isEmpty ? name : (relative as NSString).appendingPathComponent(name)
                let full = (root as NSString).appendingPathComponent(child)
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    if URL(fileURLWithPath: full).standardizedFileURL.path == skipped { continue }
                    if isFrameFolder(full) { found.append(child) }
                    try visit(child)
                } else if videoExtensions.contains((name as NSString).pathExtension.lowercased()) {
                    found.append(child)
                }
            }
        }
        try visit("")
        return found
    }

    /// A folder with at least one PNG or JPEG directly inside is a frame folder.
    static func isFrameFolder(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).contains {
            !$0.hasPrefix(".") && FrameFolderJob.imageExtensions.contains(($0 as NSString).pathExtension.lowercased())
        }
    }

    /// The items of shard `index` of `count`: chosen by a hash of the relative path, so every worker computes
    /// the same split from the same inputs whatever the listing order, and new files do not move old ones.
    public static func shard(_ items: [BatchItem], index: Int, count: Int) -> [BatchItem] {
        precondition(count >= 1 && index >= 0 && index < count, "shard \(index)/\(count) is out of range")
        return items.filter { Int(ContentHash.fnv1a(Array($0.relativePath.utf8)) % UInt64(count)) == index }
    }
}
