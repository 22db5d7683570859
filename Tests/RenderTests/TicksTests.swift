import CNFCore
import XCTest
@testable import Render

final class TicksTests: XCTestCase {
    /// Over random ranges: ticks lie in the range, are evenly spaced by 1, 2 or 5 × 10^k,
    /// and there are 2…maxCount+1 of them.
    func testNiceTicks() {
        var rng = Xoshiro256(seed: 5)
        for _ in 0..<500 {
            let a = rng.normal() * pow(10, rng.uniform(-4, 5)), width = pow(10, rng.uniform(-4, 5))
            let lo = a, hi = a + width
            let n = 3 + rng.int(below: 6)
            let t = Ticks.nice(lo, hi, maxCount: n)
            XCTAssertGreaterThanOrEqual(t.count, 2, "[\(lo), \(hi)]")
            XCTAssertLessThanOrEqual(t.count, n + 1, "[\(lo), \(hi)] max \(n): \(t)")
            for v in t { XCTAssertTrue(v >= lo - 1e-9 * width && v <= hi + 1e-9 * width) }
            let step = (t.last! - t.first!) / Double(t.count - 1)
            let mantissa = step / pow(10, log10(step).rounded(.down))
            XCTAssertTrue([1, 2, 5, 10].contains { abs(mantissa - $0) < 1e-6 }, "step \(step)")
            // (k·step is exact to rounding of numbers as large as the ends.)
            let slack = 1e-9 * step + 4 * Double.ulpOfOne * max(abs(lo), abs(hi))
            for k in 1..<t.count { XCTAssertEqual(t[k] - t[k - 1], step, accuracy: slack) }
        }
        XCTAssertEqual(Ticks.nice(-4, 4, maxCount: 5), [-4, -2, 0, 2, 4])
        XCTAssertEqual(Ticks.nice(0, 2000, maxCount: 6), [0, 500, 1000, 1500, 2000])
    }

    func testLogTicks() {
        XCTAssertEqual(Ticks.log(0.05, 300), [0.1, 1, 10, 100])
        XCTAssertEqual(Ticks.log(1e-6, 1e6), [1e-6, 1e-3, 1, 1e3, 1e6], "13 decades thinned to every third")
        XCTAssertEqual(Ticks.log(3, 30), [5, 10, 20])
    }

    func testFormat() {
        XCTAssertEqual(Ticks.format(0), "0")
        XCTAssertEqual(Ticks.format(-0.0), "0")
        XCTAssertEqual(Ticks.format(-4), "-4")
        XCTAssertEqual(Ticks.format(0.5), "0.5")
        XCTAssertEqual(Ticks.format(123456), "123456")
        XCTAssertEqual(Ticks.format(3.14159265), "3.142")
        XCTAssertEqual(Ticks.format(0.001234), "0.001234")
        XCTAssertEqual(Ticks.format(1e-5), "1e-5")
        XCTAssertEqual(Ticks.format(-2.5e7), "-2.5e7")
        XCTAssertEqual(Ticks.format(9.99999e-5), "1e-4", "rounding carries into the exponent")
        XCTAssertEqual(Ticks.labels([0, 0.5, 1, 1.5]), ["0.0", "0.5", "1.0", "1.5"])
        XCTAssertEqual(Ticks.labels([-10, 0, 10]), ["-10", "0", "10"])
        XCTAssertEqual(Ticks.logLabels([1e-5, 1e-4, 1e-3, 1e-2]), ["1e-5", "1e-4", "1e-3", "1e-2"])
        XCTAssertEqual(Ticks.logLabels([0.1, 1, 10]), ["0.1", "1", "10"])
    }
}
