import CFFmpeg

/// HDR10's static metadata: the colour volume of the display the video was mastered on (SMPTE ST 2086) and the
/// content's light levels (CTA-861.3). A player tone-maps PQ video to its own display with them; without them it
/// assumes a 1,000 or 4,000 cd/m² master and highlights clip or dim.
///
/// Where it lives differs by codec: HEVC and AV1 carry it in the bitstream (SEI / metadata OBUs), which FFmpeg's
/// decoders attach to the first frame as side data; Matroska, WebM and MP4 can state it for the stream, which the
/// demuxer attaches to the stream. An encoder does not regenerate it: FFmpeg 5.1's libx264, libx265 and libsvtav1
/// wrappers ignore such side data on the frames they are given, and take it only through their own parameter
/// strings (`encoderOptions`).
///
/// Units are the standards' own integers: chromaticity in 0.00002, luminance in 0.0001 cd/m².
public struct HDRMetadata: Sendable, Equatable, Codable {
    /// The mastering display: CIE 1931 xy of its red, green and blue primaries and white point, and its luminance.
    public struct MasteringDisplay: Sendable, Equatable, Codable {
        public var red: [Int]
        public var green: [Int]
        public var blue: [Int]
        public var whitePoint: [Int]
        public var maxLuminance: Int
        public var minLuminance: Int

        public init(red: [Int], green: [Int], blue: [Int], whitePoint: [Int], maxLuminance: Int, minLuminance: Int) {
            precondition([red, green, blue, whitePoint].allSatisfy { $0.count == 2 }, "chromaticities are (x, y) pairs")
            self.red = red
            self.green = green
            self.blue = blue
            self.whitePoint = whitePoint
            self.maxLuminance = maxLuminance
            self.minLuminance = minLuminance
        }

        static let chromaticityUnit = 50_000.0
        static let luminanceUnit = 10_000.0

        /// x265's and x264's `G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`, in the standard's integer units.
        var integerForm: String {
            "G(\(green[0]),\(green[1]))B(\(blue[0]),\(blue[1]))R(\(red[0]),\(red[1]))"
                + "WP(\(whitePoint[0]),\(whitePoint[1]))L(\(maxLuminance),\(minLuminance))"
        }

        /// SVT-AV1's form of the same: chromaticities as fractions, luminance in cd/m².
        var decimalForm: String {
            func pair(_ p: [Int]) -> String { "(\(decimal(Double(p[0]) / Self.chromaticityUnit)),\(decimal(Double(p[1]) / Self.chromaticityUnit)))" }
            return "G\(pair(green))B\(pair(blue))R\(pair(red))WP\(pair(whitePoint))"
                + "L(\(decimal(Double(maxLuminance) / Self.luminanceUnit)),\(decimal(Double(minLuminance) / Self.luminanceUnit)))"
        }
    }

    /// The brightest pixel (MaxCLL) and the brightest frame average (MaxFALL), in cd/m².
    public struct ContentLight: Sendable, Equatable, Codable {
        public var maxContent: Int
        public var maxFrameAverage: Int

        public init(maxContent: Int, maxFrameAverage: Int) {
            self.maxContent = maxContent
            self.maxFrameAverage = maxFrameAverage
        }
    }

    public var masteringDisplay: MasteringDisplay?
    public var contentLight: ContentLight?
    /// Where it was found: `frame` (the first frame's side data: the bitstream's) or `stream` (the container's).
    public var source: String

    public init(masteringDisplay: MasteringDisplay?, contentLight: ContentLight?, source: String) {
        self.masteringDisplay = masteringDisplay
        self.contentLight = contentLight
        self.source = source
    }

    /// The metadata FFmpeg attached to a decoded frame, nil when there is none.
    public init?(frame: Frame) {
        let mastering = av_frame_get_side_data(frame.pointer, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA)
        let light = av_frame_get_side_data(frame.pointer, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL)
        self.init(mastering: mastering.flatMap { HDRMetadata.payload($0.pointee.data, $0.pointee.size, AVMasteringDisplayMetadata.self) },
                  light: light.flatMap { HDRMetadata.payload($0.pointee.data, $0.pointee.size, AVContentLightMetadata.self) },
                  source: "frame")
    }

