import XCTest
@testable import CNFCore

final class RandomTests: XCTestCase {
    func testNormalMoments() {
        var g = Xoshiro256(seed: 42)
        let n = 1_000_000
        var s = 0.0, s2 = 0.0
        for _ in 0..<n { let x = g.normal(); s += x; s2 += x * x }
        let mean = s / Double(n), variance = s2 / Double(n) - mean * mean
        // Standard errors: 1/√n for the mean, √(2/n) for the variance of a normal.
        XCTAssertLessThan(abs(mean), 4 / Double(n).squareRoot())
        XCTAssertLessThan(abs(variance - 1), 4 * (2 / Double(n)).squareRoot())
    }
}
