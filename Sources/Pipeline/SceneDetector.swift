import Decode

/// A small description of one frame for cut detection and for recognising a returning shot: a 32-bin luma
/// histogram (normalised to sum 1) and a 16 x 9 luma thumbnail (area averages), both from BT.601 luma.
public struct FrameSignature: Sendable, Equatable {
    public static let bins = 32
    public static let thumbnailSize = (width: 16, height: 9)
    public let histogram: [Float]
    public let thumbnail: [Float]

    public init(histogram: [Float], thumbnail: [Float]) {
        self.histogram = histogram
        self.thumbnail = thumbnail
    }

    /// The signature of a planar RGB image with samples in [0, 1].
    public init(of image: RGBImage) {
        let (tw, th) = FrameSignature.thumbnailSize
        var histogram = [Float](repeating: 0, count: FrameSignature.bins)
        var sums = [Float](repeating: 0, count: tw * th), counts = [Float](repeating: 0, count: tw * th)
        let plane = image.planeSize
        // Every second row and column is plenty for both statistics and halves the cost.
        image.pixels.withUnsafeBufferPointer { p in
            for y in stride(from: 0, to: image.height, by: 2) {
                let cell = (y * th / image.height) * tw
                for x in stride(from: 0, to: image.width, by: 2) {
                    let i = y * image.width + x
                    let luma = min(max(0.299 * p[i] + 0.587 * p[plane + i] + 0.114 * p[2 * plane + i], 0), 1)
                    histogram[min(FrameSignature.bins - 1, Int(luma * Float(FrameSignature.bins)))] += 1
                    let c = cell + x * tw / image.width
                    sums[c] += luma
                    counts[c] += 1
                }
            }
        }
        let total = histogram.reduce(0, +)
        self.init(histogram: histogram.map { $0 / max(total, 1) },
                  thumbnail: zip(sums, counts).map { $1 > 0 ? $0 / $1 : 0 })
    }

    /// 0 for identical frames, about 1 for unrelated ones: the mean of the histograms' total-variation
    /// distance and four times the thumbnails' mean absolute difference (capped at 1). The histogram alone
    /// misses cuts between shots of similar tones; the thumbnail alone overreacts to motion.
    public func distance(to other: FrameSignature) -> Float {
        var histogramDistance: Float = 0
        for i in 0..<histogram.count { histogramDistance += abs(histogram[i] - other.histogram[i]) }
        var thumbnailDistance: Float = 0
        for i in 0..<thumbnail.count { thumbnailDistance += abs(thumbnail[i] - other.thumbnail[i]) }
        thumbnailDistance /= Float(thumbnail.count)
        return (histogramDistance / 2 + min(1, 4 * thumbnailDistance)) / 2
    }
}

/// Why a scene began.
public enum SceneStart: String, Codable, Sendable {
    case first, cut, fade
    /// The scene reached the maximum length and adaptation is refreshed.
    case refresh
}

/// Finds scene boundaries in a stream of frame signatures, one frame at a time.
///
/// A hard cut is a jump between consecutive frames above an adaptive threshold: the larger of `threshold` and
/// four times the median of the recent jumps, so that a shaky or fast shot does not cut at every frame. A fade
/// or dissolve moves slowly, so it is caught by the drift from the scene's first frame, which must exceed twice
/// the threshold. Scenes longer than `maxSceneLength` frames are split so that adaptation gets refreshed.
public struct SceneDetector: Sendable {
    public let threshold: Float
    public let maxSceneLength: Int
    private var previous: FrameSignature?
    private var sceneStart: FrameSignature?
    private var sceneLength = 0
    private var recentJumps: [Float] = []

    public init(threshold: Float = 0.3, maxSceneLength: Int = 300) {
        precondition(threshold > 0 && maxSceneLength > 0, "threshold and scene length must be positive")
        self.threshold = threshold
        self.maxSceneLength = maxSceneLength
    }

    /// The current adaptive threshold for a jump between consecutive frames.
    public var jumpThreshold: Float {
        guard recentJumps.count >= 5 else { return threshold }
        let sorted = recentJumps.sorted()
        return max(threshold, 4 * sorted[sorted.count / 2])
    }

    /// Feeds the next frame; returns how a new scene starts at this frame, or nil when the frame continues
    /// the current scene.
    public mutating func observe(_ signature: FrameSignature) -> SceneStart? {
        defer { previous = signature }
        guard let previous, let sceneStart else {
            self.sceneStart = signature
            sceneLength = 1
            return .first
        }
        let jump = signature.distance(to: previous)
        let limit = jumpThreshold
        let start: SceneStart?
        if jump > limit {
            start = .cut
        } else if signature.distance(to: sceneStart) > 2 * limit {
            start = .fade
        } else if sceneLength >= maxSceneLength {
            start = .refresh
        } else {
            start = nil
        }
        if let start {
            self.sceneStart = signature
            sceneLength = 1
            // A cut is not part of the shot's motion statistics.
            if start != .cut { remember(jump) }
        } else {
            sceneLength += 1
            remember(jump)
        }
        return start
    }

    private mutating func remember(_ jump: Float) {
        recentJumps.append(jump)
        if recentJumps.count > 30 { recentJumps.removeFirst() }
    }
}
