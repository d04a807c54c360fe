import Foundation

/// A small H.264 clip whose every picture carries closed captions, written byte by byte: FFmpeg 5.1 has no way to
/// put captions into a stream from the command line, so an SEI NAL unit (ITU-T T.35 user data, ATSC A/53 `GA94`
/// `cc_data`) is spliced in after each access unit delimiter of an x264 stream. The bytes each picture carries are
/// known here, independently of the code under test.
public enum CaptionedClip {
    /// Writes `name` (Matroska, 96x64, 25 fps, `frames` pictures without B-frames) into `folder` and returns, in
    /// presentation order, the A/53 `cc_data` triplets of each picture, as FFmpeg's decoder attaches them to frames.
    @discardableResult
    public static func make(_ name: String, frames: Int, in folder: String) throws -> [[UInt8]] {
        // Picture p's caption bytes run up to 0x71 + p, which must stay a byte for every packet to be unique.
        precondition(frames <= 0xFF - 0x71 + 1, "at most 143 captioned pictures")
        let raw = "\(name).h264"
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", String(frames), "-c:v", "libx264",
                          "-bf", "0", "-x264-params", "aud=1", "-f", "h264", raw], in: folder)
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(raw))))
        let delimiter: [UInt8] = [0, 0, 1, 9]
        var spliced: [UInt8] = [], captions: [[UInt8]] = [], copied = 0, index = 0
        while index + delimiter.count < plain.count {
            guard Array(plain[index..<index + delimiter.count]) == delimiter else { index += 1; continue }
            // The delimiter's NAL unit is its header and one byte (primary_pic_type and the stop bit).
            let after = index + delimiter.count + 1
            spliced += plain[copied..<after]
            let picture = UInt8(captions.count)
            // Two CEA-608 field-1 pairs per picture; no zero bytes, so no emulation prevention is needed.
            let triplets: [UInt8] = [0xFC, 0x41 + picture, 0x61 + picture, 0xFC, 0x51 + picture, 0x71 + picture]
            let payload: [UInt8] = [0xB5, 0x00, 0x31] + Array("GA94".utf8) + [0x03, 0x40 | 2, 0xFF] + triplets + [0xFF]
            spliced += [0, 0, 0, 1, 0x06, 0x04, UInt8(payload.count)] + payload + [0x80]
            captions.append(triplets)
            copied = after
            index = after
        }
        spliced += plain[copied...]
        guard captions.count == frames else { throw FixtureError("found \(captions.count) access units for \(frames) frames") }
        try Data(spliced).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(raw)))
        try Shell.ffmpeg(["-fflags", "+genpts", "-r", "25", "-i", raw, "-c", "copy", name], in: folder)
        return captions
    }
}
