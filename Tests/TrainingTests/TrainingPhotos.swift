import Decode
import Foundation
import Pipeline
import TestSupport

/// Small synthetic "photos" for the trainers' tests: stripes and checkers that differ per photo, written as PNG
/// into `folder` and read back as a photo set.
enum TrainingPhotos {
    static func make(count: Int, width: Int, height: Int, in folder: TemporaryFolder) throws -> PhotoSet {
        for i in 0..<count {
            var image = RGBImage(width: width, height: height)
            for y in 0..<height { for x in 0..<width {
                image[0, y, x] = 0.5 + 0.4 * sinf(Float(x * (i + 1)) * 0.3)
                image[1, y, x] = 0.5 + 0.4 * cosf(Float(y) * 0.2 + Float(i))
                image[2, y, x] = Float((x / 8 + y / 8 + i) % 2)
            } }
            try ImageFile.writePNG(image, to: folder.file("photo\(i).png"))
        }
        return try PhotoSet(folder: folder.path)
    }
}
