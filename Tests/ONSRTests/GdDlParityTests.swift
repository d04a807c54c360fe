import Engine
import ONSR
import TestSupport
import XCTest

/// Gd and Dl against PyTorch fixtures (`scripts/make-parity-fixtures.py`).
final class GdDlParityTests: XCTestCase {
    func check(_ name: String, network: ParameterContainer, forward: (Tensor) -> Tensor,
               backward: (Tensor) -> Tensor?, loss: (Tensor, [String: Tensor]) -> (Float, Tensor)) throws {
        try PyTorchParity(bundle: .module).check(name, network: network, forward: forward, backward: backward, loss: loss)
    }

    func testDegradationNetMatches() throws {
        for scale in [2, 4] {
            let gd = DegradationNet(scale: scale)
            try check("gd_x\(scale)", network: gd, forward: { gd.forward($0, saving: true) },
                      backward: { gd.backward($0, needInputGrad: true) },
                      loss: { output, t in Loss.l1(output, t["target"]!) })
        }
    }

    func testDiscriminatorMatches() throws {
        let dl = Discriminator(features: 8)
        try check("dl", network: dl, forward: { dl.forward($0, saving: true) },
                  backward: { dl.backward($0, needInputGrad: true) },
                  loss: { output, _ in Loss.bceWithLogits(output, label: 1) })
    }
}
