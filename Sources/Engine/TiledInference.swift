/// Runs an RRDBNet over a large image tile by tile with enough overlap that every output pixel sees the
/// same inputs it would see in whole-image inference, so the result equals whole-image inference while
/// memory is bounded by the tile size. The networks' GEMMs use all cores for each tile.
public struct TiledInference {
    public let network: RRDBNet
    /// Core tile side in input pixels (a multiple of the network's pixel-unshuffle factor).
    public let tile: Int
    /// Context added on every side of a tile, in input pixels.
    public let margin: Int
    /// Element type of the activations (`Precision.resolved`).
    public let precision: ElementType

    /// `margin` defaults to the network's receptive radius, which makes tiling exact.
    public init(network: RRDBNet, tile: Int = 256, margin: Int? = nil, precision: ElementType = .fp32) {
        let unit = TiledInference.alignment(network)
        self.network = network
        self.precision = precision
        self.tile = max(unit, (tile / unit) * unit)
        let wanted = margin ?? TiledInference.receptiveRadius(network)
        self.margin = ((wanted + unit - 1) / unit) * unit
    }

    /// Input pixels per trunk pixel: tiles must start on this grid so pixel-unshuffle blocks line up.
    static func alignment(_ network: RRDBNet) -> Int {
        switch network.scale {
        case 2: return 2
        case 1: return 4
        default: return 1
        }
    }

    /// How far (in input pixels) an output pixel's inputs can lie from it: every 3x3 conv on the trunk adds one
    /// trunk pixel (conv_first, five per dense block, conv_body), the upsampling tail adds less than two more,
    /// and pixel-unshuffle blocks add one trunk pixel of misalignment.
    public static func receptiveRadius(_ network: RRDBNet) -> Int {
        let trunkConvs = 2 + 15 * network.configuration.blocks
        return (trunkConvs + 3) * alignment(network)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw
        let s = network.scale
        if h <= tile + 2 * margin && w <= tile + 2 * margin { return network.infer(x, precision: precision) }
        let oc = network.configuration.channels
        let output = Tensor(shape: [n, oc, h * s, w * s])
        for y0 in stride(from: 0, to: h, by: tile) {
            for x0 in stride(from: 0, to: w, by: tile) {
                let (y1, x1) = (min(y0 + tile, h), min(x0 + tile, w))
                let (cy0, cx0) = (max(0, y0 - margin), max(0, x0 - margin))
                let (cy1, cx1) = (min(h, y1 + margin), min(w, x1 + margin))
                let crop = Tensor(shape: [n, c, cy1 - cy0, cx1 - cx0])
                for plane in 0..<(n * c) {
                    for row in cy0..<cy1 {
                        (crop.data + (plane * (cy1 - cy0) + row - cy0) * (cx1 - cx0))
                            .update(from: x.data + (plane * h + row) * w + cx0, count: cx1 - cx0)
                    }
                }
                let result = network.infer(crop, precision: precision)
                let (rw, ow) = ((cx1 - cx0) * s, w * s)
                for plane in 0..<(n * oc) {
                    for row in (y0 * s)..<(y1 * s) {
                        (output.data + (plane * h * s + row) * ow + x0 * s)
                            .update(from: result.data + (plane * (cy1 - cy0) * s + row - cy0 * s) * rw + (x0 - cx0) * s, count: (x1 - x0) * s)
                    }
                }
            }
        }
        return output
    }
}
