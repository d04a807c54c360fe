import Decode
import Engine
import ONSR
import Pipeline

/// Training batches for a multi-frame Gr (`--frames`): each sample is one place of a photo seen over `frames`
/// consecutive frames while the camera pans at a steady speed, blurred by one kernel, subsampled, and (for `real`)
/// given noise of its own per frame and coded as one group of pictures, so that the neighbours carry other
/// sampling phases and other coding errors of the same scene. The target is the middle frame's HR patch.
///
/// Why panning only: it is the motion a photo can give without inventing content, and it is what makes the
/// neighbours worth reading (sub-pixel phases the middle frame lacks); a fifth of the samples stand still, as much
/// of real footage does, where only the coding errors differ.
struct MultiFrameBatch {
    let options: TrainingOptions
    let photos: [RGBImage]
    /// Degradation context around each crop, in HR pixels.
    let margin: Int

    /// The largest pan per frame, in HR pixels (at x2, two LR pixels).
    static let largestStep = 4
    /// How far the outermost frame's crop lies from the middle one's, in HR pixels.
    static func reach(_ options: TrainingOptions) -> Int { options.frameCount / 2 * largestStep }

    /// A pan per frame in HR pixels: still a fifth of the time, else each axis uniform in ±`largestStep`.
    static func pan(rng: inout SeededRandom) -> (dx: Int, dy: Int) {
        if rng.uniform() < 0.2 { return (0, 0) }
        return (rng.index(2 * largestStep + 1) - largestStep, rng.index(2 * largestStep + 1) - largestStep)
    }

    /// The crops of one place over the frames: square `side` crops of `image`, the middle one at (`top`, `left`).
    static func frames(of image: RGBImage, top: Int, left: Int, side: Int, count: Int, pan: (dx: Int, dy: Int)) -> [[Float]] {
        (0..<count).map { f in
            let t = f - count / 2
            return image.crop(top: top + t * pan.dy, left: left + t * pan.dx, height: side, width: side)
        }
    }

    /// Stacks per-frame LR batches (each N x 3 x h x w) into N x 3·frames x h x w, oldest first.
    static func stack(_ frames: [Tensor]) -> Tensor {
        let (n, c, h, w) = frames[0].nchw, plane = c * h * w
        let result = Tensor(shape: [n, c * frames.count, h, w])
        for sample in 0..<n {
            for (f, frame) in frames.enumerated() {
                (result.data + (sample * frames.count + f) * plane).update(from: frame.data + sample * plane, count: plane)
            }
        }
        return result
    }

    /// One step's batch: LR N x 3·frames x h x w, HR N x 3 x H x W (the middle frame).
    func make(rng: inout SeededRandom) -> (lr: Tensor, hr: Tensor) {
        let (s, size, count) = (options.scale, options.hrPatch, options.frameCount)
        let reach = Self.reach(options)
        let big = size + 2 * margin, outer = big + 2 * reach, bigLR = big / s
        var lows: [[[Float]]] = Array(repeating: [], count: count)
        var middles: [[Float]] = []
        for _ in 0..<options.batch {
            let image = photos[rng.index(photos.count)]
            let crop = image.crop(top: rng.index(image.height - outer + 1), left: rng.index(image.width - outer + 1), height: outer, width: outer)
            let turned = RGBImage(width: outer, height: outer, pixels: dihedral(crop, size: outer, transform: rng.index(8)))
            let frames = Self.frames(of: turned, top: reach, left: reach, side: big, count: count, pan: Self.pan(rng: &rng))
            let low = options.degradation.apply(frames: frames, size: big, scale: s, variances: options.variances, rng: &rng)
            for f in 0..<count { lows[f].append(low[f]) }
            middles.append(frames[count / 2])
        }
        var lrFrames = lows.map { Tensor(shape: [options.batch, 3, bigLR, bigLR], values: Array($0.joined())) }
        if options.degradation == .real {
            lrFrames = RealDegradation.compress(sequence: lrFrames, range: options.realRange, rng: &rng)
        }
        if let alignment = options.alignment { lrFrames = Self.aligned(lrFrames, by: alignment) }
        let (smallLR, offset) = (size / s, margin / s)
        let hr = Tensor(shape: [options.batch, 3, size, size])
        for (b, patch) in middles.enumerated() {
            copyCentre(of: patch, side: big, offset: margin, size: size, into: hr.data + b * 3 * size * size)
        }
        let centres = lrFrames.map { frame -> Tensor in
            let result = Tensor(shape: [options.batch, 3, smallLR, smallLR])
            copyCentre(of: frame.data, count: frame.count, side: bigLR, offset: offset, size: smallLR, into: result.data)
            return result
        }
        return (Self.stack(centres), hr)
    }

    /// A validation pair from the middle of `image`: LR 1 x 3·frames x h x w (the pan and the degradation seeded by
    /// `rng`), the middle frame's HR, and its LR for the interpolation reference; nil when the photo is too small.
    static func validationPair(_ image: RGBImage, options: TrainingOptions, rng: inout SeededRandom)
        -> (lr: Tensor, hr: [Float], middleLR: [Float], side: Int)? {
        let s = options.scale, count = options.frameCount, reach = reach(options)
        let room = min(256, image.height - 2 * reach, image.width - 2 * reach)
        let side = room / (4 * s) * (4 * s)
        guard side > 0 else { return nil }
        let frames = self.frames(of: image, top: (image.height - side) / 2, left: (image.width - side) / 2, side: side, count: count,
                                 pan: pan(rng: &rng))
        var lows = options.degradation.apply(frames: frames, size: side, scale: s, variances: options.variances, rng: &rng)
            .map { Tensor(shape: [1, 3, side / s, side / s], values: $0) }
        if options.degradation == .real { lows = RealDegradation.compress(sequence: lows, range: options.realRange, rng: &rng) }
        if let alignment = options.alignment { lows = aligned(lows, by: alignment) }
        return (stack(lows), frames[count / 2], lows[count / 2].values, side)
    }

    /// Every sample's neighbours motion-compensated to its middle frame (each frame N x 3 x h x w).
    static func aligned(_ frames: [Tensor], by alignment: BlockAlignment) -> [Tensor] {
        let (n, c, h, w) = frames[0].nchw, size = c * h * w, middle = frames.count / 2
        return frames.enumerated().map { f, frame in
            guard f != middle else { return frame }
            let result = Tensor(shape: frame.shape)
            for sample in 0..<n {
                let own = Array(UnsafeBufferPointer(start: frame.data + sample * size, count: size))
                let target = Array(UnsafeBufferPointer(start: frames[middle].data + sample * size, count: size))
                (result.data + sample * size).update(from: alignment.align(own, to: target, width: w, height: h), offset: 0, count: size)
            }
            return result
        }
    }
}
