import Decode
import TestSupport
import XCTest

/// Demuxer and decoder on a clip ffmpeg makes: stream snapshots, packet flow, end of stream as a state.
final class DemuxerTests: XCTestCase {
    func testSnapshotsAndDecodesEveryFrame() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1", "-f", "lavfi", "-i", "sine=d=1",
                          "-c:v", "libx264", "-c:a", "aac", "-metadata:s:a:0", "language=swe", "-shortest", "clip.mkv"], in: folder.path)
        let demuxer = try Demuxer(path: folder.file("clip.mkv"))
        XCTAssertEqual(demuxer.streams.map(\.kind), [.video, .audio])
        XCTAssertEqual(demuxer.streams[1].language, "swe")
        let video = demuxer.streams[0]
        XCTAssertEqual(video.width, 160)
        XCTAssertEqual(video.pixelFormatName, "yuv420p")
        XCTAssertEqual(demuxer.bestVideoStream, 0)
        let decoder = try Decoder(demuxer: demuxer, streamIndex: 0)
        let packet = try Packet(), frame = try Frame()
        var frames = 0, audioPackets = 0
        func drain() throws { while case .output = try decoder.receive(into: frame) { frames += 1 } }
        while case .packet = try demuxer.read(into: packet) {
            if packet.streamIndex == 0 { try decoder.send(packet); try drain() } else { audioPackets += 1 }
        }
        try decoder.sendEndOfStream()
        try drain()
        XCTAssertEqual(frames, 10)
        XCTAssertGreaterThan(audioPackets, 0)
        if case .endOfStream = try decoder.receive(into: frame) {} else { XCTFail("end of stream is a state after draining") }
    }

    func testOpeningGarbageNamesTheCall() throws {
        XCTAssertThrowsError(try Demuxer(path: "/nonexistent/file.mp4")) { error in
            let media = error as! MediaError
            XCTAssertEqual(media.call, "avformat_open_input")
            XCTAssertTrue(media.isNoSuchFile)
        }
    }
}
