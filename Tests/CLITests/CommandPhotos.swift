import Decode
import Foundation
import TestSupport

/// The generated photo folders the training and evaluation commands are run on.
enum CommandPhotos {
    /// Two 120x96 photos of stripes and checkers in `photos/`.
    static func writeSmall(in folder: TemporaryFolder) throws {
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: false)
        for i in 0..<2 {
            var image = RGBImage(width: 120, height: 96)
            for y in 0..<96 { for x in 0..<120 {
                image[0, y, x] = 0.5 + 0.4 * sinf(Float(x + 7 * i) * 0.21)
                image[1, y, x] = 0.5 + 0.4 * cosf(Float(y) * 0.17)
                image[2, y, x] = Float((x / 6 + y / 9 + i) % 2) * 0.8 + 0.1
            } }
            try ImageFile.writePNG(image, to: folder.file("photos/p\(i).png"))
        }
    }

    /// Two striped photos in `large/`, big enough for the estimator's and the corrector's training crops.
    static func writeLarge(in folder: TemporaryFolder) throws {
        try FileManager.default.createDirectory(atPath: folder.file("large"), withIntermediateDirectories: false)
        for i in 0..<2 {
            var image = RGBImage(width: 176, height: 168)
            for y in 0..<168 { for x in 0..<176 { image[i, y, x] = Float((x / 5 + y / 7) % 2) * 0.8 + 0.1 } }
            try ImageFile.writePNG(image, to: folder.file("large/l\(i).png"))
        }
    }
}
