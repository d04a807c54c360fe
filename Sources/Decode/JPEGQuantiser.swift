import Foundation

/// The quantiser a JPEG file was coded with, read from its luma quantisation table (the DQT segment), in the
/// units of FFmpeg's `mjpeg` encoder's `-qscale:v`, so that the coding can be reproduced with that encoder.
///
/// FFmpeg's encoder writes the MPEG-1 default intra matrix scaled by qscale / 8 (the DC step stays 8); other
/// encoders (libjpeg's quality scaling of the Annex K tables) write other matrices, which this maps to the qscale
/// whose table has the same mean AC step: the same coarseness on average, not the same table.
/// libavcodec's JPEG decoder exports no quantisers, hence the file is read here.
public enum JPEGQuantiser {
    /// The mean AC step of FFmpeg's mjpeg table at qscale 8 (the MPEG-1 default intra matrix, entries 1-63).
    static let meanStepAtQscale8 = 2106.0 / 63

    /// The mjpeg qscale (1-31) equivalent to the file's first luma table; nil where the file is no baseline /
    /// progressive JPEG with a quantisation table before its first scan.
    public static func qscale(path: String) -> Double? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return qscale(jpeg: [UInt8](data))
    }

    /// As `qscale(path:)`, for the bytes of a JPEG file.
    public static func qscale(jpeg bytes: [UInt8]) -> Double? {
        guard let table = lumaTable(bytes) else { return nil }
        let meanStep = Double(table.dropFirst().reduce(0, +)) / 63
        return min(max(8 * meanStep / meanStepAtQscale8, 1), 31)
    }

    /// The 64 entries of quantisation table 0 (zigzag order), from the segments before the first scan.
    static func lumaTable(_ bytes: [UInt8]) -> [Int]? {
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var index = 2
        while index + 4 <= bytes.count, bytes[index] == 0xFF {
            let marker = bytes[index + 1]
            // Fill bytes and markers without a length (RSTn, TEM) carry no segment.
            if marker == 0xFF { index += 1; continue }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { index += 2; continue }
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            let end = index + 2 + length
            guard length >= 2, end <= bytes.count else { return nil }
            if marker == 0xDA { return nil }  // start of scan: no table came before it
            if marker == 0xDB {
                var position = index + 4
                while position < end {
                    let precision = bytes[position] >> 4, destination = bytes[position] & 0x0F
                    let size = precision == 0 ? 64 : 128
                    guard position + 1 + size <= end else { return nil }
                    let entries = (0..<64).map { k in
                        precision == 0 ? Int(bytes[position + 1 + k])
                            : Int(bytes[position + 1 + 2 * k]) << 8 | Int(bytes[position + 2 + 2 * k])
                    }
                    if destination == 0 { return entries }
                    position += 1 + size
                }
            }
            index = end
        }
        return nil
    }
}
