/// Geometry of a 2-D convolution over a `FeatureMap`.
struct ConvGeometry {
    let inChannels: Int, height: Int, width: Int
    let kernel: Int, stride: Int, padding: Int
    let outHeight: Int, outWidth: Int

    init(inChannels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        self.inChannels = inChannels; self.height = height; self.width = width
        self.kernel = kernel; self.stride = stride; self.padding = padding
        outHeight = (height + 2 * padding - kernel) / stride + 1
        outWidth = (width + 2 * padding - kernel) / stride + 1
        precondition(outHeight > 0 && outWidth > 0, "conv \(kernel)x\(kernel)/\(stride) does not fit \(height)x\(width)")
    }

    /// Rows of the unfolded matrix: one per (input channel, ky, kx).
    var patchSize: Int { inChannels * kernel * kernel }
    /// True when the unfolded matrix is the input itself (1x1, stride 1, no padding).
    var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
}

/// Unfolding between feature maps and GEMM operands. A "chunk" is a run of output rows
/// [firstRow, firstRow + rows) in the flattened (sample, output row) space, so one GEMM can cover
/// several samples: column j of a chunk is output pixel (sample, oy, ox) in that order.
enum Unfold {
    /// Writes the patches of `input` for output rows of the chunk into `columns` (patchSize x chunkColumns).
    static func im2col(_ input: FeatureMap, _ g: ConvGeometry, firstRow: Int, rows: Int, into columns: UnsafeMutablePointer<Float>) {
        let chunkColumns = rows * g.outWidth
        Parallel.rows(g.patchSize) { k in
            let ci = k / (g.kernel * g.kernel), ky = (k / g.kernel) % g.kernel, kx = k % g.kernel
            let out = columns + k * chunkColumns
            for r in 0..<rows {
                let flat = firstRow + r
                let n = flat / g.outHeight, oy = flat % g.outHeight
                let target = out + r * g.outWidth
                let iy = oy * g.stride - g.padding + ky
                guard iy >= 0 && iy < g.height else {
                    target.update(repeating: 0, count: g.outWidth)
                    continue
                }
                let source = input.sample(n) + ci * input.planeSize + iy * g.width
                if g.stride == 1 {
                    // Output x maps to input x + kx - padding: one contiguous copy between zero margins.
                    let shift = kx - g.padding
                    let start = max(0, -shift), end = min(g.outWidth, g.width - shift)
                    if start > 0 { target.update(repeating: 0, count: start) }
                    if end > start { (target + start).update(from: source + start + shift, count: end - start) }
                    if end < g.outWidth { (target + max(end, start)).update(repeating: 0, count: g.outWidth - max(end, start)) }
                } else {
                    for ox in 0..<g.outWidth {
                        let ix = ox * g.stride - g.padding + kx
                        target[ox] = (ix >= 0 && ix < g.width) ? source[ix] : 0
                    }
                }
            }
        }
    }

    /// Adds the columns' gradients back onto `gradInput`: the transpose of `im2col`.
    static func col2im(_ columns: UnsafePointer<Float>, _ g: ConvGeometry, firstRow: Int, rows: Int, into gradInput: FeatureMap) {
        let chunkColumns = rows * g.outWidth
        // Each input channel is written only by its own k rows, so channels can run in parallel.
        Parallel.rows(g.inChannels) { ci in
            for k in (ci * g.kernel * g.kernel)..<((ci + 1) * g.kernel * g.kernel) {
                let ky = (k / g.kernel) % g.kernel, kx = k % g.kernel
                let source = columns + k * chunkColumns
                for r in 0..<rows {
                    let flat = firstRow + r
                    let n = flat / g.outHeight, oy = flat % g.outHeight
                    let iy = oy * g.stride - g.padding + ky
                    guard iy >= 0 && iy < g.height else { continue }
                    let target = gradInput.sample(n) + ci * gradInput.planeSize + iy * g.width
                    let row = source + r * g.outWidth
                    if g.stride == 1 {
                        let shift = kx - g.padding
                        let start = max(0, -shift), end = min(g.outWidth, g.width - shift)
                        if end > start { for ox in start..<end { target[ox + shift] += row[ox] } }
                    } else {
                        for ox in 0..<g.outWidth {
                            let ix = ox * g.stride - g.padding + kx
                            if ix >= 0 && ix < g.width { target[ix] += row[ox] }
                        }
                    }
                }
            }
        }
    }

    /// Copies a chunk of a feature map (all channels) into a dense channels x chunkColumns matrix.
    static func gather(_ map: FeatureMap, outHeight: Int, outWidth: Int, firstRow: Int, rows: Int, into matrix: UnsafeMutablePointer<Float>) {
        let chunkColumns = rows * outWidth
        forEachSegment(outHeight: outHeight, firstRow: firstRow, rows: rows) { n, oy, count, column in
            for c in 0..<map.c {
                (matrix + c * chunkColumns + column * outWidth)
                    .update(from: map.sample(n) + c * map.planeSize + oy * outWidth, count: count * outWidth)
            }
        }
    }

    /// Copies (or adds, when `accumulate`) a dense channels x chunkColumns matrix into a chunk of a feature map.
    static func scatter(_ matrix: UnsafePointer<Float>, outHeight: Int, outWidth: Int, firstRow: Int, rows: Int,
                        into map: FeatureMap, accumulate: Bool) {
        let chunkColumns = rows * outWidth
        forEachSegment(outHeight: outHeight, firstRow: firstRow, rows: rows) { n, oy, count, column in
            for c in 0..<map.c {
                let target = map.sample(n) + c * map.planeSize + oy * outWidth
                let source = matrix + c * chunkColumns + column * outWidth
                if accumulate {
                    for i in 0..<(count * outWidth) { target[i] += source[i] }
                } else {
                    target.update(from: source, count: count * outWidth)
                }
            }
        }
    }

    /// Splits a chunk into runs of rows that stay inside one sample: (sample, first row, row count, chunk row).
    static func forEachSegment(outHeight: Int, firstRow: Int, rows: Int, _ body: (Int, Int, Int, Int) -> Void) {
        var done = 0
        while done < rows {
            let flat = firstRow + done
            let n = flat / outHeight, oy = flat % outHeight
            let count = min(rows - done, outHeight - oy)
            body(n, oy, count, done)
            done += count
        }
    }
}
