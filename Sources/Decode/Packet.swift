import CFFmpeg

/// Owns one `AVPacket`. Reused across reads: each read unreferences the previous payload.
public final class Packet: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVPacket>

    public init() throws {
        guard let packet = av_packet_alloc() else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "av_packet_alloc")
        }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }

    /// Index of the stream the packet belongs to.
    public var streamIndex: Int { Int(pointer.pointee.stream_index) }
    /// Payload size in bytes.
    public var size: Int { Int(pointer.pointee.size) }
    /// True when the demuxer flagged the packet as damaged.
    public var isCorrupt: Bool { pointer.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 }
    /// Presentation time in the stream's time base, nil when unknown.
    public var pts: Int64? { pointer.pointee.pts == FlowCode.noTimestamp ? nil : pointer.pointee.pts }
    /// How long the packet shows, in the stream's time base (0 where unknown).
    public var duration: Int64 { pointer.pointee.duration }

    /// Moves the packet's presentation and decoding times `ticks` of its stream's time base earlier (a trimmed
    /// output starts at zero).
    public func shiftTimestamps(earlierBy ticks: Int64) {
        if pointer.pointee.pts != FlowCode.noTimestamp { pointer.pointee.pts -= ticks }
        if pointer.pointee.dts != FlowCode.noTimestamp { pointer.pointee.dts -= ticks }
    }

    /// The payload as bytes (copied).
    public var bytes: [UInt8] {
        guard let data = pointer.pointee.data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Drops the payload.
    public func reset() { av_packet_unref(pointer) }
}

/// Owns one `AVFrame`.
public final class Frame: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVFrame>

    public init() throws {
        guard let frame = av_frame_alloc() else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "av_frame_alloc")
        }
        pointer = frame
    }

    /// A frame with its own buffers for `format` at `width` x `height`.
    public convenience init(format: AVPixelFormat, width: Int, height: Int) throws {
        try self.init()
        pointer.pointee.format = format.rawValue
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        try check(av_frame_get_buffer(pointer, 0), "av_frame_get_buffer")
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }

    public var width: Int { Int(pointer.pointee.width) }
    public var height: Int { Int(pointer.pointee.height) }
    public var pixelFormat: AVPixelFormat { AVPixelFormat(rawValue: pointer.pointee.format) }

    /// The frame's best estimate of its presentation time, nil when unknown.
    public var bestEffortTimestamp: Int64? {
        let value = pointer.pointee.best_effort_timestamp
        return value == FlowCode.noTimestamp ? nil : value
    }

    /// Presentation time that the encoder will carry through.
    public var pts: Int64? {
        get { pointer.pointee.pts == FlowCode.noTimestamp ? nil : pointer.pointee.pts }
        set { pointer.pointee.pts = newValue ?? FlowCode.noTimestamp }
    }

    /// The shape of one pixel (width / height) the frame states; not valid (0/1) where it states none.
    public var sampleAspectRatio: Rational { Rational(pointer.pointee.sample_aspect_ratio) }

    /// True for a picture coded without reference to others (an I frame).
    public var isIntra: Bool { pointer.pointee.pict_type == AV_PICTURE_TYPE_I }

    /// True when the frame holds two interlaced fields (the decoder's `interlaced_frame`).
    public var isInterlaced: Bool { pointer.pointee.interlaced_frame != 0 }

    /// True when the decoder reported errors concealed in this frame.
    public var hasDecodeErrors: Bool { pointer.pointee.decode_error_flags != 0 || pointer.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 }

    /// The frame's eight plane pointers, in place (`AVFrame.data`).
    var planes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?> {
        UnsafeMutableRawPointer(pointer).advanced(by: MemoryLayout<AVFrame>.offset(of: \AVFrame.data)!)
            .assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
    }

    /// The frame's eight row strides in bytes, in place (`AVFrame.linesize`).
    var strides: UnsafeMutablePointer<Int32> {
        UnsafeMutableRawPointer(pointer).advanced(by: MemoryLayout<AVFrame>.offset(of: \AVFrame.linesize)!)
            .assumingMemoryBound(to: Int32.self)
    }

    /// Start of plane `index`.
    func plane(_ index: Int) -> UnsafeMutablePointer<UInt8> { planes[index]! }

    /// Bytes per row of plane `index`.
    func stride(_ index: Int) -> Int { Int(strides[index]) }

    /// One stored sample value of plane `plane` (8- or 16-bit little-endian formats), for inspection.
    public func sample(plane: Int, x: Int, y: Int) -> Int {
        let row = self.plane(plane) + y * stride(plane)
        if pixelFormat.bitDepth > 8 { return Int(UInt16(littleEndian: UnsafeRawPointer(row).assumingMemoryBound(to: UInt16.self)[x])) }
        return Int(row[x])
    }

    /// Drops the payload so the frame can be reused.
    /// Converts the presentation time from `from` to `to` (an audio graph's time base into its encoder's).
    public func rescaleTimestamp(from: Rational, to: Rational) {
        guard pointer.pointee.pts != FlowCode.noTimestamp else { return }
        pointer.pointee.pts = av_rescale_q(pointer.pointee.pts, from.av, to.av)
    }

    public func reset() { av_frame_unref(pointer) }

    /// Makes sure the buffers are not shared with an encoder or decoder before they are written.
    func makeWritable() throws { try check(av_frame_make_writable(pointer), "av_frame_make_writable") }
}
