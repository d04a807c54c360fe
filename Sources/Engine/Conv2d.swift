import COpenBLAS
import Foundation

/// 2-D convolution (cross-correlation, as PyTorch's `nn.Conv2d`) with square kernels, stride, zero padding
/// and optional bias.
///
/// Layout: input N x Cin x H x W, output N x Cout x H' x W', weight Cout x Cin x K x K (PyTorch's), bias Cout.
/// The work is one GEMM per chunk of output rows: the input is unfolded (im2col) for several samples at once
/// so the GEMM is wide enough to run near BLAS speed; 1x1 convolutions multiply the input in place.
public final class Conv2d: ParameterContainer {
    public var weight: Parameter
    public var bias: Parameter?
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    /// Largest unfolded matrix (floats) a conv builds before splitting its rows into chunks: bounds memory
    /// on large frames while keeping GEMMs wide.
    public static var chunkBudget = 6 << 20

    /// A conv initialised like PyTorch's default (uniform in +-1/sqrt(fan_in)), scaled by `scale`.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int? = nil,
                bias: Bool = true, scale: Float = 1, rng: inout SeededRandom) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding ?? kernelSize / 2
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        let w = Tensor(shape: [outChannels, inChannels, kernelSize, kernelSize])
        for i in 0..<w.count { w[i] = scale * bound * (2 * rng.uniform() - 1) }
        weight = Parameter(w)
        if bias {
            let b = Tensor(shape: [outChannels])
            for i in 0..<b.count { b[i] = scale * bound * (2 * rng.uniform() - 1) }
            self.bias = Parameter(b)
        }
    }

    public func namedParameters() -> [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    func geometry(_ input: FeatureMap) -> ConvGeometry {
        precondition(input.c == inChannels, "conv expects \(inChannels) input channels, got \(input.c)")
        return ConvGeometry(inChannels: inChannels, height: input.h, width: input.w, kernel: kernelSize, stride: stride, padding: padding)
    }

    /// Output height and width for an input of `height` x `width`.
    public func outputSize(height: Int, width: Int) -> (Int, Int) {
        ((height + 2 * padding - kernelSize) / stride + 1, (width + 2 * padding - kernelSize) / stride + 1)
    }

    /// Forward pass into a new tensor.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, _, h, w) = x.nchw
        let (oh, ow) = outputSize(height: h, width: w)
        let y = Tensor(shape: [n, outChannels, oh, ow])
        forward(x.map, into: y.map)
        return y
    }

    /// Splits `totalRows` output rows into chunks whose unfolded matrix fits the budget, at least two per
    /// worker so that both cores stay busy, and runs `body(first, rows)` for each chunk in parallel.
    /// BLAS runs single-threaded inside each chunk (see `BLAS`): no BLAS thread ever spins idle while the
    /// unfolding runs, and unfolding and multiplying proceed on all cores at once.
    static func forEachChunk(totalRows: Int, rowWidth: Int, matrixRows: Int, _ body: (Int, Int, Int) -> Void) {
        let (step, chunks) = chunkPlan(totalRows: totalRows, rowWidth: rowWidth, matrixRows: matrixRows)
        Parallel.each(chunks) { chunk in
            let first = chunk * step
            body(chunk, first, min(step, totalRows - first))
        }
    }

    /// Rows per chunk and the number of chunks for `forEachChunk`.
    static func chunkPlan(totalRows: Int, rowWidth: Int, matrixRows: Int) -> (step: Int, chunks: Int) {
        BLAS.configure()
        let fitting = max(1, chunkBudget / max(1, matrixRows * rowWidth))
        let spread = max(1, (totalRows + 2 * Parallel.workers - 1) / (2 * Parallel.workers))
        let step = min(fitting, spread)
        return (step, (totalRows + step - 1) / step)
    }

    /// Forward pass writing into `output` (which may be a channel slice of a larger buffer).
    public func forward(_ input: FeatureMap, into output: FeatureMap) {
        let g = geometry(input)
        precondition(output.n == input.n && output.c == outChannels && output.h == g.outHeight && output.w == g.outWidth,
                     "conv output must be \(input.n)x\(outChannels)x\(g.outHeight)x\(g.outWidth)")
        let plane = g.outHeight * g.outWidth
        if g.isPointwise {
            BLAS.configure()
            Parallel.each(input.n) { n in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outChannels), Int32(plane), Int32(inChannels),
                            1, weight.value.data, Int32(inChannels), input.sample(n), Int32(input.planeSize),
                            0, output.sample(n), Int32(plane))
                addBias(output.sample(n), columns: plane, stride: plane)
            }
            return
        }
        Conv2d.forEachChunk(totalRows: input.n * g.outHeight, rowWidth: g.outWidth, matrixRows: max(g.patchSize, outChannels)) { _, first, rows in
            let scratch = Scratch.current
            let columns = rows * g.outWidth
            let unfolded = scratch.buffer(0, count: g.patchSize * columns)
            Unfold.im2col(input, g, firstRow: first, rows: rows, into: unfolded)
            Conv2d.multiplyChunk(weight.value.data, rows: outChannels, inner: g.patchSize, unfolded: unfolded, firstRow: first,
                                 chunkRows: rows, into: output, accumulate: false) { addBias($0, columns: columns, stride: $1) }
        }
    }

    /// dX += conv(dY, W'), W'[ci, co, ky, kx] = W[co, ci, K-1-ky, K-1-kx], same padding.
    private func accumulateInputGradient(_ gradOutput: FeatureMap, into gradInput: FeatureMap) {
        let k2 = kernelSize * kernelSize
        let flipped = Tensor(shape: [inChannels, outChannels * k2])
        let w = weight.value.data
        for co in 0..<outChannels {
            for ci in 0..<inChannels {
                let source = w + (co * inChannels + ci) * k2
                let target = flipped.data + (ci * outChannels + co) * k2
                for i in 0..<k2 { target[i] = source[k2 - 1 - i] }
            }
        }
        let g = ConvGeometry(inChannels: outChannels, height: gradOutput.h, width: gradOutput.w, kernel: kernelSize, stride: 1, padding: padding)
        Conv2d.forEachChunk(totalRows: gradOutput.n * g.outHeight, rowWidth: g.outWidth, matrixRows: max(g.patchSize, inChannels)) { _, first, rows in
            let scratch = Scratch.current
            let columns = rows * g.outWidth
            let unfolded = scratch.buffer(0, count: g.patchSize * columns)
            Unfold.im2col(gradOutput, g, firstRow: first, rows: rows, into: unfolded)
            Conv2d.multiplyChunk(flipped.data, rows: inChannels, inner: g.patchSize, unfolded: unfolded, firstRow: first,
                                 chunkRows: rows, into: gradInput, accumulate: true)
        }
    }

    /// Multiplies `a` (rows x inner) by an unfolded chunk (inner x chunkRows * width) into output rows
    /// [firstRow, firstRow + chunkRows) of `map` (added when `accumulate`). Inside one sample the GEMM writes
    /// straight into the map; across samples it goes through a dense matrix that is scattered. `finish`
    /// sees the product (pointer, row stride) before it lands, for the bias.
    private static func multiplyChunk(_ a: UnsafePointer<Float>, rows: Int, inner: Int, unfolded: UnsafePointer<Float>,
                                      firstRow: Int, chunkRows: Int, into map: FeatureMap, accumulate: Bool,
                                      finish: (UnsafeMutablePointer<Float>, Int) -> Void = { _, _ in }) {
        let columns = chunkRows * map.w
        let oy = firstRow % map.h
        if oy + chunkRows <= map.h {
            let target = map.sample(firstRow / map.h) + oy * map.w
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(columns), Int32(inner),
                        1, a, Int32(inner), unfolded, Int32(columns), accumulate ? 1 : 0, target, Int32(map.planeSize))
            finish(target, map.planeSize)
        } else {
            let product = Scratch.current.buffer(1, count: rows * columns)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(columns), Int32(inner),
                        1, a, Int32(inner), unfolded, Int32(columns), 0, product, Int32(columns))
            finish(product, columns)
            Unfold.scatter(product, outHeight: map.h, outWidth: map.w, firstRow: firstRow, rows: chunkRows, into: map, accumulate: accumulate)
        }
    }

    private func addBias(_ matrix: UnsafeMutablePointer<Float>, columns: Int, stride: Int) {
        guard let bias else { return }
        for c in 0..<outChannels {
            let value = bias.value[c]
            let row = matrix + c * stride
            for i in 0..<columns { row[i] += value }
        }
    }

    /// Backward pass: accumulates the weight and bias gradients (when they require it) and, when
    /// `gradInput` is given, adds the input gradient into it. `input` is the forward pass's input.
    public func backward(input: FeatureMap, gradOutput: FeatureMap, gradInput: FeatureMap?) {
        let g = geometry(input)
        let trainWeight = weight.requiresGrad
        let trainBias = bias?.requiresGrad ?? false
        precondition(gradOutput.c == outChannels && gradOutput.h == g.outHeight && gradOutput.w == g.outWidth, "conv gradient shape")
        // Stride-1 "same" convolutions take their input gradient as a convolution of the output gradient
        // with the flipped, transposed kernel: its unfolded matrix has Cout*K*K rows instead of Cin*K*K
        // (6x fewer in dense blocks) and it accumulates straight into the input gradient, with no col2im.
        let transposedGradient = gradInput != nil && stride == 1 && 2 * padding == kernelSize - 1
        if let gradInput, transposedGradient { accumulateInputGradient(gradOutput, into: gradInput) }
        let foldGradient = gradInput != nil && !transposedGradient
        guard trainWeight || trainBias || foldGradient else { return }
        // Chunks run in parallel: each accumulates its own partial weight and bias gradients, summed after.
        let totalRows = input.n * g.outHeight
        let partialSize = outChannels * g.patchSize + outChannels
        let chunks = Conv2d.chunkPlan(totalRows: totalRows, rowWidth: g.outWidth, matrixRows: max(g.patchSize, outChannels)).chunks
        let partials = Tensor(shape: [chunks, partialSize])
        Conv2d.forEachChunk(totalRows: totalRows, rowWidth: g.outWidth, matrixRows: max(g.patchSize, outChannels)) { chunk, first, rows in
            let scratch = Scratch.current
            let columns = rows * g.outWidth
            let partial = partials.data + chunk * partialSize
            let dY = scratch.buffer(1, count: outChannels * columns)
            Unfold.gather(gradOutput, outHeight: g.outHeight, outWidth: g.outWidth, firstRow: first, rows: rows, into: dY)
            let unfolded = scratch.buffer(0, count: g.patchSize * columns)
            if trainWeight || foldGradient { Unfold.im2col(input, g, firstRow: first, rows: rows, into: unfolded) }
            if trainBias {
                let biasPart = partial + outChannels * g.patchSize
                for c in 0..<outChannels {
                    var total: Float = 0
                    let row = dY + c * columns
                    for i in 0..<columns { total += row[i] }
                    biasPart[c] = total
                }
            }
            if trainWeight {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outChannels), Int32(g.patchSize), Int32(columns),
                            1, dY, Int32(columns), unfolded, Int32(columns), 0, partial, Int32(g.patchSize))
            }
            if let gradInput, foldGradient {
                // The unfolded input is no longer needed: its buffer takes the unfolded input gradient. Chunks of
                // strided convolutions can touch the same input rows, so folding back is serialised.
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(g.patchSize), Int32(columns), Int32(outChannels),
                            1, weight.value.data, Int32(g.patchSize), dY, Int32(columns), 0, unfolded, Int32(columns))
                Conv2d.foldLock.lock()
                Unfold.col2im(unfolded, g, firstRow: first, rows: rows, into: gradInput)
                Conv2d.foldLock.unlock()
            }
        }
        if trainWeight {
            let target = weight.gradient()
            for slot in 0..<partials.shape[0] {
                let part = partials.data + slot * partialSize
                for i in 0..<target.count { target[i] += part[i] }
            }
        }
        if trainBias, let target = bias?.gradient() {
            for slot in 0..<partials.shape[0] {
                let part = partials.data + slot * partialSize + outChannels * g.patchSize
                for i in 0..<outChannels { target[i] += part[i] }
            }
        }
    }

    private static let foldLock = NSLock()
}
