import Decode
import Engine
import Foundation
import ONSR
import Pipeline

/// A blind-SR benchmark in the manner of DIV2KRK: each HR photo degraded by its own seeded random kernel
/// (or by bicubic downsampling), every method run on the LR images, mean Y-PSNR / SSIM and time reported.
public struct Benchmark {
    /// How the LR images are made.
    public enum Degradation: String, Codable, CaseIterable, Sendable {
        /// Anisotropic Gaussians, λ ~ U(0.6, 5) at x2 and U(1.2, 10) at x4, taps x (1 + U(-0.25, 0.25)).
        case blind
        /// Wide range for degradation-learning studies: λ ~ U(0.2, 10) at x2, U(0.4, 20) at x4.
        case wide
        /// MATLAB bicubic downsampling.
        case bicubic

        func variances(scale: Int) -> ClosedRange<Double> {
            switch self {
            case .wide: return scale >= 4 ? 0.4...20 : 0.2...10
            default: return scale >= 4 ? 1.2...10 : 0.6...5
            }
        }
    }

    public struct Case {
        public let name: String
        public let hr: RGBImage
        public let lr: RGBImage
        public let kernel: BlurKernel?
    }

    public struct Row: Codable, Sendable {
        public var method: String
        public var psnr: Double
        public var ssim: Double
        public var secondsPerImage: Double
        public var perImagePSNR: [Double]
        /// ONSR: mean NCC between Gd's generation kernel and the true kernel (blur degradations only).
        public var kernelNCC: Double?
        public var perImageKernelNCC: [Double]?
        /// ONSR: per image, distance (HR pixels) between the centres of mass of Gd's kernel and the true one.
        public var perImageKernelShift: [Double]?
        /// ONSR: per image, the second moments (σyy, σyx, σxx) of Gd's kernel and of the true one.
        public var perImageKernelCovariance: [[Double]]?
        public var perImageTrueKernelCovariance: [[Double]]?
        /// ONSR: per image, |y − Gd(SR)| over the whole LR image under the adaptation's Gd at this step count,
        /// for the adapted output and for the unadapted one (a no-reference test of which explains y better).
        public var perImageInternalLoss: [Double]?
        public var perImageInternalLossUnadapted: [Double]?
        /// ONSR two-phase with the spectral kernel shape: per image, the quadrants' agreement on the blur's
        /// direction (`OnlineAdapter.spectralAgreement`), once Gd's phase has ended.
        public var perImageSpectralAgreement: [Double]?
    }

    public let scale: Int
    /// The element type learned methods upscale in (adaptation itself is fp32).
    public var precision: ElementType = .fp32
    /// The symmetries the learned methods' outputs average over (`SelfEnsembleUpscaler`; ONSR's adapted Gr too);
    /// nil: the ones each Gr's task keeps, as `image` chooses them (`SelfEnsemble.kept`).
    public var selfEnsemble: SelfEnsemble? = .single
    public let degradation: Degradation
    public private(set) var cases: [Case]
    /// What a kernel-conditioned Gr that ONSR adapts is told of each case's blur (`RRDBNet.condition`); blind ones
    /// ignore it.
    public var condition: (Case) -> [Float]? = { _ in nil }
    /// Where set, a study keeps every scored output there (`keep`), so mixes of outputs can be scored afterwards
    /// without adapting again; ONSR's adapted output is kept before any mix.
    public var outputFolder: URL?

    /// Degrades every photo of `photos` (each cropped to a multiple of the scale).
    public init(photos: PhotoSet, scale: Int, degradation: Degradation, seed: UInt64) {
        self.scale = scale
        self.degradation = degradation
        cases = zip(photos.names, photos.images).enumerated().map { index, item in
            let (name, image) = item
            let (h, w) = (image.height / scale * scale, image.width / scale * scale)
            let hr = RGBImage(width: w, height: h, pixels: image.crop(top: 0, left: 0, height: h, width: w))
            var rng = SeededRandom(seed: seed &* 7919 &+ UInt64(index))
            if degradation == .bicubic {
                let lr = Degrade.bicubic(hr.pixels, channels: 3, height: h, width: w, scale: scale)
                return Case(name: name, hr: hr, lr: RGBImage(width: w / scale, height: h / scale, pixels: lr), kernel: nil)
            }
            let kernel = BlurKernel.random(scale: scale, variances: degradation.variances(scale: scale), noise: 0.25, rng: &rng)
            let lr = Degrade.blurSubsample(hr.pixels, channels: 3, height: h, width: w, kernel: kernel, scale: scale)
            return Case(name: name, hr: hr, lr: RGBImage(width: w / scale, height: h / scale, pixels: lr), kernel: kernel)
        }
    }

