import Pipeline
import XCTest

final class InputCheckTests: XCTestCase {
    func testPipesAndNetworkURLsAreStreamsFilesAreNot() {
        for stream in ["-", "udp://127.0.0.1:5000", "tcp://host:1234?listen=1", "http://example.com/live.ts"] {
            XCTAssertTrue(InputCheck.isStream(stream), stream)
        }
        for file in ["clip.mp4", "/data/a b.mkv", "file:clip.mp4", "file:///data/clip.mp4", "-clip.mp4"] {
            XCTAssertFalse(InputCheck.isStream(file), file)
        }
    }

    func testOnlyNetworkSourcesAreRealTime() {
        for network in ["udp://127.0.0.1:5000", "tcp://host:1234?listen=1", "srt://host:9000", "rtmp://host/live"] {
            XCTAssertTrue(InputCheck.isNetwork(network), network)
        }
        for waits in ["-", "pipe:0", "clip.mp4", "file:///data/clip.mp4"] {
            XCTAssertFalse(InputCheck.isNetwork(waits), waits)
        }
    }
}
