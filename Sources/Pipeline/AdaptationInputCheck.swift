import Decode
import Foundation
import ONSR

/// What ONSR adaptation needs from its inputs, checked before any adaptation starts so that a user gets a
/// one-line error (exit 65) instead of a trap deep in the adapter: every frame must hold one LR patch, and
/// at least one external photo one HR patch.
public enum AdaptationInputCheck {
    /// Throws a data error when `image` is smaller than an LR patch (the job that knows the file names it:
    /// `JobError.naming`).
    public static func frame(_ image: RGBImage, options: AdaptationOptions) throws {
        guard holdsPatch(image, options: options) else {
            let side = options.patchSize
            throw JobError(.dataError, "ONSR needs frames of at least \(side)x\(side) pixels, this one is "
                            + "\(image.width)x\(image.height) (use --method pretrained)")
        }
    }

    /// Whether `image` holds one LR patch, the least ONSR can learn from.
    public static func holdsPatch(_ image: RGBImage, options: AdaptationOptions) -> Bool {
        image.width >= options.patchSize && image.height >= options.patchSize
    }

    /// Throws a data error when no photo of `external` holds an HR patch at `scale`.
    public static func external(_ external: PhotoSet, options: AdaptationOptions, scale: Int) throws {
        let side = options.patchSize * scale
        guard external.images.contains(where: { $0.width >= side && $0.height >= side }) else {
            throw JobError(.dataError, "\(external.folder): ONSR needs external photos of at least \(side)x\(side) pixels at x\(scale)")
        }
    }
}
