import Decode
import Engine
import Foundation

/// Where onsr-video's photo sets live unless a flag names a folder: `$ONSR_VIDEO_DATA`, then `data/` beside
/// the checkout the executable was built in (`.build/<config>/onsr-video`), then `./data`, then
/// `~/.local/share/onsr-video`.
public enum DataLocation {
    /// The external HR photo set ONSR needs: `folder` when given, else the one scripts/setup-data built.
    public static func externalPhotos(_ folder: String?) throws -> PhotoSet {
        guard let folder = folder ?? DataLocation.folder("external") else {
            throw JobError(.noInput, "ONSR needs external HR photos: run scripts/setup-data or pass --external DIR")
        }
        return try PhotoSet(folder: folder)
    }

    public static func folder(_ name: String) -> String? {
        var candidates: [String] = []
        if let root = ProcessInfo.processInfo.environment["ONSR_VIDEO_DATA"] { candidates.append(root) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("../../../data").standardized.path)
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("../../data").standardized.path)
        candidates.append(FileManager.default.currentDirectoryPath + "/data")
        candidates.append(NSHomeDirectory() + "/.local/share/onsr-video")
        for root in candidates {
            let path = (root as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return path }
        }
        return nil
    }
}

/// A folder of photos loaded into memory as RGB images, in natural name order.
public struct PhotoSet {
    public let folder: String
    public let names: [String]
    public let images: [RGBImage]

    private init(folder: String, names: [String], images: [RGBImage]) {
        self.folder = folder
        self.names = names
        self.images = images
    }

    /// The set without the photos at positions 0, n, 2n, ... of the names in byte order (the ones
    /// `scripts/make-train-crops.py OUT SIDE n` crops): a trainer that leaves them out can be validated on crops of
    /// them, which it has never seen.
    public func leavingOut(every n: Int) -> PhotoSet {
        precondition(n >= 2, "leaving out every photo would leave nothing")
        let heldOut = Set(names.sorted().enumerated().filter { $0.offset % n == 0 }.map(\.element))
        let kept = names.indices.filter { !heldOut.contains(names[$0]) }
        return PhotoSet(folder: folder, names: kept.map { names[$0] }, images: kept.map { images[$0] })
    }

    public init(folder: String, limit: Int? = nil) throws {
        let names = try FrameFolderJob.frameFiles(in: folder)
        guard !names.isEmpty else { throw JobError(.noInput, "\(folder): no PNG or JPEG photos") }
        let chosen = limit.map { Array(names.prefix($0)) } ?? names
        self.folder = folder
        self.names = chosen
        images = try chosen.map { name in
            let path = (folder as NSString).appendingPathComponent(name)
            do { return try ImageFile.read(path: path).image } catch {
                throw JobError(.dataError, "\(path): not an image FFmpeg can read")
            }
        }
    }
}
