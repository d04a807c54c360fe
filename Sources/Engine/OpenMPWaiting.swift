import Foundation

/// How long oneDNN's OpenMP threads spin before they sleep when they run out of work.
///
/// libgomp lets an idle thread spin for 300,000 iterations (its default) before it sleeps, so that the next primitive
/// finds it awake. That is right on a machine the process has to itself and very wrong on a shared one: ONSR's
/// adaptation runs thousands of small primitives, and while its threads spin the cores another process needs (or its
/// own other thread) wait. libgomp reads the setting from the environment once, when it loads, before `main`, so the
/// only way to change it is to start again with the variable set: `startWithShortSpinning` does that once, at the
/// start of the command, unless the user has chosen a policy of their own (`OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`) or
/// the command runs better with the long spin (live ONSR, whose background adaptation shares the process with the
/// upscaling thread: the command line's `KeepsLongSpinning`).
///
/// The numbers behind `spinCount` are in the README ("Performance", "Idle threads").
public enum OpenMPWaiting {
    /// The spin count `startWithShortSpinning` sets.
    public static let spinCount = 1_000

    /// Whether this process's environment leaves libgomp's wait policy at its default.
    public static var isDefault: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMP_WAIT_POLICY"] == nil && environment["GOMP_SPINCOUNT"] == nil
    }

    /// The wait policy in force, as the environment states it ("libgomp default" where it states none).
    public static var setting: String {
        let environment = ProcessInfo.processInfo.environment
        let stated = ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"].compactMap { name in environment[name].map { "\(name)=\($0)" } }
        return stated.isEmpty ? "libgomp default" : stated.joined(separator: " ")
    }

    /// Replaces the process with itself, same arguments, with `GOMP_SPINCOUNT` set to `spinCount`, where the wait
    /// policy is libgomp's default; returns (doing nothing) where the user set one, or where the program cannot be
    /// started again (no /proc), which leaves libgomp's default in place.
    public static func startWithShortSpinning() {
        guard isDefault, FileManager.default.isExecutableFile(atPath: "/proc/self/exe") else { return }
        setenv("GOMP_SPINCOUNT", String(spinCount), 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached where exec failed: go on as started, with the variable left for any child to inherit.
    }
}
