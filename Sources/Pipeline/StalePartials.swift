import Foundation

/// Partial outputs are named after the process and host writing them (`.NAME.onsr-partial-PID@HOST@N.ext`;
/// a frame folder's `.NAME.onsr-partial-PID@HOST`; `@` cannot occur in a host name), so that a later run writing the same destination can tell
/// the leftovers of a process that died without cleaning up (SIGKILL, a crash, power loss) from the work of one
/// still running: on this host, a process that no longer exists left it. Other hosts' partials (a shared
/// folder under a cluster) are never touched: their processes cannot be checked from here.
public enum StalePartials {
    /// This host's name as partial names carry it.
    public static let host: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer)
        return name.isEmpty ? "localhost" : name
    }()

    /// The owner part of this process's partial names: pid and host.
    static var owner: String { "\(getpid())@\(host)" }

    /// The prefix every partial of `name` starts with.
    static func prefix(of name: String) -> String { ".\(name)\(marker)" }

    /// What every partial name holds.
    static let marker = ".onsr-partial-"

    /// Removes the partials of `name` in `folder` that processes of this host which have ended left behind.
    /// Returns the names removed.
    @discardableResult
    public static func removeDead(of name: String, in folder: String) -> [String] { removeDead(of: [name], in: folder) }

    /// The same for several destinations of one folder, in one listing of it (a frame folder's outputs).
    @discardableResult
    public static func removeDead(of names: Set<String>, in folder: String) -> [String] {
        var removed: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where entry.hasPrefix(".") {
            guard let range = entry.range(of: marker), names.contains(String(entry[entry.index(after: entry.startIndex)..<range.lowerBound])),
                  deadOwner(of: String(entry[range.upperBound...])) != nil else { continue }
            let path = (folder as NSString).appendingPathComponent(entry)
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(entry) }
        }
        return removed
    }

    /// The pid in `rest` (what follows the prefix: `PID@HOST@N.ext`, `PID@HOST` or `PID@HOST@old`) when its
    /// host is this one and that process no longer exists; nil otherwise.
    static func deadOwner(of rest: String) -> Int32? {
        let parts = rest.split(separator: "@", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[1] == host, let pid = Int32(parts[0]), pid > 0 else { return nil }
        let alive = kill(pid, 0) == 0 || errno == EPERM
        return alive ? nil : pid
    }
}
