import Engine
import Foundation
import TestSupport
import XCTest

/// The engine against fixtures written by PyTorch (`scripts/make-parity-fixtures.py`): outputs, losses,
/// every parameter gradient, the input gradient and the parameters after one Adam step, each within 1e-4
/// relative (1e-5 absolute floor).
final class PyTorchParityTests: XCTestCase {
    func check(_ name: String, network: ParameterContainer, forward: (Tensor) -> Tensor,
               backward: (Tensor) -> Tensor?, loss: (Tensor, [String: Tensor]) -> (Float, Tensor)) throws {
        try PyTorchParity(bundle: .module).check(name, network: network, forward: forward, backward: backward, loss: loss)
    }

    func testRRDBNetMatchesBasicSRAtX2AndX4() throws {
        for scale in [2, 4] {
            let net = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: scale))
            try check("rrdbnet_x\(scale)", network: net, forward: { net.forward($0, saving: true) },
                      backward: { net.backward($0, needInputGrad: true) },
                      loss: { output, t in Loss.l1(output, t["target"]!) })
        }
    }

    /// Channel counts in whole 16-channel blocks: the trunk trains on Winograd kernels where the CPU has
    /// them (AVX-512), with the post-ops applied as the blocked results are written back.
    func testRRDBNetWithBlockedChannelsMatchesBasicSR() throws {
        let threshold = Conv2d.winogradMinimumWork
        Conv2d.winogradMinimumWork = 0
        defer { Conv2d.winogradMinimumWork = threshold }
        let net = RRDBNet(.init(features: 16, blocks: 1, growth: 16, scale: 2))
        try check("rrdbnet_x2_blocked", network: net, forward: { net.forward($0, saving: true) },
                  backward: { net.backward($0, needInputGrad: true) },
                  loss: { output, t in Loss.l1(output, t["target"]!) })
        let kernel = net.implementation(height: 12, width: 12, precision: .fp32, training: true)
        if ComputeInfo.instructionSet.hasPrefix("avx512") {
            XCTAssertTrue(kernel.hasPrefix("jit_wino"), "training kernel on AVX-512: \(kernel)")
        } else {
            print("testRRDBNetWithBlockedChannelsMatchesBasicSR: Winograd check skipped (no AVX-512; kernel \(kernel))")
        }
    }

    func testSafeTensorsRoundTripAndErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let net = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 3)
        for storage in [SafeTensors.StorageType.f32, .f16] {
            let path = folder.appendingPathComponent("\(storage.rawValue).safetensors").path
            try SafeTensors.write(SafeTensors.parameters(of: net), to: path, storage: storage, metadata: ["arch": "rrdbnet"])
            let (tensors, metadata) = try SafeTensors.read(path: path)
            XCTAssertEqual(metadata["arch"], "rrdbnet")
            let copy = RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2), seed: 4)
            try SafeTensors.load(tensors, into: copy)
            for ((_, a), (_, b)) in zip(net.namedParameters(), copy.namedParameters()) {
                for i in 0..<a.value.count {
                    XCTAssertEqual(a.value[i], b.value[i], accuracy: storage == .f32 ? 0 : 1e-3 * max(1, abs(a.value[i])))
                }
            }
        }
        let (tensors, _) = try SafeTensors.read(path: folder.appendingPathComponent("F32.safetensors").path)
        let wrong = RRDBNet(.init(features: 16, blocks: 1, growth: 4, scale: 2))
        XCTAssertThrowsError(try SafeTensors.load(tensors, into: wrong)) { error in
            XCTAssertTrue("\(error)".contains("conv_first.weight") && "\(error)".contains("[8, 12, 3, 3]") && "\(error)".contains("[16, 12, 3, 3]"), "\(error)")
        }
        var partial = tensors
        partial["conv_last.bias"] = nil
        XCTAssertThrowsError(try SafeTensors.load(partial, into: RRDBNet(.init(features: 8, blocks: 1, growth: 4, scale: 2)))) { error in
            XCTAssertTrue("\(error)".contains("missing tensor conv_last.bias"), "\(error)")
        }
    }

    func testReadsBF16() throws {
        // BF16 is the top half of an F32: 1.5 is 0x3FC0, -2 is 0xC000.
        let header = #"{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#
        var bytes = (0..<8).map { UInt8(header.utf8.count >> (8 * $0) & 0xFF) }
        bytes += Array(header.utf8) + [0xC0, 0x3F, 0x00, 0xC0]
        let (tensors, _) = try SafeTensors.parse(Data(bytes))
        XCTAssertEqual(tensors["x"]?.values, [1.5, -2])
    }
}
