import Engine
import Foundation
import Pipeline

/// A training run's checkpoint: the network's parameters (`param.` names), the optimiser's state, the step, the
/// seconds spent and the options (JSON), written atomically; read back only into a run with the same options,
/// so that a resumed run replays exactly what an uninterrupted one would have done. Both trainers use it.
enum TrainingCheckpoint {
    static func write<Options: Encodable>(network: ParameterContainer, optimiser: Adam, step: Int, seconds: Double,
                                          options: Options, to path: String) throws {
        var metadata = ["step": String(step), "seconds": String(seconds)]
        metadata["options"] = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        try writeAtomically(SafeTensors.parameters(of: network, prefix: "param.") + optimiser.exportState(), to: path, metadata: metadata)
    }

    /// Loads a checkpoint into `network` and `optimiser`; returns its step and seconds.
    static func read<Options: Decodable & Equatable>(from path: String, network: ParameterContainer, optimiser: Adam,
                                                     options: Options) throws -> (step: Int, seconds: Double) {
        let (tensors, metadata) = try SafeTensors.read(path: path)
        guard let saved = metadata["options"].flatMap({ try? JSONDecoder().decode(Options.self, from: Data($0.utf8)) }),
              saved == options else {
            throw JobError(.usage, "\(path): checkpoint was made with other training options; use the same command to resume")
        }
        try SafeTensors.load(tensors, into: network, prefix: "param.")
        optimiser.importState(tensors)
        return (Int(metadata["step"] ?? "0") ?? 0, Double(metadata["seconds"] ?? "0") ?? 0)
    }

    /// Writes to `path`.partial, then renames: a crash never leaves a half-written file under the real name.
    static func writeAtomically(_ tensors: [(String, Tensor)], to path: String, storage: SafeTensors.StorageType = .f32,
                                metadata: [String: String]) throws {
        let temporary = path + ".partial"
        try SafeTensors.write(tensors, to: temporary, storage: storage, metadata: metadata)
        guard rename(temporary, path) == 0 else { throw JobError(.cannotCreate, "\(path): cannot write the file") }
    }
}
