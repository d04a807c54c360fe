import Decode

/// Motion compensation for a multi-frame Gr's neighbours: each block of the middle frame is matched, to the whole
/// pixel, in the neighbour, and the neighbour is rebuilt from the matched blocks, so that the network fuses frames
/// whose content lies within a pixel of the middle one's instead of having to find it.
///
/// Why whole pixels and blocks: what a neighbour adds is a sampling phase and a coding error the middle frame lacks;
/// both survive an alignment to the pixel (the sub-pixel rest is the phase), and block matching on luma is what the
/// codecs' own motion search does, cheap enough for every frame. A displacement costs a little (`bias` per pixel of
/// length, against the block's mean absolute difference), so that flat or noisy blocks stay where they are rather
/// than follow noise.
public struct BlockAlignment: Sendable, Equatable, Codable {
    /// Block side in pixels.
    public let block: Int
    /// Largest displacement searched on each axis, in pixels.
    public let search: Int
    /// Cost of a displacement, per pixel of its length (L1), in mean absolute luma difference ([0, 1] units).
    public let bias: Float

    public init(block: Int = 8, search: Int = 4, bias: Float = 0.002) {
        precondition(block > 0 && search >= 0, "block must be positive and search non-negative")
        self.block = block
        self.search = search
        self.bias = bias
    }

    /// The name a model's metadata gives this alignment (`alignment`), and back.
    public var metadataValue: String { "block\(block)-search\(search)" }
    public init?(metadataValue: String) {
        let parts = metadataValue.split(separator: "-")
        guard parts.count == 2, parts[0].hasPrefix("block"), parts[1].hasPrefix("search"),
              let block = Int(parts[0].dropFirst(5)), let search = Int(parts[1].dropFirst(6)), block > 0, search >= 0 else { return nil }
        self.init(block: block, search: search)
    }

    /// `neighbour` (planar RGB, `width` x `height`) rebuilt block by block from where each block of `middle` is found
    /// in it; samples outside the picture are the edge's.
    public func align(_ neighbour: [Float], to middle: [Float], width: Int, height: Int) -> [Float] {
        let plane = width * height
        precondition(neighbour.count == 3 * plane && middle.count == 3 * plane, "frames must be planar RGB of one size")
        let lumaN = luma(neighbour, plane: plane), lumaM = luma(middle, plane: plane)
        var result = [Float](repeating: 0, count: 3 * plane)
        for top in stride(from: 0, to: height, by: block) {
            for left in stride(from: 0, to: width, by: block) {
                let (h, w) = (min(block, height - top), min(block, width - left))
                var best = (dx: 0, dy: 0, cost: Float.infinity)
                for dy in -search...search {
                    for dx in -search...search {
                        var sad: Float = 0
                        for y in top..<(top + h) {
                            let sy = min(max(y + dy, 0), height - 1)
                            for x in left..<(left + w) {
                                sad += abs(lumaM[y * width + x] - lumaN[sy * width + min(max(x + dx, 0), width - 1)])
                            }
                        }
                        let cost = sad / Float(h * w) + bias * Float(abs(dx) + abs(dy))
                        if cost < best.cost { best = (dx, dy, cost) }
                    }
                }
                for c in 0..<3 {
                    for y in top..<(top + h) {
                        let sy = min(max(y + best.dy, 0), height - 1)
                        for x in left..<(left + w) {
                            result[c * plane + y * width + x] = neighbour[c * plane + sy * width + min(max(x + best.dx, 0), width - 1)]
                        }
                    }
                }
            }
        }
        return result
    }

    private func luma(_ rgb: [Float], plane: Int) -> [Float] {
        (0..<plane).map { 0.299 * rgb[$0] + 0.587 * rgb[plane + $0] + 0.114 * rgb[2 * plane + $0] }
    }
}
