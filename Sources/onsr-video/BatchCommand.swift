import ArgumentParser
import Batch
import Foundation
import Pipeline

/// `onsr-video batch INPUT... --out DIR`: restore an archive, resumably, with failures isolated.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Upscale many videos and frame folders into a mirrored output folder, resumably.",
        discussion: """
        Folders are searched recursively for videos (by extension) and frame folders (folders holding PNG or JPEG \
        frames). A manifest in OUT/.onsr-batch records every item's input identity (size, time, content hash), \
        settings and result: a rerun skips finished items and redoes the rest, including inputs whose content \
        changed. A failing item is recorded and the batch goes on. With --shard I/N several workers (for example a \
        Slurm array or a Kubernetes Indexed Job) split the items; per-item lock files keep two workers off one item. \
        Exit status: 0 when every item is done or skipped, 65 when any item failed.
        """)

    @Argument(help: "Videos, frame folders, or folders to search.") var inputs: [String] = []
    @Option(help: "Output folder (created if missing); the input folder structure is mirrored under it.") var out: String
    @Option(help: "A file listing inputs, one path per line (# starts a comment).") var list: String?
    @Option(help: "Work on shard I of N (0-based), e.g. 2/8: a deterministic subset of the items.") var shard: String?
    @Option(help: "Output container extension for videos (default: the input's own).") var container: String?
    @Option(help: "Seconds without a heartbeat after which another host's lock is taken over.") var staleLockSeconds: Double = 600
    @Option(help: "Interlaced videos: auto (deinterlace with bwdif before upscaling) or off.") var deinterlace = DeinterlaceMode.auto
    @OptionGroup var method: MethodOptions
    @OptionGroup var schedule: ScheduleFlags
    @OptionGroup var encoding: EncodingOptions
    @OptionGroup var size: SizeOptions
    @OptionGroup var common: RunOptions

    var parsedShard: (index: Int, count: Int) {
        guard let shard else { return (0, 1) }
        let parts = shard.split(separator: "/").map { Int($0) }
        return (parts[0]!, parts[1]!)
    }

    func validate() throws {
        guard !inputs.isEmpty || list != nil else { throw ValidationError("name inputs or pass --list FILE") }
        if let shard {
            let parts = shard.split(separator: "/").map { Int($0) }
            guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
                throw ValidationError("--shard takes I/N with 0 <= I < N, got \(shard)")
            }
        }
        guard staleLockSeconds > 0 else { throw ValidationError("--stale-lock-seconds must be positive") }
    }

    /// Everything that changes an output; an item finished with other settings is redone.
    var settingsDescription: String {
        var parts = ["method=\(method.method.rawValue)", "scale=\(method.scale)", "model=\(method.model ?? "default")",
                     "codec=\(encoding.settings.codec)", "crf=\(encoding.settings.crf.map { String($0) } ?? "default")",
                     "preset=\(encoding.preset ?? "default")", "pix-fmt=\(encoding.pixelFormat ?? "auto")",
                     "encoder-options=\(encoding.encoderOptions.joined(separator: ","))", "container=\(container ?? "same")"]
        // Named only when not the default, so that items finished before these options existed still count.
        if deinterlace != .auto { parts.append("deinterlace=\(deinterlace.rawValue)") }
        if !size.size.isNative { parts.append("size=\(size.width.map(String.init) ?? "auto")x\(size.height.map(String.init) ?? "auto")") }
        if method.method == .onsr && !schedule.codecAware { parts.append("codec-aware=off") }
        if method.method == .onsr {
            parts += ["steps=\(method.steps)", "adapt=\(schedule.adapt.rawValue)",
                      "warm-steps=\(schedule.warmSteps)", "scene-threshold=\(schedule.sceneThreshold)",
                      "max-scene-length=\(schedule.maxSceneLength)", "look-ahead=\(schedule.lookAhead)",
                      "external=\(method.external ?? "default")"]
        }
        return parts.joined(separator: " ")
    }

    func allInputs() throws -> [String] {
        guard let list else { return inputs }
        guard let text = try? String(contentsOfFile: list, encoding: .utf8) else {
            throw JobError(.noInput, "\(list): cannot read the input list")
        }
        let listed = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        return inputs + listed
    }

    func run() throws {
        common.applyLogging()
        var failed = false
        try reportingFailures {
            let (index, count) = parsedShard
            let all = try BatchPlan.items(inputs: try allInputs(), outputFolder: out, container: container)
            guard !all.isEmpty else { throw JobError(.noInput, "no videos or frame folders found in the inputs") }
            let items = BatchPlan.shard(all, index: index, count: count)
            // Each item runs in its own onsr-video process (see ItemProcess).
            let work: (BatchItem, Bool) throws -> Void = { item, overwrite in
                let shared = method.arguments + size.arguments + ["-q"] + (common.verbose ? ["--verbose"] : [])
                switch item.kind {
                case .video:
                    try ItemProcess.run(kindOf: ExitStatus.kind(of:), ["upscale", item.input, item.output] + shared + schedule.arguments + encoding.arguments
                                        + ["--deinterlace", deinterlace.rawValue]
                                        + (overwrite ? ["--overwrite"] : []))
                case .frames:
                    try FrameFolderJob.replacingFolder(item.output, overwrite: overwrite) { partial in
                        try ItemProcess.run(kindOf: ExitStatus.kind(of:), ["frames", item.input, partial] + shared + schedule.arguments)
                    }
                }
            }
            let worker = count == 1 ? "all" : "\(index)-of-\(count)"
            let runner = try BatchRunner(items: items, outputFolder: out, settings: settingsDescription, worker: worker,
                                         overwrite: common.overwrite, staleLockSeconds: staleLockSeconds, work: work) { event in
                guard case .itemFinished(let i, let n, let item, let entry) = event else { return }
                var line = "[\(i + 1)/\(n)] \(item.relativePath): \(entry.result)"
                if let seconds = entry.seconds { line += String(format: " in %.1f s", seconds) }
                if let error = entry.error { line += ": \(error)" }
                if entry.result == "failed" || !common.quiet {
                    FileHandle.standardError.write("onsr-video: \(line)\n".data(using: .utf8)!)
                }
            }
            let summary = runner.run()
            if !common.quiet || summary.failed > 0 {
                FileHandle.standardError.write("onsr-video: batch: \(summary.line)\n".data(using: .utf8)!)
            }
            try common.report.map { try JSONReport.write(summary, to: $0) }
            failed = summary.failed > 0
        }
        if failed { throw ExitCode(ExitStatus.code(for: .dataError)) }
    }
}
