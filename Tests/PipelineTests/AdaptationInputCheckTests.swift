import Decode
import Foundation
import ONSR
import Pipeline
import TestSupport
import XCTest

/// What ONSR needs from its inputs, checked before any adaptation: frames that hold one LR patch, external
/// photos of which one holds an HR patch; anything less is a data error (exit 65) the job names the file in.
final class AdaptationInputCheckTests: XCTestCase {
    func testFramesSmallerThanAPatchAreADataError() throws {
        let options = AdaptationOptions()
        XCTAssertNoThrow(try AdaptationInputCheck.frame(RGBImage(width: options.patchSize, height: options.patchSize), options: options))
        XCTAssertThrowsError(try AdaptationInputCheck.frame(RGBImage(width: 64, height: options.patchSize - 1), options: options)) { error in
            let tool = error as? JobError
            XCTAssertEqual(tool?.kind, .dataError)
            XCTAssertEqual(tool?.naming("clip.mp4").message.hasPrefix("clip.mp4: ONSR needs frames of at least 32x32"), true)
            XCTAssertEqual(tool?.naming("clip.mp4").naming("clip.mp4").message, tool?.naming("clip.mp4").message, "named once")
        }
    }

    func testExternalPhotosMustHoldAnHRPatchAtTheScale() throws {
        let folder = try TemporaryFolder("onsr-input-check")
        defer { folder.remove() }
        try ImageFile.writePNG(RGBImage(width: 80, height: 80), to: folder.file("small.png"))
        let photos = try PhotoSet(folder: folder.path)
        let options = AdaptationOptions()
        XCTAssertNoThrow(try AdaptationInputCheck.external(photos, options: options, scale: 2), "64x64 HR patches fit in 80x80")
        XCTAssertThrowsError(try AdaptationInputCheck.external(photos, options: options, scale: 4)) { error in
            XCTAssertEqual((error as? JobError)?.kind, .dataError)
            XCTAssertTrue("\(error)".contains("at least 128x128"), "\(error)")
        }
    }
}
