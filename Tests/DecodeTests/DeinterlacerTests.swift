import Decode
import TestSupport
import XCTest

/// The bwdif graph on decoded frames: one frame out per frame in, in order, flagged progressive, and only frames
/// flagged interlaced are changed.
final class DeinterlacerTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws { folder = try TemporaryFolder("onsr-deinterlace") }
    override func tearDown() { folder.remove() }

    /// (interlaced flag, luma plane) of every frame out of the deinterlacer, or straight from the decoder.
    func run(_ file: String, deinterlace: Bool) throws -> [(interlaced: Bool, pts: Int64?, luma: [Int])] {
        let demuxer = try Demuxer(path: folder.file(file))
        let stream = demuxer.streams[0]
        let decoder = try Decoder(demuxer: demuxer, streamIndex: 0, threads: 1)
        let packet = try Packet(), frame = try Frame(), out = try Frame()
        var graph: Deinterlacer?
        var result: [(Bool, Int64?, [Int])] = []
        func keep(_ f: Frame) {
            result.append((f.isInterlaced, f.bestEffortTimestamp ?? f.pts,
                           (0..<f.height).flatMap { y in stride(from: 0, to: f.width, by: 7).map { f.sample(plane: 0, x: $0, y: y) } }))
        }
        func drainGraph() throws { if let graph { while case .output = try graph.receive(into: out) { keep(out) } } }
        func drain() throws {
            while case .output = try decoder.receive(into: frame) {
                if deinterlace {
                    if graph == nil {
                        graph = try Deinterlacer(width: frame.width, height: frame.height, pixelFormat: frame.pixelFormat,
                                                 timeBase: stream.timeBase, sampleAspectRatio: stream.sampleAspectRatio)
                    }
                    try graph!.send(frame)
                    try drainGraph()
                } else {
                    keep(frame)
                }
            }
        }
        while case .packet = try demuxer.read(into: packet) {
            try decoder.send(packet)
            try drain()
        }
        try decoder.sendEndOfStream()
        try drain()
        try graph?.sendEndOfStream()
        try drainGraph()
        return result
    }

    func testInterlacedFramesComeOutProgressiveOnePerFrame() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=50", "-vf", "interlace=scan=tff:lowpass=0", "-frames:v", "8",
                          "-c:v", "libx264", "-flags", "+ildct+ilme", "i.mkv"], in: folder.path)
        let decoded = try run("i.mkv", deinterlace: false)
        let deinterlaced = try run("i.mkv", deinterlace: true)
        XCTAssertEqual(decoded.count, 8)
        XCTAssertTrue(decoded.allSatisfy(\.interlaced), "the fixture's frames are flagged interlaced")
        XCTAssertEqual(deinterlaced.count, 8, "one frame per frame")
        XCTAssertEqual(deinterlaced.map(\.pts), decoded.map(\.pts), "timestamps kept, in order")
        XCTAssertTrue(deinterlaced.allSatisfy { !$0.interlaced })
        XCTAssertNotEqual(deinterlaced[3].luma, decoded[3].luma, "fields were interpolated")
    }

    func testProgressiveFramesPassUnchanged() throws {
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25", "-frames:v", "6", "-c:v", "libx264", "p.mkv"], in: folder.path)
        let decoded = try run("p.mkv", deinterlace: false)
        let passed = try run("p.mkv", deinterlace: true)
        XCTAssertEqual(passed.count, 6)
        XCTAssertEqual(passed.map(\.luma), decoded.map(\.luma), "deint=interlaced leaves progressive frames as they are")
    }
}
