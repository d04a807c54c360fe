import CFFmpeg

/// The quantiser a decoded frame was coded with, as its decoder exported it (`AV_FRAME_DATA_VIDEO_ENC_PARAMS`,
/// with `Decoder(exportQuantisers: true)`), averaged over the picture's blocks by area.
///
/// Scales differ by codec: H.264's QP (0-51, +6 doubles the step) and MPEG-1/2/4 part 2's quantiser scale in
/// the units FFmpeg's `-qscale:v` sets (1-31). FFmpeg exports the MPEG family's as MPEG-2's `quantiser_scale`, twice
/// those units (MPEG-2's linear scale, and MPEG-1/4 doubled to match), so they are halved here.
public struct QuantiserReading: Sendable, Equatable {
    public enum Scale: String, Sendable, Codable {
        /// H.264 QP.
        case h264
        /// MPEG-1/2, MPEG-4 part 2, H.263 quantiser scale, in `-qscale:v` units.
        case mpeg2
        /// VP9 quantiser index (0-255).
        case vp9
    }

    public let scale: Scale
    /// Area-weighted mean over the picture's blocks (the frame's own QP where it has no blocks).
    public let mean: Double
    /// Smallest and largest block quantisers.
    public let range: ClosedRange<Double>

    public init(scale: Scale, mean: Double, range: ClosedRange<Double>) {
        self.scale = scale
        self.mean = mean
        self.range = range
    }
}

extension Frame {
    /// The frame's quantiser, nil when its decoder exported none (FFmpeg's MPEG-2 decoder attaches none to the
    /// frame that comes out at the flush: average over the frames that have one).
    public var quantiser: QuantiserReading? {
        guard let side = av_frame_get_side_data(pointer, AV_FRAME_DATA_VIDEO_ENC_PARAMS), side.pointee.size > 0 else { return nil }
        let parameters = UnsafeMutableRawPointer(side.pointee.data!).assumingMemoryBound(to: AVVideoEncParams.self)
        let scale: QuantiserReading.Scale
        switch parameters.pointee.type {
        case AV_VIDEO_ENC_PARAMS_H264: scale = .h264
        case AV_VIDEO_ENC_PARAMS_MPEG2: scale = .mpeg2
        case AV_VIDEO_ENC_PARAMS_VP9: scale = .vp9
        default: return nil
        }
        let unit = scale == .mpeg2 ? 0.5 : 1
        let base = Double(parameters.pointee.qp) * unit
        let blocks = Int(parameters.pointee.nb_blocks)
        guard blocks > 0 else { return QuantiserReading(scale: scale, mean: base, range: base...base) }
        var weighted = 0.0, area = 0.0, low = Double.infinity, high = -Double.infinity
        for index in 0..<blocks {
            let block = onsr_video_enc_params_block(parameters, UInt32(index))!.pointee
            let value = base + Double(block.delta_qp) * unit
            // Blocks past the picture's edge (MPEG's allocated macroblock rows) still count by their full size.
            let size = Double(max(block.w, 0)) * Double(max(block.h, 0))
            weighted += value * size
            area += size
            low = min(low, value)
            high = max(high, value)
        }
        guard area > 0 else { return QuantiserReading(scale: scale, mean: base, range: base...base) }
        return QuantiserReading(scale: scale, mean: weighted / area, range: low...high)
    }
}
