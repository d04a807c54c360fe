import Decode

/// What the read stage makes of each decoded frame, decided once for the stream: its pixels in planar RGB at the
/// stream's size (a frame of another size fitted in by `FrameRefit`), and what travels beside them to the writer: the
/// input's coding (for codec-aware adaptation), closed captions and, where the output keeps one, the alpha plane.
final class FrameIntake {
    /// Seconds spent converting to RGB (refitting and alpha planes included).
    private(set) var seconds = 0.0
    /// Decoded frames of another size than the stream's, fitted into it.
    private(set) var refittedFrames = 0

    private let setup: FrameFlow.Configuration
    private let converter = ColourConverter()
    private var refit: FrameRefit
    private var refitSizes: Set<[Int]> = []
    private var framesSeen = 0
    private var warnedOfAlpha = false

    init(_ setup: FrameFlow.Configuration) {
        self.setup = setup
        refit = FrameRefit(width: setup.video.width, height: setup.video.height, sampleAspectRatio: setup.video.sampleAspectRatio)
    }

    /// The frame to queue for upscaling, at `pts` (`at` in seconds, where the time base is known); `warn` is told once
    /// per new frame size and once of transparency the output cannot keep.
    func timedFrame(from frame: Frame, pts: Int64, seconds at: Double?, warn: (String) -> Void) throws -> TimedFrame {
        framesSeen += 1
        var image = try Stopwatch.time(&seconds) { try converter.rgbImage(from: frame, matrix: setup.matrix, fullRange: setup.fullRange) }
        let refitted = image.width != refit.width || image.height != refit.height
        if refitted {
            if refitSizes.insert([image.width, image.height]).inserted {
                warn("frames from \(TrimWindow.describe(at ?? 0)) are \(image.width)x\(image.height), not \(refit.width)x\(refit.height): "
                     + "fitted into \(refit.width)x\(refit.height) with their shape kept (black bars) before upscaling")
            }
            image = Stopwatch.time(&seconds) { refit(image, sampleAspectRatio: frame.sampleAspectRatio) }
            refittedFrames += 1
        }
        var timed = TimedFrame(image: image, pts: pts, seconds: at)
        if setup.processor.wantsFrameCoding { timed.coding = FrameCoding(quantiser: frame.quantiser, intra: frame.isIntra) }
        timed.captions = frame.closedCaptions
        // Where the output cannot keep alpha, the first frames are looked at for transparency to warn about.
        if setup.inputHasAlpha && (setup.carriesAlpha || framesSeen <= 8 && !warnedOfAlpha) {
            let alpha = try Stopwatch.time(&seconds) { try converter.alphaPlane(from: frame) }
            if setup.carriesAlpha {
                // A fitted frame's colour has moved; it is written opaque.
                timed.alpha = refitted ? nil : alpha
            } else if alpha?.contains(where: { $0 < 1 }) == true {
                warnedOfAlpha = true
                warn("the video has transparency, which \(setup.encoder.codecName) in \(setup.encoder.pixelFormatName) cannot keep; "
                     + "it is dropped (prores_ks, libvpx-vp9, ffv1, qtrle and png keep it)")
            }
        }
        return timed
    }
}
