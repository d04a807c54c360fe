import Foundation
import Pipeline

/// A fast 64-bit content hash (FNV-1a over 64-bit words, then the tail bytes): it tells whether a file's
/// content changed, not a defence against tampering.
public enum ContentHash {
    /// The FNV-1a starting value.
    public static let offset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a of `bytes`, byte by byte.
    public static func fnv1a(_ bytes: [UInt8], seed: UInt64 = offset) -> UInt64 {
        var hash = seed
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return hash
    }

    /// Hashes a file's content in 1 MiB blocks; throws when it cannot be read.
    public static func file(_ path: String, seed: UInt64 = offset) throws -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw JobError(.noInput, "\(path): cannot be read")
        }
        defer { try? handle.close() }
        var hash = seed
        while true {
            let block = handle.readData(ofLength: 1 << 20)
            if block.isEmpty { break }
            block.withUnsafeBytes { raw in
                let words = raw.count / 8
                for i in 0..<words { hash = (hash ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* prime }
                for i in (words * 8)..<raw.count { hash = (hash ^ UInt64(raw[i])) &* prime }
            }
        }
        return hash
    }
}

/// What identifies an input: if any of these changed, the item is redone.
public struct ItemIdentity: Codable, Sendable, Equatable {
    public var size: Int64
    public var modified: Double
    public var hash: String

    /// The identity of a video file, or of a frame folder (its frame names and contents together).
    public static func of(_ item: BatchItem) throws -> ItemIdentity {
        let manager = FileManager.default
        func attributes(_ path: String) throws -> (Int64, Double) {
            guard let attributes = try? manager.attributesOfItem(atPath: path) else {
                throw JobError(.noInput, "\(path): no such file or folder")
            }
            return ((attributes[.size] as? NSNumber)?.int64Value ?? 0,
                    (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        }
        switch item.kind {
        case .video:
            let (size, modified) = try attributes(item.input)
            guard access(item.input, R_OK) == 0 else { throw JobError(.noInput, "\(item.input): not readable") }
            return ItemIdentity(size: size, modified: modified, hash: String(format: "%016llx", try ContentHash.file(item.input)))
        case .frames:
            var size: Int64 = 0, modified = 0.0, hash = ContentHash.offset
            for name in try FrameFolderJob.frameFiles(in: item.input) {
                let path = (item.input as NSString).appendingPathComponent(name)
                let (bytes, time) = try attributes(path)
                size += bytes
                modified = max(modified, time)
                hash = ContentHash.fnv1a(Array(name.utf8), seed: hash)
                hash = try ContentHash.file(path, seed: hash)
            }
            return ItemIdentity(size: size, modified: modified, hash: String(format: "%016llx", hash))
        }
    }
}

/// One line of the manifest.
public struct ManifestRecord: Codable, Sendable {
    public enum State: String, Codable, Sendable { case started, done, failed }
    public var item: String
    public var state: State
    public var input: String
    public var output: String
    public var identity: ItemIdentity?
    /// The settings the item was (or is being) made with; other settings mean the item is redone.
    public var settings: String
    public var error: String?
    public var seconds: Double?
    public var outputBytes: Int64?
    public var host: String
    public var pid: Int32
    public var time: Double

    public init(item: String, state: State, input: String, output: String, identity: ItemIdentity?, settings: String,
                error: String? = nil, seconds: Double? = nil, outputBytes: Int64? = nil, host: String, pid: Int32, time: Double) {
        self.item = item; self.state = state; self.input = input; self.output = output; self.identity = identity
        self.settings = settings; self.error = error; self.seconds = seconds; self.outputBytes = outputBytes
        self.host = host; self.pid = pid; self.time = time
    }
}

/// The batch's record of work, as JSON lines in `OUTPUT/.onsr-batch/`. Each worker appends to its own file
/// (one line per write, flushed), so concurrent workers on a shared filesystem never interleave lines; readers
/// merge every worker's file and take each item's latest record.
public final class BatchManifest {
    public let folder: String
    public let path: String
    private let handle: FileHandle

    /// Opens this worker's manifest file (`worker` names it, e.g. the shard) under `outputFolder`.
    public init(outputFolder: String, worker: String) throws {
        folder = (outputFolder as NSString).appendingPathComponent(".onsr-batch")
        path = (folder as NSString).appendingPathComponent("manifest-\(worker).jsonl")
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw JobError(.cannotCreate, "\(folder): cannot create the batch folder: \(error.localizedDescription)")
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw JobError(.cannotCreate, "\(path): cannot open the manifest: \(String(cString: strerror(errno)))") }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Every item's latest record, from all workers' files.
    public func latest() -> [String: ManifestRecord] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix("manifest-") && $0.hasSuffix(".jsonl") }
        var records: [String: ManifestRecord] = [:]
        let decoder = JSONDecoder()
        for name in names {
            guard let text = try? String(contentsOfFile: (folder as NSString).appendingPathComponent(name), encoding: .utf8) else { continue }
            // A line cut short by a kill is simply not a record.
            for line in text.split(separator: "\n") {
                guard let record = try? decoder.decode(ManifestRecord.self, from: Data(line.utf8)) else { continue }
                if let known = records[record.item], known.time > record.time { continue }
                records[record.item] = record
            }
        }
        return records
    }

    /// Appends one record and flushes it to disk.
    public func append(_ record: ManifestRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(record)
        line.append(0x0A)
        do {
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw JobError(.cannotCreate, "\(path): cannot write the manifest: \(error.localizedDescription)")
        }
    }
}
