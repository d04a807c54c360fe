import ArgumentParser
import Foundation
import Pipeline

extension Benchmark.Degradation: ExpressibleByArgument {}

/// `onsr-video eval`: the blind-SR benchmark.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Benchmark methods on HR photos degraded with seeded random kernels (DIV2KRK-style).",
        discussion: "Y-PSNR and SSIM on BT.601 luma with a border of `scale` pixels shaved; prints a Markdown table.")

    @Option(help: "Folder of HR photos (default: the held-out eval set from scripts/setup-data).") var photos: String?
    @Option(help: "Magnification: 2 or 4.") var scale = 2
    @Option(help: "Degradation: blind, wide or bicubic.") var degradation = Benchmark.Degradation.blind
    @Option(help: "Seed of the kernels.") var seed: UInt64 = 1
    @Option(parsing: .upToNextOption, help: "Methods: bicubic, lanczos, pretrained (with --model), or MODEL names / paths.")
    var methods: [String] = ["bicubic", "pretrained"]
    @Option(help: "Gr model for `pretrained`.") var model: String?
    @Option(help: "Write the results as JSON here.") var json: String?

    func validate() throws {
        guard scale == 2 || scale == 4 else { throw ValidationError("--scale must be 2 or 4") }
    }

    func run() throws {
        try reportingFailures {
            guard let folder = photos ?? DataLocation.folder("eval") else {
                throw ToolError(.noInput, "no evaluation photos: run scripts/setup-data or pass --photos DIR")
            }
            let benchmark = Benchmark(photos: try PhotoSet(folder: folder), scale: scale, degradation: degradation, seed: seed)
            var rows: [Benchmark.Row] = []
            for method in methods {
                if let known = UpscaleMethod(rawValue: method) {
                    let label = known == .pretrained ? "pretrained (\(try ModelStore.resolve(model, scale: scale).name))" : method
                    rows.append(try benchmark.run(method: label) { _ in try known.makeUpscaler(scale: scale, model: model) })
                } else {
                    let info = try ModelStore.resolve(method, scale: scale)
                    rows.append(try benchmark.run(method: "pretrained (\(info.name))") { _ in try PretrainedUpscaler(model: info) })
                }
            }
            let title = "x\(scale), \(degradation.rawValue) degradation, \(benchmark.cases.count) photos from \(folder), seed \(seed)"
            print(Benchmark.markdown(rows, title: title))
            if let json { try JSONReport.write(rows, to: json) }
        }
    }
}
