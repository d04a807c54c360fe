/// Closed captions of frames that are dropped (`DropPolicy.drop`), carried on to the next frame that is kept, so that
/// a live run that sheds frames does not shed caption text with them.
///
/// Why this works: a frame's A/53 data is a list of 3-byte `cc_data` packets (CEA-608 byte pairs and CEA-708 DTVCC
/// bytes), and a caption decoder reads them as one stream in order, not tied to a picture. Appending a dropped
/// frame's packets to the next kept frame's keeps that stream whole. The limit is the SEI's 5-bit `cc_count`: at most
/// 31 packets a frame. Padding packets (`cc_valid` clear) carry nothing and go first; past that, the oldest
/// packets are lost, and counted.
public struct ClosedCaptionCarry: Sendable {
    /// Most `cc_data` packets one frame's A/53 data can hold (`cc_count` is 5 bits).
    public static let maxPackets = 31
    /// Packets still waiting for a kept frame.
    public private(set) var pending: [UInt8] = []
    /// Packets with caption data that did not fit into any kept frame.
    public private(set) var lostPackets = 0

    public init() {}

    /// A frame was dropped: its captions wait for the next kept frame.
    public mutating func dropped(_ captions: [UInt8]?) {
        guard let captions else { return }
        pending += Self.meaningful(captions)
    }

    /// A frame is kept: the captions it goes out with, the waiting packets first (nil when there are none).
    public mutating func kept(_ captions: [UInt8]?) -> [UInt8]? {
        guard !pending.isEmpty else { return captions }
        let own = Self.packets(captions ?? [])
        var merged = pending + own
        if merged.count > 3 * Self.maxPackets {
            // Padding carries no text: it makes room first, then the oldest packets go.
            merged = pending + Self.meaningful(own)
            let excess = max(0, merged.count / 3 - Self.maxPackets)
            lostPackets += excess
            merged.removeFirst(3 * excess)
        }
        pending = []
        return merged
    }

    /// Whole packets only: a trailing fragment is not a packet.
    static func packets(_ bytes: [UInt8]) -> [UInt8] { Array(bytes.prefix(bytes.count / 3 * 3)) }

    /// The packets whose `cc_valid` bit (0x04 of the first byte) is set.
    static func meaningful(_ bytes: [UInt8]) -> [UInt8] {
        stride(from: 0, to: bytes.count / 3 * 3, by: 3).filter { bytes[$0] & 0x04 != 0 }.flatMap { bytes[$0..<($0 + 3)] }
    }
}
