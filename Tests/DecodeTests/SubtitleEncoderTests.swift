import Decode
import TestSupport
import XCTest

/// Text subtitles decode to events and encode into another text codec with their times; each container names the
/// text codec it takes.
final class SubtitleEncoderTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-subtitles")
        try "1\n00:00:00,500 --> 00:00:01,250\nHello\n\n2\n00:00:02,000 --> 00:00:02,400\nWorld\n"
            .write(toFile: folder.file("s.srt"), atomically: true, encoding: .utf8)
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=3", "-i", "s.srt", "-c:v", "libx264", "-c:s", "srt", "s.mkv"],
                         in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func testSubRipBecomesMOVTextWithItsTimes() throws {
        let demuxer = try Demuxer(path: folder.file("s.mkv"))
        let index = try XCTUnwrap(demuxer.streams.firstIndex { $0.kind == .subtitle })
        let decoder = try Decoder(demuxer: demuxer, streamIndex: index, threads: 1)
        XCTAssertTrue(decoder.decodesTextSubtitles)
        let encoder = try SubtitleEncoder(codecName: "mov_text", for: decoder, width: 96, height: 64, globalHeader: true)
        XCTAssertEqual(encoder.timeBase, Rational(1, 1_000_000))
        let packet = try Packet(), encoded = try Packet()
        var events: [(start: Int64, duration: Int64, text: String)] = []
        while case .packet = try demuxer.read(into: packet) {
            guard packet.streamIndex == index, let subtitle = try decoder.decodeSubtitle(packet),
                  try encoder.encode(subtitle, into: encoded) else { continue }
            // MOV text: a 16-bit length, then the text.
            let bytes = encoded.bytes
            events.append((encoded.pts ?? -1, encoded.duration, String(decoding: bytes.dropFirst(2), as: UTF8.self)))
        }
        XCTAssertEqual(events.map(\.start), [500_000, 2_000_000])
        XCTAssertEqual(events.map(\.duration), [750_000, 400_000])
        XCTAssertEqual(events.map(\.text), ["Hello", "World"])
    }

    func testEachContainerNamesItsTextCodec() throws {
        for (name, expected) in [("o.mkv", "ass"), ("o.mp4", "mov_text"), ("o.mov", "mov_text"), ("o.webm", "webvtt"), ("o.avi", nil), ("o.ts", nil)] {
            let muxer = try Muxer(path: folder.file(name), nameForFormat: name)
            XCTAssertEqual(muxer.textSubtitleEncoder(forName: name), expected, name)
        }
    }
}
