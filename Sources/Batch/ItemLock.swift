import Foundation
import Pipeline

/// A per-item lock file, created with O_EXCL so that exactly one worker wins it even on a shared filesystem.
/// It holds the owner's host and pid; the owner refreshes its modification time while it works (a heartbeat),
/// so a lock whose owner died is recognised as stale: at once on the same host (the pid is gone), and after
/// `staleAfter` seconds without a heartbeat elsewhere.
public final class ItemLock {
    public let path: String
    private let owner: String
    private var heartbeat: DispatchSourceTimer?
    private var released = false

    /// This process's owner line: host, pid, start time.
    static var ownerLine: String {
        "\(ProcessInfo.processInfo.hostName) \(getpid()) \(Int(Date().timeIntervalSince1970))"
    }

    private init(path: String, owner: String, heartbeatEvery: Double) {
        self.path = path
        self.owner = owner
        PartialFiles.shared.add(path)
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + heartbeatEvery, repeating: heartbeatEvery)
        timer.setEventHandler { [path] in _ = utimes(path, nil) }
        timer.resume()
        heartbeat = timer
    }

    deinit { release() }

    /// Takes the lock at `path`, or returns nil while a live owner holds it. A stale lock is taken over.
    public static func acquire(_ path: String, staleAfter: Double = 600) throws -> ItemLock? {
        for _ in 0..<3 {
            let owner = ownerLine
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if descriptor >= 0 {
                let line = owner + "\n"
                _ = line.withCString { write(descriptor, $0, strlen($0)) }
                fsync(descriptor)
                close(descriptor)
                return ItemLock(path: path, owner: owner, heartbeatEvery: max(1, staleAfter / 4))
            }
            guard errno == EEXIST else {
                throw JobError(.cannotCreate, "\(path): cannot create the lock: \(String(cString: strerror(errno)))")
            }
            guard let held = try? String(contentsOfFile: path, encoding: .utf8), isStale(path, owner: held, staleAfter: staleAfter) else {
                return nil
            }
            // Take the stale lock away by renaming it (atomic: one of several rescuers wins), then check that what
            // was moved is the stale lock judged above and not a fresh one that replaced it meanwhile.
            let moved = path + ".stale-\(getpid())"
            guard rename(path, moved) == 0 else { continue }
            if (try? String(contentsOfFile: moved, encoding: .utf8)) != held {
                _ = link(moved, path)
                unlink(moved)
                return nil
            }
            unlink(moved)
        }
        return nil
    }

    /// A lock is stale when its owner is a process of this host that no longer exists, or when its heartbeat
    /// stopped more than `staleAfter` seconds ago; an unreadable owner line counts as a stopped heartbeat.
    static func isStale(_ path: String, owner: String, staleAfter: Double) -> Bool {
        let parts = owner.split(separator: " ")
        if parts.count >= 2, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]) {
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > staleAfter
    }

    /// Gives the lock up (also on deinit).
    public func release() {
        guard !released else { return }
        released = true
        heartbeat?.cancel()
        // Only our own lock is removed: after a long stall another worker may have taken it over.
        if (try? String(contentsOfFile: path, encoding: .utf8)) == owner + "\n" { unlink(path) }
        PartialFiles.shared.remove(path)
    }
}
