import Decode
import Engine
import Foundation
import ONSR
import Pipeline
import TestSupport

/// What the scheduler tests adapt with: a tiny RRDBNet saved as a model file and two synthetic external photos,
/// in a temporary folder that `remove()` deletes.
struct TinyAdaptationFixture {
    let folder: TemporaryFolder
    let photos: PhotoSet
    let model: ModelInfo

    init(_ name: String) throws {
        folder = try TemporaryFolder(name)
        try FileManager.default.createDirectory(atPath: folder.file("photos"), withIntermediateDirectories: false)
        for i in 0..<2 {
            try ImageFile.writePNG(SyntheticShots.frame(shot: i, t: 3, width: 96, height: 96), to: folder.file("photos/p\(i).png"))
        }
        photos = try PhotoSet(folder: folder.file("photos"))
        let gr = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 3)
        try SafeTensors.write(SafeTensors.parameters(of: gr), to: folder.file("tiny.safetensors"))
        model = try ModelStore.describe(path: folder.file("tiny.safetensors"))
    }

    /// Small patches and a fast Gr rate, so that a few steps show.
    static var adaptation: AdaptationOptions {
        var adaptation = AdaptationOptions()
        adaptation.patches = 2
        adaptation.patchSize = 16
        adaptation.learningRateGr = 1e-3
        return adaptation
    }

    func remove() { folder.remove() }
}
