import Pipeline
import ONSR
import XCTest

final class DegradationCheckTests: XCTestCase {
    func testTheProbeIsAQuarterOfTheBudgetAndInsideTheGdPhase() {
        XCTAssertEqual(DegradationCheck(steps: 100, tolerance: 0.85).probeSteps, 25)
        XCTAssertEqual(DegradationCheck(steps: 4, tolerance: 0.85).probeSteps, 1)
        XCTAssertEqual(DegradationCheck(steps: 1, tolerance: 0.85).probeSteps, 1, "at least one step")
    }

    func testSmallImprovementsMeanUnchangedLargeOnesChanged() {
        let check = DegradationCheck(steps: 100, tolerance: 0.85)
        XCTAssertTrue(check.unchanged(before: 0.005, afterRefit: 0.0046))
        XCTAssertTrue(check.unchanged(before: 0.005, afterRefit: 0.006), "a refit that got worse changed nothing")
        XCTAssertFalse(check.unchanged(before: 0.005, afterRefit: 0.0035))
        XCTAssertFalse(check.unchanged(before: .nan, afterRefit: 0.004), "no measurement: adapt fully")
    }
}
