import Decode

/// Decodes every frame of stream `stream` of the file at `path` with FFmpeg's decoder (one thread) and hands each to
/// `body`, in decoding order, the end of the stream drained.
public func forEachDecodedFrame(of path: String, stream: Int = 0, exportQuantisers: Bool = false, _ body: (Frame) throws -> Void) throws {
    let demuxer = try Demuxer(path: path)
    let decoder = try Decoder(demuxer: demuxer, streamIndex: stream, threads: 1, exportQuantisers: exportQuantisers)
    let packet = try Packet(), frame = try Frame()
    func drain() throws { while case .output = try decoder.receive(into: frame) { try body(frame) } }
    while case .packet = try demuxer.read(into: packet) {
        guard packet.streamIndex == stream else { continue }
        try decoder.send(packet)
        try drain()
    }
    try decoder.sendEndOfStream()
    try drain()
}