    /// Keeps only the cases named `names` (a study of a few cases of a set), each degraded as its place in the whole
    /// set seeded it. Precondition: every name is a case's.
    public mutating func keepOnly(named names: [String]) {
        precondition(names.allSatisfy { name in cases.contains { $0.name == name } }, "keepOnly: a name that is no case's")
        cases = cases.filter { names.contains($0.name) }
    }

    /// Runs one method over every case. `makeUpscaler` is called per image, so adaptive methods start fresh.
    public func run(method: String, makeUpscaler: (Case) throws -> FrameUpscaler) throws -> Row {
        var psnrs: [Double] = [], ssims: [Double] = []
        var seconds = 0.0
        for item in cases {
            let upscaler = try makeUpscaler(item)
            let start = DispatchTime.now().uptimeNanoseconds
            let output = try upscaler.upscale(item.lr)
            seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            try keep(output, item, method)
            psnrs.append(Quality.psnrY(output.pixels, item.hr.pixels, height: item.hr.height, width: item.hr.width, shave: scale))
            ssims.append(Quality.ssimY(output.pixels, item.hr.pixels, height: item.hr.height, width: item.hr.width, shave: scale))
        }
        let n = Double(cases.count)
        return Row(method: method, psnr: psnrs.reduce(0, +) / n, ssim: ssims.reduce(0, +) / n, secondsPerImage: seconds / n,
                   perImagePSNR: psnrs)
    }

    /// `upscaler` told `item`'s blur (`condition`) where its Gr is kernel-conditioned.
    public func conditioned(_ upscaler: PretrainedUpscaler, _ item: Case) throws -> PretrainedUpscaler {
        if upscaler.network.configuration.conditions > 0 {
            guard let code = condition(item) else { throw JobError(.usage, "\(item.name): a kernel-conditioned Gr needs a kernel, and there is none") }
            upscaler.network.condition = code
        }
        return upscaler
    }

