import Decode
import TestSupport
import XCTest

/// HDR10 metadata is read where FFmpeg puts it (the first frame for HEVC's SEI, the stream for a container's) and
/// written in each encoder's own parameter syntax.
final class HDRMetadataTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-hdr") }
    override func tearDown() { folder.remove() }

    /// BT.2020 primaries and D65 in 0.00002 units, 1,000 cd/m² peak and 0.0001 black in 0.0001 units, as x265 takes them.
    static let display = HDRMetadata.MasteringDisplay(red: [35400, 14600], green: [8500, 39850], blue: [6550, 2300],
                                                      whitePoint: [15635, 16450], maxLuminance: 10_000_000, minLuminance: 1)
    static let x265Display = "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1)"

    func testAnHEVCClipsFirstFrameCarriesWhatX265WasGiven() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "3", "-pix_fmt", "yuv420p10le",
                          "-c:v", "libx265", "-x265-params", "log-level=none:master-display=\(Self.x265Display):max-cll=1000,400",
                          "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "hdr.mp4"], in: folder.path)
        let demuxer = try Demuxer(path: folder.file("hdr.mp4"))
        let video = demuxer.streams[0]
        XCTAssertTrue(video.colour.isHDR)
        XCTAssertNil(video.hdr, "x265 writes SEI only; MP4 states nothing")
        let read = try XCTUnwrap(HDRMetadata.firstFrame(of: demuxer, stream: 0))
        XCTAssertEqual(read.masteringDisplay, Self.display)
        XCTAssertEqual(read.contentLight, HDRMetadata.ContentLight(maxContent: 1000, maxFrameAverage: 400))
        XCTAssertEqual(read.source, "frame")
    }

    func testAnSDRClipHasNone() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "3", "-c:v", "libx264", "sdr.mp4"], in: folder.path)
        let demuxer = try Demuxer(path: folder.file("sdr.mp4"))
        XCTAssertFalse(demuxer.streams[0].colour.isHDR)
        XCTAssertNil(demuxer.streams[0].hdr)
        XCTAssertNil(HDRMetadata.firstFrame(of: demuxer, stream: 0))
    }

    func testEachEncoderGetsItsOwnSyntax() throws {
        let both = HDRMetadata(masteringDisplay: Self.display, contentLight: .init(maxContent: 1000, maxFrameAverage: 400), source: "frame")
        XCTAssertEqual(both.encoderParameters(for: "libx265")?.key, "x265-params")
        XCTAssertEqual(both.encoderParameters(for: "libx265")?.value, "master-display=\(Self.x265Display):max-cll=1000,400")
        XCTAssertEqual(both.encoderParameters(for: "libx264")?.value, "mastering-display=\(Self.x265Display):cll=1000,400")
        // SVT-AV1 reads fractions and cd/m².
        XCTAssertEqual(both.encoderParameters(for: "libsvtav1")?.value,
                       "mastering-display=G(0.17,0.797)B(0.131,0.046)R(0.708,0.292)WP(0.3127,0.329)L(1000,0.0001):content-light=1000,400")
        XCTAssertNil(both.encoderParameters(for: "ffv1"))
        let lightOnly = HDRMetadata(masteringDisplay: nil, contentLight: .init(maxContent: 600, maxFrameAverage: 0), source: "stream")
        XCTAssertEqual(lightOnly.encoderParameters(for: "libx265")?.value, "max-cll=600,0")
    }

    func testTheUsersOwnParametersComeLastAndWin() {
        var settings = EncoderSettings()
        settings.codec = "libx265"
        settings.options = [(key: "x265-params", value: "max-cll=0,0"), (key: "g", value: "12")]
        settings.prependParameters("x265-params", "max-cll=1000,400")
        XCTAssertEqual(settings.options.map { "\($0.key)=\($0.value)" }, ["x265-params=max-cll=1000,400:max-cll=0,0", "g=12"])
        var plain = EncoderSettings()
        plain.prependParameters("x264-params", "cll=1,1")
        XCTAssertEqual(plain.options.map { "\($0.key)=\($0.value)" }, ["x264-params=cll=1,1"])
    }
}
