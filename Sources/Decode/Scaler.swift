import CFFmpeg

/// Owns a `SwsContext` converting frames of one size and format into another.
final class Scaler {
    let context: OpaquePointer
    let source: (width: Int, height: Int, format: AVPixelFormat)
    let target: (width: Int, height: Int, format: AVPixelFormat)

    init(from source: (width: Int, height: Int, format: AVPixelFormat),
         to target: (width: Int, height: Int, format: AVPixelFormat),
         flags: Int32 = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP) throws {
        guard let created = sws_getContext(Int32(source.width), Int32(source.height), source.format,
                                           Int32(target.width), Int32(target.height), target.format,
                                           flags, nil, nil, nil) else {
            let from = av_get_pix_fmt_name(source.format).map { String(cString: $0) } ?? "?"
            let to = av_get_pix_fmt_name(target.format).map { String(cString: $0) } ?? "?"
            throw MediaError(code: onsr_averror(ENOSYS), call: "sws_getContext", context: "\(from) to \(to)")
        }
        context = created
        self.source = source
        self.target = target
    }

    deinit { sws_freeContext(context) }

    /// True when this scaler was made for the given geometry.
    func matches(source: (width: Int, height: Int, format: AVPixelFormat),
                 target: (width: Int, height: Int, format: AVPixelFormat)) -> Bool {
        self.source == source && self.target == target
    }

    /// Converts `input` into `output`, whose buffers must already exist.
    func scale(_ input: Frame, into output: Frame) throws {
        let sourceData = UnsafeRawPointer(input.planes).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
        let sourceStride = UnsafePointer(input.strides)
        let targetData = output.planes
        let targetStride = UnsafePointer(output.strides)
        let rows = sws_scale(context, sourceData, sourceStride, 0, Int32(source.height), targetData, targetStride)
        try check(rows, "sws_scale")
    }
}

private func == (lhs: (width: Int, height: Int, format: AVPixelFormat), rhs: (width: Int, height: Int, format: AVPixelFormat)) -> Bool {
    lhs.width == rhs.width && lhs.height == rhs.height && lhs.format == rhs.format
}
