import Decode

/// Estimates the standard deviation of white noise in a picture from its flattest regions.
///
/// Immerkær's operator (1996): the mask [1 -2 1; -2 4 -2; 1 -2 1] is the difference of two Laplacians, so it
/// cancels every image structure up to second order and leaves 6σ·√(2/π) of mean absolute response per pixel
/// for Gaussian noise of σ. Edges and texture still respond, so the picture is cut into 16 x 16 blocks, each
/// block gets its own estimate, and the estimate is the 25th percentile of the blocks': the flatter quarter of
/// a picture is structure-free in video and photographs alike. For pure noise the block estimates spread about
/// σ by ~5% (196 responses a block), which puts the 25th percentile 3.4% low; that is corrected.
/// Works on the BT.601 luma in 8-bit code values; returns σ in the same units.
public enum NoiseEstimate {
    static let block = 16
    static let percentile = 0.25
    static let percentileCorrection = 1.035

    /// σ of the noise in `image`'s luma, in 8-bit code values; nil for pictures smaller than one block.
    public static func sigma(of image: RGBImage) -> Double? {
        sigma(luma: image.luma.map { $0 * 255 }, width: image.width, height: image.height)
    }

    /// σ of the noise in a plane (`width * height`, row-major), in the plane's own units.
    public static func sigma(luma: [Float], width: Int, height: Int) -> Double? {
        precondition(luma.count == width * height, "plane of \(luma.count) values for \(width)x\(height)")
        let blocksX = (width - 2) / block, blocksY = (height - 2) / block
        guard blocksX > 0, blocksY > 0 else { return nil }
        var estimates: [Double] = []
        estimates.reserveCapacity(blocksX * blocksY)
        let scale = (Double.pi / 2).squareRoot() / 6
        luma.withUnsafeBufferPointer { p in
            for by in 0..<blocksY {
                for bx in 0..<blocksX {
                    var sum = 0.0
                    for y in (1 + by * block)..<(1 + (by + 1) * block) {
                        let up = (y - 1) * width, mid = y * width, down = (y + 1) * width
                        for x in (1 + bx * block)..<(1 + (bx + 1) * block) {
                            let corners = p[up + x - 1] + p[up + x + 1] + p[down + x - 1] + p[down + x + 1]
                            let sides = p[up + x] + p[mid + x - 1] + p[mid + x + 1] + p[down + x]
                            sum += Double(abs(corners - 2 * sides + 4 * p[mid + x]))
                        }
                    }
                    estimates.append(scale * sum / Double(block * block))
                }
            }
        }
        estimates.sort()
        let index = min(estimates.count - 1, Int(Double(estimates.count - 1) * percentile))
        return estimates[index] * percentileCorrection
    }
}
