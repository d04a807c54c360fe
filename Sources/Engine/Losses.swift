import Foundation

/// Losses as PyTorch defines them (mean reduction), each returning the loss and its gradient.
public enum Loss {
    /// Mean absolute error, `F.l1_loss`; the gradient is sign(prediction - target) / count (0 where equal).
    public static func l1(_ prediction: Tensor, _ target: Tensor) -> (loss: Float, grad: Tensor) {
        precondition(prediction.count == target.count, "l1: \(prediction.shape) vs \(target.shape)")
        let grad = Tensor(shape: prediction.shape)
        let scale = 1 / Float(prediction.count)
        var total = 0.0
        for i in 0..<prediction.count {
            let d = prediction[i] - target[i]
            total += Double(abs(d))
            grad[i] = d > 0 ? scale : (d < 0 ? -scale : 0)
        }
        return (Float(total / Double(prediction.count)), grad)
    }

    /// Binary cross-entropy on logits, `F.binary_cross_entropy_with_logits`, against one label for all.
    public static func bceWithLogits(_ logits: Tensor, label: Float) -> (loss: Float, grad: Tensor) {
        let grad = Tensor(shape: logits.shape)
        let scale = 1 / Float(logits.count)
        var total = 0.0
        for i in 0..<logits.count {
            let z = Double(logits[i])
            total += max(z, 0) - z * Double(label) + log1p(exp(-abs(z)))
            let sigmoid = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
            grad[i] = Float(sigmoid - Double(label)) * scale
        }
        return (Float(total / Double(logits.count)), grad)
    }
}