    /// The metadata the container states for `stream`, nil when it states none.
    init?(stream: UnsafeMutablePointer<AVStream>) {
        var mastering: AVMasteringDisplayMetadata?, light: AVContentLightMetadata?
        for index in 0..<Int(stream.pointee.nb_side_data) {
            let side = stream.pointee.side_data[index]
            switch side.type {
            case AV_PKT_DATA_MASTERING_DISPLAY_METADATA:
                mastering = HDRMetadata.payload(side.data, Int(side.size), AVMasteringDisplayMetadata.self)
            case AV_PKT_DATA_CONTENT_LIGHT_LEVEL:
                light = HDRMetadata.payload(side.data, Int(side.size), AVContentLightMetadata.self)
            default:
                break
            }
        }
        self.init(mastering: mastering, light: light, source: "stream")
    }

    private init?(mastering: AVMasteringDisplayMetadata?, light: AVContentLightMetadata?, source: String) {
        // x265 and x264 take the display whole or not at all, so a half-stated one is dropped, and so is one whose
        // numbers are no numbers (a damaged container's 0/0) or out of the standards' 16- and 32-bit ranges.
        func units(_ value: AVRational, _ unit: Double, limit: Double) -> Int? {
            let scaled = (av_q2d(value) * unit).rounded()
            return value.den != 0 && scaled.isFinite && scaled >= 0 && scaled <= limit ? Int(scaled) : nil
        }
        func xy(_ p: (AVRational, AVRational)) -> [Int]? {
            guard let x = units(p.0, MasteringDisplay.chromaticityUnit, limit: 50_000),
                  let y = units(p.1, MasteringDisplay.chromaticityUnit, limit: 50_000) else { return nil }
            return [x, y]
        }
        // FFmpeg orders the primaries red, green, blue.
        if let m = mastering, m.has_primaries != 0, m.has_luminance != 0,
           let red = xy(m.display_primaries.0), let green = xy(m.display_primaries.1), let blue = xy(m.display_primaries.2),
           let white = xy(m.white_point), let peak = units(m.max_luminance, MasteringDisplay.luminanceUnit, limit: Double(UInt32.max)),
           let black = units(m.min_luminance, MasteringDisplay.luminanceUnit, limit: Double(UInt32.max)) {
            masteringDisplay = MasteringDisplay(red: red, green: green, blue: blue, whitePoint: white, maxLuminance: peak, minLuminance: black)
        }
        if let l = light, l.MaxCLL > 0 || l.MaxFALL > 0 {
            contentLight = ContentLight(maxContent: Int(l.MaxCLL), maxFrameAverage: Int(l.MaxFALL))
        }
        guard masteringDisplay != nil || contentLight != nil else { return nil }
        self.source = source
    }

    /// The metadata of the first frame of `demuxer`'s video stream `index`, read by a decoder of its own: FFmpeg attaches
    /// what the bitstream carries to the frame that carries it, and the encoder has to be opened before the job's own
    /// decoding starts. The demuxer is read from where it stands (a fresh one for this), at most `packetLimit` packets; nil
    /// where nothing decodes in them or the frame has none.
    public static func firstFrame(of demuxer: Demuxer, stream index: Int, packetLimit: Int = 256) -> HDRMetadata? {
        guard let decoder = try? Decoder(demuxer: demuxer, streamIndex: index, threads: 1),
              let packet = try? Packet(), let frame = try? Frame() else { return nil }
        var read = 0
        while read < packetLimit, let step = try? demuxer.read(into: packet), case .packet = step {
            guard packet.streamIndex == index else { continue }
            read += 1
            guard (try? decoder.send(packet)) != nil else { continue }
            if case .output? = try? decoder.receive(into: frame) { return HDRMetadata(frame: frame) }
        }
        try? decoder.sendEndOfStream()
        if case .output? = try? decoder.receive(into: frame) { return HDRMetadata(frame: frame) }
        return nil
    }

    private static func payload<T>(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ type: T.Type) -> T? {
        guard let data, size >= MemoryLayout<T>.size else { return nil }
        return UnsafeRawPointer(data).loadUnaligned(as: T.self)
    }

