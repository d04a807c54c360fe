import Decode
import Foundation

/// Where a job's output is written until it is complete: one file (`AtomicOutput`), or a numbered picture sequence
/// or a playlist with its segments (`AtomicSequence`).
public protocol PendingOutput: AnyObject {
    /// The name the muxer writes to meanwhile.
    var temporaryPath: String { get }
    /// Moves the finished output into place.
    func commit() throws
}

extension AtomicOutput: PendingOutput {}

/// A numbered picture sequence (`frames/f_%04d.png`), or an HLS / DASH playlist with its segments, written into a
/// hidden folder beside its destination and moved into place, file by file, only when the run is complete: no file of
/// a run that fails or is interrupted ever carries a final name. The folder is named like any partial output
/// (`.NAME.onsr-partial-PID@HOST@N`, with `#` for the pattern's `%`), so a later run to the same destination removes
/// what a killed one left. A playlist names its segments relative to itself (`out0.ts` beside `out.m3u8`), so the
/// move keeps it playable; it moves last, so that a player never finds it before its segments.
public final class AtomicSequence: PendingOutput {
    /// The destination pattern.
    public let finalPattern: String
    /// The hidden folder the pictures are written into.
    public let temporaryFolder: String
    /// The pattern inside that folder.
    public let temporaryPath: String
    private let overwrite: Bool
    /// The playlist or manifest, moved after everything else (nil: a picture sequence, in number order).
    private let movedLast: String?
    private var settled = false

    /// Checks the destination folder and whether the sequence's first picture exists (it needs `overwrite`), then
    /// makes the hidden folder. `inputs` are never replaced. `playlist`: the name is a playlist or manifest whose
    /// muxer writes its segments beside it, and it is moved after them.
    public init(finalPattern: String, overwrite: Bool, inputs: [String], playlist: Bool = false) throws {
        let url = URL(fileURLWithPath: finalPattern)
        let folder = try AtomicOutput.existingFolder(of: finalPattern)
        if let first = PictureSequence.file(finalPattern, number: 1) {
            for input in inputs where AtomicOutput.sameFile(input, first) {
                throw JobError(.usage, "\(first): output would overwrite the input")
            }
            if !overwrite && FileManager.default.fileExists(atPath: first) {
                throw JobError(.cannotCreate, "\(first): already exists; pass --overwrite to replace the sequence")
            }
        }
        try AtomicOutput.requireWritable(folder, for: finalPattern)
        let name = url.lastPathComponent
        // The muxer reads a frame-number pattern anywhere in the path: the folder's name must hold none.
        let folderName = name.replacingOccurrences(of: "%", with: "#")
        StalePartials.removeDead(of: folderName, in: folder)
        let hidden = StalePartials.prefix(of: folderName) + "\(StalePartials.owner)@\(AtomicSequence.counter.next())"
        temporaryFolder = URL(fileURLWithPath: folder).appendingPathComponent(hidden).path
        do {
            try FileManager.default.createDirectory(atPath: temporaryFolder, withIntermediateDirectories: false)
        } catch {
            throw JobError(.cannotCreate, "\(finalPattern): cannot create \(temporaryFolder): \(error.localizedDescription)")
        }
        PartialFiles.shared.add(temporaryFolder)
        temporaryPath = URL(fileURLWithPath: temporaryFolder).appendingPathComponent(name).path
        self.finalPattern = url.path
        self.overwrite = overwrite
        movedLast = playlist ? name : nil
    }

    deinit { if !settled { discard() } }

    /// Moves every file into the destination folder (pictures in number order, a playlist last), then removes the
    /// hidden folder. Without `overwrite`, a name that is taken stops the move before any file moves.
    public func commit() throws {
        precondition(!settled, "output already committed or discarded")
        let folder = URL(fileURLWithPath: finalPattern).deletingLastPathComponent()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: temporaryFolder)) ?? []).sorted {
            ($0 == movedLast ? 1 : 0, $0) < ($1 == movedLast ? 1 : 0, $1)
        }
        if !overwrite, let taken = names.first(where: { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }) {
            discard()
            throw JobError(.cannotCreate, "\(folder.appendingPathComponent(taken).path): already exists; pass --overwrite to replace it")
        }
        for name in names {
            let target = folder.appendingPathComponent(name).path
            guard rename((temporaryFolder as NSString).appendingPathComponent(name), target) == 0 else {
                let reason = String(cString: strerror(errno))
                discard()
                throw JobError(.cannotCreate, "\(target): cannot move the finished file into place: \(reason)")
            }
        }
        discard()
    }

    /// Deletes the hidden folder and what it holds.
    public func discard() {
        try? FileManager.default.removeItem(atPath: temporaryFolder)
        settled = true
        PartialFiles.shared.remove(temporaryFolder)
    }

    private static let counter = Counter()
}
