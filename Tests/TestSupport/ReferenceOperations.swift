import Engine

/// NCHW reference implementations of the operations the engine runs channels last (`ChannelsLast`): the
/// tests check these against finite differences and the engine's ops against these.
/// Element-wise operations with their backward passes, on feature maps (possibly channel slices).
public enum Elementwise {
    /// LeakyReLU in place: x < 0 becomes slope * x (BasicSR uses slope 0.2).
    public static func leakyReLU(_ map: FeatureMap, slope: Float = 0.2) {
        forEachRun(map) { p, count in
            for i in 0..<count { let v = p[i]; p[i] = v < 0 ? v * slope : v }
        }
    }

    /// Backward of an in-place LeakyReLU, given its output: since slope > 0, the output's sign is the
    /// input's, so the activation needs no saved input.
    public static func leakyReLUBackward(output: FeatureMap, grad: FeatureMap, slope: Float = 0.2) {
        precondition(output.c == grad.c && output.n == grad.n && output.planeSize == grad.planeSize, "leakyReLU gradient shape")
        for n in 0..<output.n {
            let y = output.sample(n), g = grad.sample(n)
            for i in 0..<(output.c * output.planeSize) where y[i] < 0 { g[i] *= slope }
        }
    }

    /// `target = target * targetScale + source * sourceScale`, sample by sample.
    public static func axpby(_ source: FeatureMap, _ sourceScale: Float, into target: FeatureMap, _ targetScale: Float = 1) {
        precondition(source.c == target.c && source.n == target.n && source.planeSize == target.planeSize, "axpby shape")
        for n in 0..<source.n {
            let s = source.sample(n), t = target.sample(n)
            for i in 0..<(source.c * source.planeSize) { t[i] = t[i] * targetScale + s[i] * sourceScale }
        }
    }

    /// Copies `source` into `target` (same shape).
    public static func copy(_ source: FeatureMap, into target: FeatureMap) {
        precondition(source.c == target.c && source.n == target.n && source.planeSize == target.planeSize, "copy shape")
        for n in 0..<source.n { target.sample(n).update(from: source.sample(n), count: source.c * source.planeSize) }
    }

    private static func forEachRun(_ map: FeatureMap, _ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
        for n in 0..<map.n { body(map.sample(n), map.c * map.planeSize) }
    }
}

/// Resolution changes without weights: nearest-neighbour x2 upsampling and pixel (un)shuffle, PyTorch's
/// `F.interpolate(mode="nearest")`, `F.pixel_shuffle` and `F.pixel_unshuffle`.
public enum Resize {
    /// N x C x H x W -> N x C x 2H x 2W, each pixel repeated in a 2x2 block.
    public static func upsampleNearest2x(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = x.nchw
        let y = Tensor(shape: [n, c, 2 * h, 2 * w])
        Parallel.rows(n * c * h) { row in
            let source = x.data + row * w
            let top = y.data + row * 4 * w, bottom = top + 2 * w
            for i in 0..<w { let v = source[i]; top[2 * i] = v; top[2 * i + 1] = v }
            bottom.update(from: top, count: 2 * w)
        }
        return y
    }

    /// Backward of `upsampleNearest2x`: each input pixel gets the sum of its 2x2 block.
    public static func upsampleNearest2xBackward(_ grad: Tensor) -> Tensor {
        let (n, c, h2, w2) = grad.nchw
        let (h, w) = (h2 / 2, w2 / 2)
        let result = Tensor(shape: [n, c, h, w])
        Parallel.rows(n * c * h) { row in
            let top = grad.data + row * 2 * w2, bottom = top + w2
            let target = result.data + row * w
            for i in 0..<w { target[i] = top[2 * i] + top[2 * i + 1] + bottom[2 * i] + bottom[2 * i + 1] }
        }
        return result
    }

    /// N x C x H x W -> N x C*r*r x H/r x W/r: output channel c*r*r + i*r + j holds pixels (r*y + i, r*x + j).
    public static func pixelUnshuffle(_ x: Tensor, _ r: Int) -> Tensor {
        let (n, c, h, w) = x.nchw
        precondition(h % r == 0 && w % r == 0, "pixel unshuffle by \(r) needs sizes divisible by \(r), got \(h)x\(w)")
        let y = Tensor(shape: [n, c * r * r, h / r, w / r])
        shuffle(small: y, large: x, r: r, toSmall: true)
        return y
    }

    /// N x C*r*r x H x W -> N x C x rH x rW, the inverse of `pixelUnshuffle` (and its backward).
    public static func pixelShuffle(_ x: Tensor, _ r: Int) -> Tensor {
        let (n, cr, h, w) = x.nchw
        precondition(cr % (r * r) == 0, "pixel shuffle by \(r) needs channels divisible by \(r * r), got \(cr)")
        let y = Tensor(shape: [n, cr / (r * r), h * r, w * r])
        shuffle(small: x, large: y, r: r, toSmall: false)
        return y
    }

    private static func shuffle(small: Tensor, large: Tensor, r: Int, toSmall: Bool) {
        let (n, c, h, w) = large.nchw
        let (sh, sw) = (h / r, w / r)
        for s in 0..<n {
            for ch in 0..<c {
                for i in 0..<r {
                    for j in 0..<r {
                        let smallPlane = small.data + ((s * c + ch) * r * r + i * r + j) * sh * sw
                        let largePlane = large.data + (s * c + ch) * h * w
                        for y in 0..<sh {
                            let lr = largePlane + (y * r + i) * w + j
                            let sr = smallPlane + y * sw
                            if toSmall { for x in 0..<sw { sr[x] = lr[x * r] } } else { for x in 0..<sw { lr[x * r] = sr[x] } }
                        }
                    }
                }
            }
        }
    }
}
