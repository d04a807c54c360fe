import Decode
import Foundation
import Pipeline
import TestSupport
import XCTest

final class PhotoSetTests: XCTestCase {
    /// Names sorted naturally for reading, but the held-out photos are picked in byte order, as
    /// scripts/make-train-crops.py picks them (Python's sorted()).
    func testLeavingOutDropsEveryNthPhotoInByteOrder() throws {
        let folder = try TemporaryFolder("onsr-photo-set")
        defer { folder.remove() }
        let names = ["b.png", "A.png", "c10.png", "c9.png", "a.png"]
        for (i, name) in names.enumerated() {
            var image = RGBImage(width: 4, height: 4)
            image[0, 0, 0] = Float(i) / 10
            try ImageFile.writePNG(image, to: folder.file(name))
        }
        let photos = try PhotoSet(folder: folder.path)
        XCTAssertEqual(Set(photos.names), Set(names))
        // Byte order: A.png a.png b.png c10.png c9.png; every second from the first is held out.
        let kept = photos.leavingOut(every: 2)
        XCTAssertEqual(Set(kept.names), ["a.png", "c10.png"])
        XCTAssertEqual(kept.images.count, 2)
        for (name, image) in zip(kept.names, kept.images) {
            let original = photos.images[photos.names.firstIndex(of: name)!]
            XCTAssertEqual(image.pixels, original.pixels, "\(name) keeps its own pixels")
        }
        XCTAssertEqual(Set(photos.leavingOut(every: 3).names), ["a.png", "b.png", "c9.png"])
    }
}
