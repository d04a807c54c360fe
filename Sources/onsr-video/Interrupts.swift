import Foundation
import Pipeline

/// Turns SIGINT, SIGTERM and SIGHUP into a clean exit: partial outputs (registered by the library in
/// `PartialFiles`) are deleted and the tool exits with the interrupted status, 130. The command line owns this
/// policy; the library only keeps the list of what would be half-written.
enum Interrupts {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the handlers once, at program start.
    static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                PartialFiles.shared.deleteAll()
                let message = "onsr-video: interrupted; partial output removed\n"
                FileHandle.standardError.write(message.data(using: .utf8)!)
                _exit(ExitStatus.code(for: .interrupted))
            }
            source.resume()
            sources.append(source)
        }
    }
}
