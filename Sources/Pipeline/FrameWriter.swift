import Decode

/// The write stage's work on each upscaled frame, decided once for the stream: brought to the output size, converted
/// to the encoder's pixel format (through a palette of its own for GIF, with the input's alpha plane where the output
/// keeps one), given the input frame's closed captions, encoded and handed to the muxer.
final class FrameWriter {
    /// Seconds spent converting from RGB (palette included), encoding and muxing.
    private(set) var stages = StageSeconds()
    /// Frames written with the input's alpha plane.
    private(set) var alphaFrames = 0
    /// Frames whose input frame carried closed captions, and those of them written with the captions.
    private(set) var captionedFrames = 0
    private(set) var captionsWritten = 0

    private let setup: FrameFlow.Configuration
    private let converter = ColourConverter()
    private let palette: GIFPalette?
    private let paletted: Frame, packet: Packet
    /// Hands one encoded packet, in the encoder's time base, to the muxer.
    private let mux: (Packet) throws -> Void

    init(_ setup: FrameFlow.Configuration, mux: @escaping (Packet) throws -> Void) throws {
        self.setup = setup
        self.mux = mux
        let width = setup.resize?.width ?? setup.video.width * setup.processor.scale
        let height = setup.resize?.height ?? setup.video.height * setup.processor.scale
        palette = setup.encoder.takesPalettedFrames ? try GIFPalette(width: width, height: height, timeBase: setup.encoder.timeBase) : nil
        paletted = try Frame()
        packet = try Packet()
    }

    /// Converts, captions and encodes one upscaled frame; `warn` is told once of captions the encoder cannot write.
    func write(_ timed: TimedFrame, warn: (String) -> Void) throws {
        let frame = try Stopwatch.time(&stages.fromRGB) {
            let image = setup.resize.map { $0(timed.image) } ?? timed.image
            if palette != nil {
                return try converter.frame(from: image, format: GIFPalette.inputFormat, matrix: setup.matrix, fullRange: true)
            }
            let alpha = timed.alpha.map { AlphaPlane.upscaled($0, width: setup.video.width, height: setup.video.height, to: image) }
            if alpha != nil { alphaFrames += 1 }
            return try converter.frame(from: image, alpha: alpha, for: setup.encoder, matrix: setup.matrix, fullRange: setup.outputFullRange)
        }
        frame.pts = timed.pts
        if let captions = timed.captions {
            captionedFrames += 1
            if setup.carriesCaptions {
                try frame.setClosedCaptions(captions)
                captionsWritten += 1
            } else if captionedFrames == 1 && !Frame.encoderCarriesCaptions(setup.encoder.codecName) {
                warn("the video carries closed captions, which \(setup.encoder.codecName) cannot write; they are left out "
                     + "(libx264 and mpeg2video carry them)")
            }
        }
        try encode(frame)
    }

    /// Sends the end of the stream through the palette and the encoder, and writes what they held back.
    func finish() throws { try encode(nil) }

    /// Sends a frame (nil: the end of the stream) to the encoder, through the palette where the encoder wants one.
    private func encode(_ frame: Frame?) throws {
        if let palette {
            try Stopwatch.time(&stages.fromRGB) { try frame.map(palette.send) ?? palette.sendEndOfStream() }
            while case .output = try Stopwatch.time(&stages.fromRGB, { try palette.receive(into: paletted) }) {
                try Stopwatch.time(&stages.encode) { try setup.encoder.send(paletted) }
                try drain()
            }
            guard frame == nil else { return }
            try Stopwatch.time(&stages.encode) { try setup.encoder.sendEndOfStream() }
        } else {
            try Stopwatch.time(&stages.encode) { try frame.map(setup.encoder.send) ?? setup.encoder.sendEndOfStream() }
        }
        try drain()
    }

    private func drain() throws {
        while case .output = try Stopwatch.time(&stages.encode, { try setup.encoder.receive(into: packet) }) {
            try Stopwatch.time(&stages.mux) { try mux(packet) }
        }
    }
}
