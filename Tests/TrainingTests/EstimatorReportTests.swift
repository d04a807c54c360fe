import Foundation
import Training
import XCTest

/// The estimator report's measures of a kernel's covariance.
final class EstimatorReportTests: XCTestCase {
    /// The minor eigenvalue is the variance across the kernel's direction, whatever the direction.
    func testMinorEigenvalueIsTheNarrowVarianceAtAnyAngle() {
        XCTAssertEqual(EstimatorReport.minorEigenvalue((yy: 3, yx: 0, xx: 1)), 1, accuracy: 1e-12)
        XCTAssertEqual(EstimatorReport.minorEigenvalue((yy: 2, yx: 0, xx: 2)), 2, accuracy: 1e-12)
        for angle in stride(from: 0.0, to: Double.pi, by: 0.3) {
            // R diag(5, 0.5) Rᵀ
            let (c, s) = (cos(angle), sin(angle))
            let covariance = (yy: 5 * s * s + 0.5 * c * c, yx: (5 - 0.5) * s * c, xx: 5 * c * c + 0.5 * s * s)
            XCTAssertEqual(EstimatorReport.minorEigenvalue(covariance), 0.5, accuracy: 1e-9, "angle \(angle)")
        }
    }
}
