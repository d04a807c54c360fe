import Decode
import Foundation
import Pipeline
import TestSupport
import XCTest

/// Stands in for a learned method: records the order frames arrive in and marks each one.
final class RecordingUpscaler: FrameUpscaler {
    let scale = 2
    let name = "recording"
    var means: [Float] = []
    var failAt: Int?

    func upscale(_ image: RGBImage) throws -> RGBImage {
        if let failAt, means.count == failAt { throw JobError(.other, "upscaler failed on purpose") }
        means.append(image.channelMeans[1])
        let big = InterpolationUpscaler(kernel: .bicubic, scale: 2, name: "bicubic")
        return try big.upscale(image)
    }
}

final class VideoJobTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-job")
        // Brightness rises frame by frame, so the order frames reach the upscaler is visible in their means.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "color=c=black:size=96x64:rate=10:duration=2", "-vf", "format=yuv420p,geq=lum='16+N*10':cb=128:cr=128",
                          "-c:v", "libx264", "-bf", "2", "ramp.mp4"], in: folder.path)
    }

    override func tearDown() { folder.remove() }

    func testFramesArriveInPresentationOrderAndAllAreWritten() throws {
        let upscaler = RecordingUpscaler()
        var events: [JobEvent] = []
        let report = try VideoJob(options: VideoJobOptions(input: folder.file("ramp.mp4"), output: folder.file("out.mp4")),
                                  upscaler: upscaler, events: { events.append($0) }).run()
        XCTAssertEqual(report.frames, 20)
        XCTAssertEqual(upscaler.means.count, 20)
        XCTAssertEqual(upscaler.means, upscaler.means.sorted(), "decoder output reaches the method in presentation order")
        XCTAssertEqual(report.outputSize, [192, 128])
        XCTAssertEqual(events.compactMap { if case .progress(let n, _, _) = $0 { return n } else { return nil } }, Array(1...20))
        XCTAssertEqual(folder.listing(), ["out.mp4", "ramp.mp4"])
    }

    func testAFailingMethodLeavesNoOutput() throws {
        let upscaler = RecordingUpscaler()
        upscaler.failAt = 5
        XCTAssertThrowsError(try VideoJob(options: VideoJobOptions(input: folder.file("ramp.mp4"), output: folder.file("out.mp4")),
                                          upscaler: upscaler).run()) { error in
            XCTAssertEqual((error as? JobError)?.message, "\(self.folder.file("ramp.mp4")): upscaler failed on purpose", "the job names the file")
        }
        XCTAssertEqual(folder.listing(), ["ramp.mp4"])
    }
}