    /// Runs ONSR adaptation on every case and scores it after each number of `checkpoints` steps, so one
    /// adaptation gives the whole quality-against-steps curve; rows are labelled `label` plus the step count.
    /// Seconds are cumulative (adaptation so far plus one inference). Each of `blends` adds a row per
    /// checkpoint scored with Gr's weights blended back towards the pretrained ones (`blend(from:to:weight:)`).
    /// `strategy` makes each image's adaptation schedule from its case (only the oracle reads the true kernel);
    /// `model` picks each image's starting Gr; `mix`, where it gives one, a Gr whose unadapted output is mixed
    /// into every scored output by its weight (`MixedUpscaler`). With `outputFolder` set, the kernel Gr is fine-tuned
    /// through is kept beside the outputs at each checkpoint, so that a kernel-conditioned Gr can be told it later.
    public func runAdaptation(label: String, model: (Case) -> ModelInfo, external: PhotoSet, options: AdaptationOptions,
                              strategy: (Case) -> AdaptationStrategy, checkpoints: [Int], blends: [Float] = [],
                              mix: (Case) -> (model: ModelInfo, weight: Float)? = { _ in nil }) throws -> [Row] {
        let points = Array(Set(checkpoints)).sorted()
        var options = options
        // One adaptation scored along the way: its budget (two-phase splits it in half) is the longest checkpoint.
        options.steps = points.last ?? 0
        // The adaptation is scored as it goes (blend 1); the product's blend is scored beside it: the options', else
        // the schedule's own (`AdaptationStrategy.defaultBlend`; one reader gives every case the same kind of schedule).
        var blends = blends
        let product = options.blend ?? cases.first.map { strategy($0).defaultBlend } ?? 1
        if product != 1 && !blends.contains(product) { blends.insert(product, at: 0) }
        options.blend = 1
        var psnrs = [[Double]](repeating: [], count: points.count), ssims = psnrs, nccs = psnrs, shifts = psnrs
        var covariances = [[[Double]]](repeating: [], count: points.count), trueCovariances = covariances
        var consistency = psnrs, consistencyUnadapted = psnrs, agreements = psnrs
        var seconds = [Double](repeating: 0, count: points.count)
        var blendPSNRs = [[[Double]]](repeating: [[Double]](repeating: [], count: blends.count), count: points.count)
        var blendSSIMs = blendPSNRs
        var keptKernels = [[String: [Double]]](repeating: [:], count: points.count)
        for item in cases {
            let adapted = try conditioned(PretrainedUpscaler(model: model(item), precision: precision), item)
            // The mixed-in Gr is not adapted, so its output is the same at every checkpoint and blend: it runs once, and
            // its time is counted in every scored output's.
            let secondaryStart = DispatchTime.now().uptimeNanoseconds
            let secondaryOutput = try mix(item).map { mixIn in
                let ensemble = selfEnsemble ?? (mixIn.model.configuration.conditions > 0 ? SelfEnsemble.conditionedInMix : SelfEnsemble.kept(adaptedWith: nil))
                let upscaler = SelfEnsembleUpscaler(try conditioned(PretrainedUpscaler(model: mixIn.model, precision: precision), item),
                                                    ensemble: ensemble)
                return (image: try upscaler.upscale(item.lr), weight: mixIn.weight)
            }
            let secondarySeconds = Double(DispatchTime.now().uptimeNanoseconds - secondaryStart) / 1e9
            func mixed(_ main: RGBImage) -> RGBImage {
                secondaryOutput.map { MixedUpscaler.mix(main, $0.image, weight: $0.weight) } ?? main
            }
            // The unadapted output and the adapted ones may average over different symmetries (`SelfEnsemble.kept`).
            let unadaptedMain = SelfEnsembleUpscaler(adapted, ensemble: selfEnsemble ?? SelfEnsemble.kept(adaptedWith: nil))
            let adaptedMain = SelfEnsembleUpscaler(adapted, ensemble: selfEnsemble ?? SelfEnsemble.kept(adaptedWith: strategy(item)))
            let pretrained = adapted.network.snapshot()
            adapted.network.setTrainable(true)
            let adapter = OnlineAdapter(gr: adapted.network, external: external.images, options: options, strategy: strategy(item))
            var done = 0, spent = 0.0
            let unadaptedStart = DispatchTime.now().uptimeNanoseconds
            let unadapted = mixed(try unadaptedMain.upscale(item.lr))
            let unadaptedSeconds = Double(DispatchTime.now().uptimeNanoseconds - unadaptedStart) / 1e9 + secondarySeconds
            let lr = Tensor(shape: [1, 3, item.lr.height, item.lr.width], values: item.lr.pixels)
            func internalLoss(_ output: RGBImage) -> Double {
                let sr = Tensor(shape: [1, 3, output.height, output.width], values: output.pixels)
                return Double(Loss.l1(adapter.gd(sr), lr).loss)
            }
            for (index, steps) in points.enumerated() {
                let watch = DispatchTime.now().uptimeNanoseconds
                if steps > done { adapter.adapt(frames: [item.lr], steps: steps - done) }
                done = steps
                spent += Double(DispatchTime.now().uptimeNanoseconds - watch) / 1e9
                // With no steps taken Gr is still the pretrained one: its output is the unadapted one.
                let inference = DispatchTime.now().uptimeNanoseconds
                let main = done == 0 ? nil : try adaptedMain.upscale(item.lr)
                let output = main.map(mixed) ?? unadapted
                let inferenceSeconds = done == 0 ? unadaptedSeconds
                    : Double(DispatchTime.now().uptimeNanoseconds - inference) / 1e9 + secondarySeconds
                seconds[index] += spent + inferenceSeconds
                func score(_ image: RGBImage) -> (psnr: Double, ssim: Double) {
                    (Quality.psnrY(image.pixels, item.hr.pixels, height: item.hr.height, width: item.hr.width, shave: scale),
                     Quality.ssimY(image.pixels, item.hr.pixels, height: item.hr.height, width: item.hr.width, shave: scale))
                }
                let scored = score(output)
                if let main { try keep(main, item, "\(label), \(steps) steps") }
                psnrs[index].append(scored.psnr)
                ssims[index].append(scored.ssim)
                if done > 0 && !blends.isEmpty {
                    let weights = adapted.network.snapshot()
                    for (b, weight) in blends.enumerated() {
                        adapted.network.blend(from: pretrained, to: weights, weight: weight)
                        let main = try adaptedMain.upscale(item.lr)
                        let blended = score(mixed(main))
                        try keep(main, item, "\(label), \(steps) steps, blend \(weight)")
                        blendPSNRs[index][b].append(blended.psnr)
                        blendSSIMs[index][b].append(blended.ssim)
                    }
                    adapted.network.restore(weights)
                }
                if let agreement = adapter.spectralAgreement { agreements[index].append(agreement) }
                consistency[index].append(internalLoss(output))
                consistencyUnadapted[index].append(internalLoss(unadapted))
                // The kernel Gr is fine-tuned through: the corrected one once it exists, else Gd's.
                let estimate = adapter.shapedKernel ?? adapter.gd.subsamplingKernel()
                let e = KernelComparison.covariance(estimate)
                if outputFolder != nil && done > 0 { keptKernels[index][item.name] = [e.yy, e.yx, e.xx] }
                if let kernel = item.kernel {
                    nccs[index].append(KernelComparison.ncc(estimate.taps, size: estimate.size, kernel.taps, size: kernel.size))
                    shifts[index].append(KernelComparison.centroidDistance(estimate, kernel))
                    let t = KernelComparison.covariance(kernel)
                    covariances[index].append([e.yy, e.yx, e.xx])
                    trueCovariances[index].append([t.yy, t.yx, t.xx])
                }
            }
        }
        if let folder = outputFolder {
            // Kept so that a kernel-conditioned Gr can be told them later (`eval --condition-file`).
            for (index, kernels) in keptKernels.enumerated() where !kernels.isEmpty {
                let url = folder.appendingPathComponent("kernels--\(label), \(points[index]) steps.json")
                try JSONEncoder().encode(kernels).write(to: url, options: .atomic)
            }
        }
        let n = Double(cases.count)
        let blendRows = points.indices.flatMap { i in
            blends.indices.compactMap { b -> Row? in
                guard !blendPSNRs[i][b].isEmpty else { return nil }
                return Row(method: "\(label), \(points[i]) steps, blend \(blends[b])", psnr: blendPSNRs[i][b].reduce(0, +) / n,
                           ssim: blendSSIMs[i][b].reduce(0, +) / n, secondsPerImage: seconds[i] / n, perImagePSNR: blendPSNRs[i][b])
            }
        }
        return points.indices.map { i in
            Row(method: "\(label), \(points[i]) steps", psnr: psnrs[i].reduce(0, +) / n, ssim: ssims[i].reduce(0, +) / n,
                secondsPerImage: seconds[i] / n, perImagePSNR: psnrs[i],
                kernelNCC: nccs[i].isEmpty ? nil : nccs[i].reduce(0, +) / n, perImageKernelNCC: nccs[i].isEmpty ? nil : nccs[i],
                perImageKernelShift: shifts[i].isEmpty ? nil : shifts[i],
                perImageKernelCovariance: covariances[i].isEmpty ? nil : covariances[i],
                perImageTrueKernelCovariance: trueCovariances[i].isEmpty ? nil : trueCovariances[i],
                perImageInternalLoss: consistency[i], perImageInternalLossUnadapted: consistencyUnadapted[i],
                perImageSpectralAgreement: agreements[i].isEmpty ? nil : agreements[i])
        } + blendRows
    }

