import ArgumentParser
import Engine
import Foundation
import ONSR
import Pipeline
import Training

extension Benchmark.Degradation: ExpressibleByArgument {}

/// `eval --self-ensemble`: one set of symmetries for every learned method, or the ones each model's task keeps.
enum EnsembleStudy: String, ExpressibleByArgument, CaseIterable {
    case none
    case halfTurn = "half-turn"
    case dihedral
    case kept

    /// The set for every output, nil for `kept` (`Benchmark.selfEnsemble`).
    var fixed: SelfEnsemble? { SelfEnsemble(rawValue: rawValue) }
    /// The set for an unadapted model's output.
    var unadapted: SelfEnsemble { fixed ?? SelfEnsemble.kept(adaptedWith: nil) }
}

/// `eval --condition`: what a kernel-conditioned Gr (`train --condition-noise`) is told of each photo's blur.
enum ConditionSource: String, ExpressibleByArgument, CaseIterable {
    /// The blur estimator's reading (the shipped one or `--estimator`), as a product would know it.
    case estimate
    /// The true kernel: the ceiling of conditioning.
    case truth
}

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
    @Option(parsing: .upToNextOption, help: """
        Methods: estimator (the blur estimator's error against the true kernels), bicubic, lanczos, pretrained, onsr (the paper's separate optimisation) or onsr:VARIANT (two-phase, ib-ebsr, ibsr, joint, frozen-gd, oracle-gd), or model names / paths (pretrained with that model), or mix:MODEL:MODEL:W (the two models' outputs mixed, W of the second), or scan:MODEL (a study: a kernel-conditioned MODEL told scaled readings, each scored by the internal loss; --scan-offsets).
        """)
    var methods: [String] = ["bicubic", "pretrained", "onsr"]
    @Option(help: "Gr model for the learned methods.") var model: String?
    @Option(help: "External HR photos for ONSR (default: the set from scripts/setup-data).") var external: String?
    @Option(help: "ONSR adaptation steps per image.") var steps = 100
    @Option(parsing: .upToNextOption, help: "ONSR: score after each of these step counts (one adaptation per image), e.g. 0 25 50 100.")
    var checkpoints: [Int] = []
    @Option(help: "ONSR: learning rate of Gr.") var lrGr: Float = AdaptationOptions().learningRateGr
    @Option(help: "ONSR: learning rate of Gd (default for two-phase 3e-3 at x2, 1e-3 at x4; 1e-4 for the other variants).") var lrGd: Float?
    @Option(help: "ONSR: learning rate of Dl.") var lrDl: Float = AdaptationOptions().learningRateDl
    @Option(help: "ONSR: weight λ of the GAN term in Gd's loss.") var ganWeight: Float = AdaptationOptions().ganWeight
    @Option(help: "ONSR: steps in which only Gd learns before Gr is fine-tuned (two-phase default: a tenth of the steps with the learned kernel shape, else half the steps, at most 50).") var gdWarmup = 0
    @Option(help: "ONSR: how far the adapted Gr's weights count against the pretrained ones (1: fully adapted; default the product's: 0.75 with the learned kernel shape at x2, else 0.5; with --checkpoints both are scored).") var blend: Float?
    @Option(parsing: .upToNextOption, help: "ONSR: also score each checkpoint with Gr's weights blended back towards the pretrained ones by these weights (1: the adapted Gr).") var blends: [Float] = []
    @Option(help: "ONSR two-phase: shape of the kernel Gr is fine-tuned through: learned (the blur estimator's, the default), fitted (Gd as fitted) or spectral (Gd's size, the input spectrum's direction).") var kernelShape = StudyVariant.Settings().kernelShape
    @Option(help: "ONSR two-phase, spectral shape: raise Gd's fitted size where the spectrum's elongation needs more (true) or cut the elongation down (false) (default: true at x2, false at x4).") var elongationRaisesSize: Bool?
    @Option(help: "ONSR two-phase, learned shape: multiply the estimated kernel's covariance by this.") var learnedSize = StudyVariant.Settings().learnedSize
    @Option(help: "ONSR two-phase, learned shape: spread each Gr step's kernel size evenly over (learned-size - this) ... learned-size.") var learnedSpread = StudyVariant.Settings().learnedSpread
    @Option(help: "ONSR two-phase, spectral shape: multiply the shaped kernel's covariance by this.") var spectralSize = StudyVariant.Settings().spectralSize
    @Option(help: "ONSR two-phase, spectral shape: spread each Gr step's kernel size evenly over (spectral-size - this) ... spectral-size.") var spectralSpread = StudyVariant.Settings().spectralSpread
    @Option(help: "Blur estimator for the estimator method and for ONSR's learned kernel shape (default: the shipped one).") var estimator: String?
    @Option(help: "A study: a further blur estimator whose per-patch kernel readings are averaged with --estimator's (an ensemble; the no-blur call stays --estimator's; repeatable).") var estimatorCompanion: [String] = []
    @Option(help: "A study: a kernel corrector (onsr-video train-corrector) applied to every reading of the blur estimator.") var corrector: String?
    @Option(help: "A kernel-conditioned Gr's code: the blur estimator's reading (estimate) or the true kernel (truth).")
    var condition = ConditionSource.estimate
    @Option(help: "A study: add this to the log size a kernel-conditioned Gr is told (negative: a smaller blur than the reading).")
    var conditionLogSizeOffset: Float = 0
    @Option(help: "ONSR with --checkpoints, a study: mix this model's unadapted output, by --mix-share, into every scored output the product's start mixes nothing into (read as unblurred, coded, or past the strong-blur threshold; below the no-blur band the product already mixes fast-xS-cond in).")
    var mixWith: String?
    @Option(help: "With --mix-with: the mixed-in model's share of the output.") var mixShare: Float = 0.5
    @Option(help: "A study: tell a kernel-conditioned Gr the kernels in this file, in place of --condition (name -> [yy, yx, xx] in HR pixels², as --keep-outputs writes them).")
    var conditionFile: String?
    @Option(help: "A study: keep every scored output in this folder as raw Float32 (ONSR's adapted output before any mix), to score mixes afterwards.")
    var keepOutputs: String?
    // One comma-separated value, taken even where it starts with a minus sign, so that `--scan-offsets -0.2,0,0.2` reads as offsets.
    @Option(parsing: .unconditional, help: "A study, method scan:MODEL: the log-size offsets, comma-separated, the kernel-conditioned MODEL is told around the estimator's reading (ConsistencyScan).")
    var scanOffsets = "-0.4,-0.3,-0.2,-0.1,0,0.1,0.2,0.3,0.4"
    /// `--scan-offsets` as numbers; nil where any part is not a finite number.
    var scanOffsetValues: [Double]? {
        let values = scanOffsets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        return !values.isEmpty && values.allSatisfy({ $0?.isFinite == true }) ? values.compactMap { $0 } : nil
    }
    @Option(help: "Use only the first N photos (quick studies).") var limit: Int?
    @Option(parsing: .upToNextOption, help: "A study: score only the photos with these file names, each degraded as in the whole set (its kernel is seeded by its place in the folder).")
    var only: [String] = []
    @Option(help: "Inference precision of the learned methods: fp32 (default: the benchmark's reference), bf16 or auto.") var precision = Precision.fp32
    @Option(help: "Average the learned methods' outputs over symmetries of the input: none, half-turn, dihedral (all eight; sound for unadapted models only) or kept (the ones each model's task keeps, as `image` does).") var selfEnsemble = EnsembleStudy.none
    @Option(help: "Write the results as JSON here.") var json: String?

    func validate() throws {
        guard scale == 2 || scale == 4 else { throw ValidationError("--scale must be 2 or 4") }
        guard checkpoints.allSatisfy({ $0 >= 0 }), steps >= 0 else { throw ValidationError("step counts must not be negative") }
        guard limit.map({ $0 > 0 }) ?? true else { throw ValidationError("--limit must be positive") }
        guard blends.isEmpty || !checkpoints.isEmpty else { throw ValidationError("--blends needs --checkpoints") }
        guard mixWith == nil || !checkpoints.isEmpty else { throw ValidationError("--mix-with needs --checkpoints") }
        guard (0...1).contains(mixShare) else { throw ValidationError("--mix-share lies in [0, 1]") }
        guard scanOffsetValues?.contains(0) == true else {
            throw ValidationError("--scan-offsets takes comma-separated numbers, 0 among them (the reading itself), got \(scanOffsets)")
        }
    }

    func run() throws {
        try reportingFailures {
            guard let folder = photos ?? DataLocation.folder("eval") else {
                throw JobError(.noInput, "no evaluation photos: run scripts/setup-data or pass --photos DIR")
            }
            var benchmark = Benchmark(photos: try PhotoSet(folder: folder, limit: limit), scale: scale, degradation: degradation, seed: seed)
            if !only.isEmpty {
                let names = Set(benchmark.cases.map(\.name))
                if let missing = only.first(where: { !names.contains($0) }) {
                    throw JobError(.usage, "--only: no photo named \(missing) in \(folder)")
                }
                benchmark.keepOnly(named: only)
            }
            benchmark.precision = precision.resolved
            benchmark.selfEnsemble = selfEnsemble.fixed
            if let keepOutputs {
                try FileManager.default.createDirectory(atPath: keepOutputs, withIntermediateDirectories: true)
                benchmark.outputFolder = URL(fileURLWithPath: keepOutputs)
            }
            var rows: [Benchmark.Row] = []
            let externalSet = methods.contains { $0.hasPrefix("onsr") } ? try DataLocation.externalPhotos(external) : nil
            // Read once: every method that needs it uses the same estimator.
            var loadedEstimator: KernelEstimator??
            func blurEstimator() throws -> KernelEstimator? {
                if let loadedEstimator { return loadedEstimator }
                let network = try estimator.map { try ModelStore.loadEstimator(path: $0, scale: scale) } ?? ModelStore.shippedEstimator(scale: scale)
                let companions = try estimatorCompanion.map { try ModelStore.loadEstimator(path: $0, scale: scale) }
                if let network, !companions.isEmpty {
                    guard companions.allSatisfy({ $0.configuration == network.configuration }) else {
                        throw JobError(.usage, "--estimator-companion: every estimator of an ensemble needs the same architecture")
                    }
                    network.companions = companions
                }
                loadedEstimator = .some(network)
                return network
            }
            let kernelCorrector = try corrector.map { try KernelCorrector.load(path: $0) }
            // One reading per photo, corrected where a corrector is named; every method uses the same one.
            var readings: [String: BlurEstimate?] = [:]
            func reading(_ item: Benchmark.Case) throws -> BlurEstimate? {
                if let known = readings[item.name] { return known }
                var estimate = try blurEstimator()?.estimate(frames: [item.lr])
                if let kernelCorrector, let first = estimate { estimate = kernelCorrector.correct(first, image: item.lr) }
                readings[item.name] = .some(estimate)
                return estimate
            }
            // A kernel-conditioned Gr is told each photo's blur as `--condition` says (ignored by blind ones).
            var conditions: [String: [Float]] = [:]
            let filed = try conditionFile.map { path in
                guard let data = FileManager.default.contents(atPath: path),
                      let kernels = try? JSONDecoder().decode([String: [Double]].self, from: data) else {
                    throw JobError(.noInput, "\(path): not a kernel file (a JSON object of photo name -> [yy, yx, xx])")
                }
                return kernels
            }
            func freshCode(_ item: Benchmark.Case) throws -> [Float]? {
                if let filed {
                    guard let c = filed[item.name], c.count == 3 else { return nil }
                    return KernelCode.condition((yy: c[0], yx: c[1], xx: c[2]))
                }
                switch condition {
                case .truth:
                    return item.kernel.map { KernelCode.condition(KernelComparison.covariance($0)) }
                case .estimate:
                    // As the product tells it (`BlurEstimation.condition`), from this run's estimator.
                    return try reading(item).map { BlurEstimation.condition($0, scale: scale) }
                }
            }
            func conditionCode(_ item: Benchmark.Case) throws -> [Float]? {
                if let known = conditions[item.name] { return known }
                guard var code = try freshCode(item) else { return nil }
                code[0] += conditionLogSizeOffset
                conditions[item.name] = code
                return code
            }
            benchmark.condition = { item in try? conditionCode(item) }
            for method in methods {
                if method == "estimator" {
                    guard try blurEstimator() != nil else {
                        throw JobError(.noInput, "no blur estimator for x\(scale): pass --estimator PATH")
                    }
                    let report = EstimatorReport(benchmark) { try? reading($0) }
                    print(report.markdown(title: "Blur estimator, x\(scale), \(degradation.rawValue) degradation, \(benchmark.cases.count) photos from \(folder), seed \(seed)"))
                    print("")
                    if let json { try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: json + ".estimator.json")) }
                } else if method.hasPrefix("onsr") {
                    var options = AdaptationOptions()
                    options.steps = steps
                    options.learningRateGr = lrGr; options.learningRateGd = lrGd; options.learningRateDl = lrDl
                    options.ganWeight = ganWeight
                    options.blend = blend
                    var settings = StudyVariant.Settings()
                    settings.degradationWarmup = gdWarmup
                    settings.kernelShape = kernelShape
                    settings.elongationRaisesSize = elongationRaisesSize
                    settings.learnedSize = learnedSize
                    settings.learnedSpread = learnedSpread
                    settings.spectralSize = spectralSize
                    settings.spectralSpread = spectralSpread
                    let variantName = method.split(separator: ":").dropFirst().first.map(String.init) ?? "onsr"
                    guard let variant = StudyVariant(rawValue: variantName) else {
                        throw JobError(.usage, "unknown ONSR variant \(variantName)")
                    }
                    let info = try ModelStore.resolve(model, scale: scale)
                    // Two-phase reads the blur estimator when its kernel shape is the learned one or one is named.
                    let reads = variant == .twoPhase && (kernelShape == .learned || estimator != nil)
                    let estimates = Dictionary(uniqueKeysWithValues: try benchmark.cases.map { ($0.name, reads ? try reading($0) : nil) })
                    // As `image` starts a picture: the estimate may pick the bicubic-trained Gr or a mix with it.
                    let starts = estimates.mapValues { BlurEstimation.pictureStart(info, chosenByUser: model != nil, estimate: $0) }
                    let start = { (item: Benchmark.Case) in starts[item.name]!.model }
                    let strategy = { (item: Benchmark.Case) in variant.strategy(settings, trueKernel: item.kernel, estimate: starts[item.name]!.estimate) }
                    // As `image` refuses them: a photo too small for one LR patch is a one-line error, not a trap in the adapter.
                    if let small = benchmark.cases.first(where: { !AdaptationInputCheck.holdsPatch($0.lr, options: options) }) {
                        let side = options.patchSize
                        throw JobError(.dataError, "\(small.name): ONSR needs a degraded input of at least \(side)x\(side) pixels, this photo gives "
                                       + "\(small.lr.width)x\(small.lr.height) at x\(scale) (leave it out with --only, or use larger photos)")
                    }
                    try AdaptationInputCheck.external(externalSet!, options: options, scale: scale)
                    if !checkpoints.isEmpty {
                        let mixed = try mixWith.map { (model: try ModelStore.resolve($0, scale: scale), weight: mixShare) }
                        let label = "\(method) (\(info.name))" + (mixed.map { ", \($0.weight) of \($0.model.name) mixed in" } ?? "")
                        rows += try benchmark.runAdaptation(label: label, model: start, external: externalSet!,
                                                            options: options, strategy: strategy, checkpoints: checkpoints, blends: blends,
                                                            mix: { starts[$0.name]!.mix ?? mixed })
                        continue
                    }
                    rows.append(try benchmark.run(method: "\(method) (\(info.name), \(steps) steps)") { item in
                        OnsrUpscaler(model: start(item), external: externalSet!, options: options, strategy: strategy(item),
                                     precision: precision.resolved)
                    })
                } else if method.hasPrefix("scan:") {
                    let info = try ModelStore.resolve(String(method.dropFirst(5)), scale: scale)
                    let upscaler = try PretrainedUpscaler(model: info, precision: precision.resolved)
                    guard upscaler.network.configuration.conditions > 0 else { throw JobError(.usage, "\(method): a scan needs a kernel-conditioned model") }
                    guard try blurEstimator() != nil else { throw JobError(.noInput, "no blur estimator for x\(scale): pass --estimator PATH") }
                    let results = try ConsistencyScan.run(benchmark, upscaler: upscaler, offsets: scanOffsetValues ?? []) { try? reading($0) }
                    print(ConsistencyScan.markdown(results))
                    if let json { try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: json + ".scan.json")) }
                } else if method.hasPrefix("mix:") {
                    // A study of the no-blur band: mix:A:B:W scores (1 − W) · A + W · B, both unadapted.
                    let parts = method.split(separator: ":").map(String.init)
                    guard parts.count == 4, let weight = Float(parts[3]), (0...1).contains(weight) else {
                        throw JobError(.usage, "mix methods are mix:MODEL:MODEL:WEIGHT with the weight in [0, 1], got \(method)")
                    }
                    let (a, b) = (try ModelStore.resolve(parts[1], scale: scale), try ModelStore.resolve(parts[2], scale: scale))
                    rows.append(try benchmark.run(method: "mix (\(a.name), \(b.name), \(weight))") { _ in
                        MixedUpscaler(primary: try PretrainedUpscaler(model: a, precision: precision.resolved),
                                      secondary: try PretrainedUpscaler(model: b, precision: precision.resolved), weight: weight)
                    })
                } else if let known = UpscaleMethod(rawValue: method) {
                    let label = known == .pretrained ? "pretrained (\(try ModelStore.resolve(model, scale: scale).name))" : method
                    rows.append(try benchmark.run(method: label) { item in
                        let upscaler = try known.makeUpscaler(scale: scale, model: model, precision: precision.resolved)
                        guard known == .pretrained else { return upscaler }
                        if let learned = upscaler as? PretrainedUpscaler { _ = try benchmark.conditioned(learned, item) }
                        return SelfEnsembleUpscaler(upscaler, ensemble: selfEnsemble.unadapted)
                    })
                } else {
                    let info = try ModelStore.resolve(method, scale: scale)
                    rows.append(try benchmark.run(method: "pretrained (\(info.name))") { item in
                        SelfEnsembleUpscaler(try benchmark.conditioned(PretrainedUpscaler(model: info, precision: precision.resolved), item),
                                             ensemble: selfEnsemble.unadapted)
                    })
                }
            }
            let title = "x\(scale), \(degradation.rawValue) degradation, \(benchmark.cases.count) photos from \(folder), seed \(seed), "
                + "inference \(precision.resolved)"
            // The estimator and scan studies print their own tables and add no rows.
            if !rows.isEmpty { print(Benchmark.markdown(rows, title: title)) }
            if let json { try JSONReport.write(rows, to: json) }
        }
    }
}
