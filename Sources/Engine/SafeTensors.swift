import Foundation

/// A problem reading or applying a safetensors file; the message names the key and shapes involved.
public struct SafeTensorsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping names to dtype,
/// shape and byte offsets, then the raw little-endian data. Reads F32, F16 and BF16; writes F32 or F16.
public enum SafeTensors {
    public enum StorageType: String, Sendable {
        case f32 = "F32", f16 = "F16"
    }

    /// Reads every tensor (converted to Float32) and the `__metadata__` strings.
    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw SafeTensorsError("\(path): cannot read the file") }
        return try parse(data, name: path)
    }

    /// Parses safetensors bytes.
    public static func parse(_ data: Data, name: String = "safetensors") throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw SafeTensorsError("\(name): too short to be a safetensors file") }
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength > 0, 8 + headerLength <= bytes.count,
              let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any] else {
            throw SafeTensorsError("\(name): damaged safetensors header")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafeTensorsError("\(name): tensor \(key) has a damaged header entry")
            }
            let (begin, end) = (dataStart + offsets[0], dataStart + offsets[1])
            let elements = max(1, shape.reduce(1, *))
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F16", "BF16": width = 2
            default: throw SafeTensorsError("\(name): tensor \(key) has dtype \(dtype); only F32, F16 and BF16 are read")
            }
            guard begin <= end, end <= bytes.count, end - begin == elements * width else {
                throw SafeTensorsError("\(name): tensor \(key) has \(end - begin) bytes, expected \(elements * width)")
            }
            let tensor = Tensor(shape: shape.isEmpty ? [1] : shape)
            for i in 0..<elements {
                let at = begin + i * width
                switch dtype {
                case "F32":
                    let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                    tensor[i] = Float(bitPattern: bits)
                case "F16":
                    tensor[i] = Float(Float16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8))
                default:
                    tensor[i] = BFloat16Conversion.widen(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)
                }
            }
            tensors[key] = tensor
        }
        return (tensors, metadata)
    }

    /// Writes named tensors (in the given order) with optional metadata.
    public static func write(_ tensors: [(String, Tensor)], to path: String, storage: StorageType = .f32,
                             metadata: [String: String] = [:]) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var payload = [UInt8]()
        for (name, tensor) in tensors {
            let begin = payload.count
            for i in 0..<tensor.count {
                switch storage {
                case .f32:
                    let bits = tensor[i].bitPattern
                    payload += [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
                case .f16:
                    let bits = Float16(tensor[i]).bitPattern
                    payload += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
                }
            }
            header[name] = ["dtype": storage.rawValue, "shape": tensor.shape, "data_offsets": [begin, payload.count]] as [String: Any]
        }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var bytes = (0..<8).map { UInt8(json.count >> (8 * $0) & 0xFF) }
        bytes += json
        bytes += payload
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw SafeTensorsError("\(path): cannot write") }
    }

    /// Copies tensors into a network's parameters by name (with an optional key prefix). Every parameter
    /// must be present with its exact shape; extra keys are ignored (checkpoints carry other networks too).
    /// `only` limits the parameters loaded (and required) to those whose names it accepts.
    public static func load(_ tensors: [String: Tensor], into container: ParameterContainer, prefix: String = "",
                            only: (String) -> Bool = { _ in true }) throws {
        for (name, parameter) in container.namedParameters() where only(name) {
            let key = prefix + name
            guard let tensor = tensors[key] else { throw SafeTensorsError("missing tensor \(key) (expected shape \(parameter.value.shape))") }
            guard tensor.shape == parameter.value.shape else {
                throw SafeTensorsError("tensor \(key) has shape \(tensor.shape), the network expects \(parameter.value.shape)")
            }
            parameter.value.assign(tensor)
        }
    }

    /// A network's parameters, ready for `write`.
    public static func parameters(of container: ParameterContainer, prefix: String = "") -> [(String, Tensor)] {
        container.namedParameters().map { (prefix + $0.0, $0.1.value) }
    }
}