    /// Writes `image` to `outputFolder` (where set) as `NAME--LABEL.f32`: height and width as two little-endian
    /// Int32, then the planar samples as Float32; the case's HR photo beside it once, as `NAME--hr.f32`.
    func keep(_ image: RGBImage, _ item: Case, _ label: String) throws {
        guard let folder = outputFolder else { return }
        func file(_ label: String) -> URL {
            folder.appendingPathComponent(String((item.name + "--" + label).map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }) + ".f32")
        }
        func write(_ image: RGBImage, to url: URL) throws {
            var data = Data()
            for value in [Int32(image.height), Int32(image.width)] { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
            image.pixels.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
            try data.write(to: url)
        }
        if !FileManager.default.fileExists(atPath: file("hr").path) { try write(item.hr, to: file("hr")) }
        try write(image, to: file(label))
    }

    /// The results as a Markdown table (with a kernel NCC column when any row has one).
    public static func markdown(_ rows: [Row], title: String) -> String {
        let withKernels = rows.contains { $0.kernelNCC != nil }
        var text = "\(title)\n\n| method | Y-PSNR (dB) | SSIM | s / image |" + (withKernels ? " Gd kernel NCC |" : "")
        text += "\n| --- | --- | --- | --- |" + (withKernels ? " --- |" : "") + "\n"
        for row in rows {
            text += String(format: "| %@ | %.3f | %.4f | %.2f |", row.method, row.psnr, row.ssim, row.secondsPerImage)
            if withKernels { text += row.kernelNCC.map { String(format: " %.3f |", $0) } ?? " |" }
            text += "\n"
        }
        return text
    }
}
