import CFFmpeg
import Foundation

/// Names of numbered picture sequences (`frame_%04d.png`), which FFmpeg's image2 muxer and demuxer read as one
/// picture per frame.
public enum PictureSequence {
    /// True when `name` holds a frame-number pattern (`frame_%04d.png`, `%d.jpg`).
    public static func isPattern(_ name: String) -> Bool { av_filename_number_test(name) != 0 }

    /// The file `pattern` gives frame `number`, nil when it is no such pattern.
    public static func file(_ pattern: String, number: Int) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard av_get_frame_filename2(&buffer, Int32(buffer.count), pattern, Int32(number), 0) == 0 else { return nil }
        return String(cString: buffer)
    }

    /// The first picture of an input sequence, found as FFmpeg's image2 demuxer looks for it (numbers 0 to 4), nil
    /// when none of them exists.
    public static func firstInputFile(_ pattern: String) -> String? {
        (0...4).lazy.compactMap { file(pattern, number: $0) }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
