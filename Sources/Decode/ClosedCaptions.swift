import CFFmpeg

/// Closed captions that travel inside the video: ATSC A/53 part 4 `cc_data` (CEA-608 and CEA-708 byte triplets),
/// stored in H.264 / HEVC SEI and MPEG-2 user data of each picture. FFmpeg's decoders attach them to the frame they
/// belong to (`AV_FRAME_DATA_A53_CC`), and encoders with an `a53cc` option (libx264, mpeg2video) write what a frame
/// they are given carries. A frame built from upscaled pixels carries nothing of its own, so captions are handed on
/// frame by frame, as FFmpeg's own transcoding does.
extension Frame {
    /// The frame's A/53 caption bytes, nil when it has none.
    public var closedCaptions: [UInt8]? {
        guard let side = av_frame_get_side_data(pointer, AV_FRAME_DATA_A53_CC), side.pointee.size > 0,
              let data = side.pointee.data else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: Int(side.pointee.size)))
    }

    /// Replaces the frame's caption bytes (nil removes them).
    public func setClosedCaptions(_ bytes: [UInt8]?) throws {
        av_frame_remove_side_data(pointer, AV_FRAME_DATA_A53_CC)
        guard let bytes, !bytes.isEmpty else { return }
        guard let side = av_frame_new_side_data(pointer, AV_FRAME_DATA_A53_CC, bytes.count) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "av_frame_new_side_data")
        }
        side.pointee.data.update(from: bytes, count: bytes.count)
    }

    /// True when `codec` writes the captions its frames carry into the bitstream.
    public static func encoderCarriesCaptions(_ codec: String) -> Bool { Encoder.hasOption("a53cc", codec: codec) }
}
