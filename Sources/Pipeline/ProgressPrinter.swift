import Foundation

/// Shows job events on stderr: warnings always (unless quiet), a live progress line only on a terminal.
public final class ProgressPrinter: @unchecked Sendable {
    private let quiet: Bool
    private let live: Bool
    private var lastDraw = -1.0
    private var drewLine = false
    private let lock = NSLock()

    public init(quiet: Bool) {
        self.quiet = quiet
        live = !quiet && isatty(STDERR_FILENO) == 1
    }

    /// Handles one event.
    public func handle(_ event: JobEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .warning(let text):
            guard !quiet else { return }
            clearLine()
            write("onsr-video: warning: \(text)\n")
        case .started:
            break
        case .adaptation(let step, let total, let loss):
            guard live, step == total || step % 5 == 0 else { return }
            write("\r\u{1B}[K" + String(format: "adapting %d/%d  L_IB %.5f", step, total, loss))
            drewLine = true
        case .scene(let scene):
            guard live else { return }
            clearLine()
            var line = "scene \(scene.index + 1) from frame \(scene.firstFrame) (\(scene.start.rawValue))"
            if let a = scene.adaptation {
                line += String(format: ": %@, %d steps, L_IB %.5f -> %.5f", a.kind.rawValue, a.steps, a.internalLossBefore, a.internalLossAfter)
            }
            write(line + "\n")
        case .progress(let frames, let expected, let elapsed):
            guard live, elapsed - lastDraw >= 0.25 || frames == expected else { return }
            lastDraw = elapsed
            let fps = elapsed > 0 ? Double(frames) / elapsed : 0
            var line = "frame \(frames)"
            if let expected, expected > 0 {
                line += "/\(expected)"
                if fps > 0 && frames < expected { line += "  ETA \(ProgressPrinter.clock(Double(expected - frames) / fps))" }
            }
            line += String(format: "  %.2f fps  %@", fps, ProgressPrinter.clock(elapsed))
            write("\r\u{1B}[K" + line)
            drewLine = true
        }
    }

    /// Ends the progress line so that later output starts on a fresh line.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        clearLine()
    }

    private func clearLine() {
        if drewLine { write("\n"); drewLine = false }
    }

    private func write(_ text: String) { FileHandle.standardError.write(text.data(using: .utf8)!) }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", total / 3600, (total / 60) % 60, total % 60)
    }
}
