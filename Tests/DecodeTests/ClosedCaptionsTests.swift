import Decode
import TestSupport
import XCTest

/// The A/53 captions FFmpeg's decoder attaches to a frame are read as they were written into the bitstream, and a frame
/// can be given captions of its own.
final class ClosedCaptionsTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-captions") }
    override func tearDown() { folder.remove() }

    func testEachPictureGivesTheCaptionsSplicedIntoIt() throws {
        let written = try CaptionedClip.make("cc.mkv", frames: 6, in: folder.path)
        var read: [[UInt8]?] = []
        try forEachDecodedFrame(of: folder.file("cc.mkv")) { read.append($0.closedCaptions) }
        XCTAssertEqual(read, written)
    }

    func testAFrameTakesAndDropsCaptions() throws {
        let frame = try Frame()
        XCTAssertNil(frame.closedCaptions)
        try frame.setClosedCaptions([0xFC, 0x94, 0x2C])
        XCTAssertEqual(frame.closedCaptions, [0xFC, 0x94, 0x2C])
        try frame.setClosedCaptions([0xFC, 0x80, 0x80, 0xFD, 0x80, 0x80])
        XCTAssertEqual(frame.closedCaptions, [0xFC, 0x80, 0x80, 0xFD, 0x80, 0x80], "replaced, not added to")
        try frame.setClosedCaptions(nil)
        XCTAssertNil(frame.closedCaptions)
    }

    func testWhichEncodersCarryThem() {
        XCTAssertTrue(Frame.encoderCarriesCaptions("libx264"))
        XCTAssertTrue(Frame.encoderCarriesCaptions("mpeg2video"))
        XCTAssertFalse(Frame.encoderCarriesCaptions("libx265"))
        XCTAssertFalse(Frame.encoderCarriesCaptions("ffv1"))
    }
}