    /// The parameter string option that carries the metadata into `codec`'s bitstream, with its entries
    /// (`x265-params`, `x264-params`, `svtav1-params`); nil for encoders that have none.
    public func encoderParameters(for codec: String) -> (key: String, value: String)? {
        var entries: [String] = []
        switch codec {
        case "libx265":
            if let m = masteringDisplay { entries.append("master-display=\(m.integerForm)") }
            if let l = contentLight { entries.append("max-cll=\(l.maxContent),\(l.maxFrameAverage)") }
            return entries.isEmpty ? nil : (key: "x265-params", value: entries.joined(separator: ":"))
        case "libx264":
            if let m = masteringDisplay { entries.append("mastering-display=\(m.integerForm)") }
            if let l = contentLight { entries.append("cll=\(l.maxContent),\(l.maxFrameAverage)") }
            return entries.isEmpty ? nil : (key: "x264-params", value: entries.joined(separator: ":"))
        case "libsvtav1":
            if let m = masteringDisplay { entries.append("mastering-display=\(m.decimalForm)") }
            if let l = contentLight { entries.append("content-light=\(l.maxContent),\(l.maxFrameAverage)") }
            return entries.isEmpty ? nil : (key: "svtav1-params", value: entries.joined(separator: ":"))
        default:
            return nil
        }
    }

    /// Writes the metadata as stream side data of `stream` (what Matroska and WebM store), where the stream has none of
    /// that kind yet.
    func attach(to stream: UnsafeMutablePointer<AVStream>, path: String) throws {
        let present = (0..<Int(stream.pointee.nb_side_data)).map { stream.pointee.side_data[$0].type }
        if let m = masteringDisplay, !present.contains(AV_PKT_DATA_MASTERING_DISPLAY_METADATA) {
            var value = AVMasteringDisplayMetadata()
            func xy(_ p: [Int]) -> (AVRational, AVRational) {
                (AVRational(num: Int32(p[0]), den: Int32(MasteringDisplay.chromaticityUnit)),
                 AVRational(num: Int32(p[1]), den: Int32(MasteringDisplay.chromaticityUnit)))
            }
            value.display_primaries = (xy(m.red), xy(m.green), xy(m.blue))
            value.white_point = xy(m.whitePoint)
            value.max_luminance = AVRational(num: Int32(clamping: m.maxLuminance), den: Int32(MasteringDisplay.luminanceUnit))
            value.min_luminance = AVRational(num: Int32(clamping: m.minLuminance), den: Int32(MasteringDisplay.luminanceUnit))
            value.has_primaries = 1
            value.has_luminance = 1
            try HDRMetadata.add(value, as: AV_PKT_DATA_MASTERING_DISPLAY_METADATA, to: stream, path: path)
        }
        if let l = contentLight, !present.contains(AV_PKT_DATA_CONTENT_LIGHT_LEVEL) {
            let value = AVContentLightMetadata(MaxCLL: UInt32(clamping: l.maxContent), MaxFALL: UInt32(clamping: l.maxFrameAverage))
            try HDRMetadata.add(value, as: AV_PKT_DATA_CONTENT_LIGHT_LEVEL, to: stream, path: path)
        }
    }

    private static func add<T>(_ value: T, as type: AVPacketSideDataType, to stream: UnsafeMutablePointer<AVStream>, path: String) throws {
        guard let target = av_stream_new_side_data(stream, type, MemoryLayout<T>.size) else {
            throw MediaError(code: onsr_averror(ENOMEM), call: "av_stream_new_side_data", context: path)
        }
        withUnsafeBytes(of: value) { UnsafeMutableRawPointer(target).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}

/// A non-negative number written with at most five decimals, enough for both units, and no trailing zeros (SVT-AV1
/// parses plain decimals).
private func decimal(_ value: Double) -> String {
    let units = Int((value * 100_000).rounded())
    var fraction = String(units % 100_000)
    fraction = String(repeating: "0", count: 5 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(units / 100_000)" + (fraction.isEmpty ? "" : "." + fraction)
}
