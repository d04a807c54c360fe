import Engine
import Foundation
import XCTest

/// Fixtures written by PyTorch (`scripts/make-parity-fixtures.py`) against the engine: outputs, losses, every
/// parameter gradient, the input gradient and the parameters after one Adam step, each within 1e-4 relative
/// (1e-5 absolute floor). `bundle` is the test target's own (its Fixtures folder).
public struct PyTorchParity {
    public let bundle: Bundle

    public init(bundle: Bundle) { self.bundle = bundle }

    public func fixture(_ name: String) throws -> (tensors: [String: Tensor], learningRate: Float) {
        let url = try XCTUnwrap(bundle.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
        let (tensors, metadata) = try SafeTensors.read(path: url.path)
        return (tensors, Float(metadata["lr"] ?? "") ?? 1e-3)
    }

    public func assertClose(_ actual: Tensor, _ expected: Tensor?, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let expected else { return XCTFail("fixture lacks \(label)", file: file, line: line) }
        XCTAssertEqual(actual.count, expected.count, "\(label) size", file: file, line: line)
        var worst: (Float, Int) = (0, 0)
        for i in 0..<min(actual.count, expected.count) {
            let error = abs(actual[i] - expected[i]) / max(1e-5, 1e-4 * abs(expected[i]))
            if error > worst.0 { worst = (error, i) }
        }
        XCTAssertLessThanOrEqual(worst.0, 1, "\(label)[\(worst.1)]: \(actual[worst.1]) vs PyTorch \(expected[worst.1])", file: file, line: line)
    }

    /// Loads the fixture's parameters, runs forward / loss / backward / Adam, and compares each stage.
    public func check(_ name: String, network: ParameterContainer, forward: (Tensor) -> Tensor,
               backward: (Tensor) -> Tensor?, loss: (Tensor, [String: Tensor]) -> (Float, Tensor)) throws {
        let (t, learningRate) = try fixture(name)
        try SafeTensors.load(t, into: network, prefix: "param.")
        let output = forward(try XCTUnwrap(t["input"]))
        assertClose(output, t["output"], "\(name) output")
        let (value, grad) = loss(output, t)
        XCTAssertEqual(value, try XCTUnwrap(t["loss"])[0], accuracy: 1e-5 + 1e-4 * abs(value), "\(name) loss")
        let gradInput = try XCTUnwrap(backward(grad))
        assertClose(gradInput, t["grad_input"], "\(name) input gradient")
        for (key, parameter) in network.namedParameters() {
            assertClose(try XCTUnwrap(parameter.grad, key), t["grad." + key], "\(name) grad.\(key)")
        }
        Adam(network, learningRate: learningRate).step()
        for (key, parameter) in network.namedParameters() { assertClose(parameter.value, t["adam." + key], "\(name) adam.\(key)") }
    }
}
