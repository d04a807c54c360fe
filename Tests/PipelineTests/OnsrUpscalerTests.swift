import Decode
import Engine
import ONSR
import Pipeline
import TestSupport
import XCTest

/// ONSR as `image` runs it: one adaptation on the first picture, then the adapted Gr.
final class OnsrUpscalerTests: XCTestCase {
    var fixture: TinyAdaptationFixture!

    override func setUpWithError() throws { fixture = try TinyAdaptationFixture("onsr-upscaler") }
    override func tearDown() { fixture.remove() }

    func makeUpscaler(coded: Bool) -> OnsrUpscaler {
        var options = TinyAdaptationFixture.adaptation
        options.steps = 2
        let upscaler = OnsrUpscaler(model: fixture.model, external: fixture.photos, options: options)
        upscaler.inputIsCoded = coded
        return upscaler
    }

    /// A JPEG picture is fine-tuned through the spectral shape (the estimator reads its blocks as detail); a
    /// lossless one through the estimate's kernel.
    func testCodedPicturesTakeTheSpectralShape() throws {
        let picture = SyntheticShots.frame(shot: 1, t: 2, width: 64, height: 64)
        let lossless = makeUpscaler(coded: false)
        let plain = try lossless.upscale(picture)
        XCTAssertEqual(lossless.kernelShape, .learned)
        let coded = makeUpscaler(coded: true)
        let output = try coded.upscale(picture)
        XCTAssertEqual(coded.kernelShape, .spectral)
        XCTAssertEqual([output.width, output.height], [128, 128])
        XCTAssertEqual(coded.history.count, 2)
        XCTAssertNotEqual(output.pixels, plain.pixels, "a different kernel shape should fine-tune Gr differently")
    }

    /// With self-ensembles, the adapted Gr averages over the half turn where it learned a blur and over all eight
    /// symmetries where it learned the bicubic downscaling alone; the output is the passes' mean, so it differs
    /// from the single pass.
    func testSelfEnsemblesFollowTheKernelGrLearned() throws {
        let picture = SyntheticShots.frame(shot: 1, t: 2, width: 64, height: 64)
        var options = TinyAdaptationFixture.adaptation
        options.steps = 2
        func upscale(_ estimate: BlurEstimate, ensembles: Bool) throws -> (SelfEnsemble?, RGBImage) {
            let upscaler = OnsrUpscaler(model: fixture.model, external: fixture.photos, options: options,
                                        strategy: TwoPhase(estimate: estimate))
            upscaler.selfEnsembles = ensembles
            let output = try upscaler.upscale(picture)
            return (upscaler.selfEnsemble, output)
        }
        let blurred = BlurEstimate(covariance: (yy: 1.5, yx: 0.4, xx: 2.5), noBlurProbability: 0.1)
        let (kept, averaged) = try upscale(blurred, ensembles: true)
        XCTAssertEqual(kept, .halfTurn)
        let (single, plain) = try upscale(blurred, ensembles: false)
        XCTAssertEqual(single, .single)
        XCTAssertNotEqual(averaged.pixels, plain.pixels)
        XCTAssertEqual(try upscale(BlurEstimate(covariance: (yy: 0, yx: 0, xx: 0), noBlurProbability: 0.95), ensembles: true).0, .dihedral)
    }

    /// With the picture's compression, the external branch codes its LR patches so (and the input counts as coded).
    func testACompressionProfileIsReproducedOnTheExternalPatches() throws {
        let upscaler = makeUpscaler(coded: false)
        upscaler.compression = CompressionProfile(codec: .jpeg, quantiser: 12)
        XCTAssertTrue(upscaler.inputIsCoded)
        let picture = SyntheticShots.frame(shot: 2, t: 1, width: 64, height: 64)
        let coded = try upscaler.upscale(picture)
        XCTAssertEqual(upscaler.kernelShape, .spectral)
        let plain = makeUpscaler(coded: true)
        XCTAssertNotEqual(try plain.upscale(picture).pixels, coded.pixels, "coded external patches should train Gr differently")
    }

    /// A JPEG file gives both facts (lossy, and its quantiser for the external branch); a WebP is lossy without a
    /// reproducible compression; a PNG neither.
    func testDescribeInputReadsTheFile() throws {
        let folder = fixture.folder
        try ImageFile.writePNG(SyntheticShots.frame(shot: 1, t: 1, width: 64, height: 64), to: folder.file("p.png"))
        try Shell.ffmpeg(["-i", "p.png", "-q:v", "7", "p.jpg"], in: folder.path)
        try Shell.ffmpeg(["-i", "p.png", "-quality", "50", "p.webp"], in: folder.path)
        var facts: [String: (coded: Bool, profile: CompressionProfile?)] = [:]
        for name in ["p.png", "p.jpg", "p.webp"] {
            let upscaler = makeUpscaler(coded: false)
            upscaler.describeInput(try ImageFile.read(path: folder.file(name)), path: folder.file(name))
            facts[name] = (upscaler.inputIsCoded, upscaler.compression)
        }
        XCTAssertEqual(facts["p.png"]?.coded, false)
        XCTAssertNil(facts["p.png"]?.profile ?? nil)
        XCTAssertEqual(facts["p.jpg"]?.coded, true)
        XCTAssertEqual(facts["p.jpg"]?.profile?.codec, .jpeg)
        XCTAssertEqual(facts["p.jpg"]?.profile?.quantiser ?? 0, 7, accuracy: 0.5)
        XCTAssertEqual(facts["p.webp"]?.coded, true)
        XCTAssertNil(facts["p.webp"]?.profile ?? nil)
    }

    func testTheFirstPictureAdaptsAndLaterOnesReuseIt() throws {
        let upscaler = makeUpscaler(coded: false)
        XCTAssertNil(upscaler.kernelShape)
        _ = try upscaler.upscale(SyntheticShots.frame(shot: 0, t: 0, width: 64, height: 64))
        let history = upscaler.history
        XCTAssertEqual(history.count, 2)
        _ = try upscaler.upscale(SyntheticShots.frame(shot: 1, t: 0, width: 64, height: 64))
        XCTAssertEqual(upscaler.history.count, history.count, "only the first picture adapts")
        XCTAssertEqual(upscaler.startedFrom?.name, fixture.model.name)
    }
}
