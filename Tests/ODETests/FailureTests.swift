import Foundation
import XCTest
@testable import ODE

final class FailureTests: XCTestCase {
    /// A stiff problem exhausts the step budget; the error names the limit and the time.
    func testMaxSteps() throws {
        let stiff = ClosureField(1) { t, y, dy in dy[0] = -1e6 * (y[0] - cos(t)) }
        var o = SolveOptions(method: .dopri5, rtol: 1e-6, atol: 1e-6)
        o.maxSteps = 500
        let solver = try ODESolver(dimension: 1, options: o)
        XCTAssertThrowsError(try solver.solve(stiff, y0: [0], from: 0, to: 1)) { error in
            guard case let ODEError.maxStepsReached(steps, t) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(steps, 500)
            XCTAssertGreaterThan(t, 0)
            XCTAssertLessThan(t, 1)
            XCTAssertTrue("\(error)".contains("max steps (500) reached at t="), "\(error)")
        }
    }

    /// y' = y² from y(0) = 1 blows up at t = 1: the solver stops there and says so.
    func testBlowUpUnderflows() throws {
        let blowUp = ClosureField(1) { _, y, dy in dy[0] = y[0] * y[0] }
        var o = SolveOptions(method: .dopri5, rtol: 1e-6, atol: 1e-6)
        o.maxSteps = 100_000
        let solver = try ODESolver(dimension: 1, options: o)
        XCTAssertThrowsError(try solver.solve(blowUp, y0: [1], from: 0, to: 2)) { error in
            let t: Double
            switch error as? ODEError {
            case let .stepSizeUnderflow(tt, h)?: t = tt; XCTAssertLessThan(abs(h), 1e-10)
            case let .nonFiniteState(tt)?: t = tt
            default: return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(t, 1, accuracy: 1e-3, "stopped at \(t)")
            XCTAssertTrue("\(error)".contains("at t=1.0") || "\(error)".contains("at t=0.9999"), "\(error)")
        }
    }

    func testUnderflowMessage() {
        let e = ODEError.stepSizeUnderflow(t: 0.31719, h: 1.23e-14)
        XCTAssertEqual("\(e)", "step size underflow at t=0.3172 (h=1.2e-14): loosen rtol/atol or use a fixed-step solver")
    }

    /// A field that turns NaN past t = 0.5 gives a non-finite-state error at that time,
    /// with adaptive and fixed-step methods alike.
    func testNonFinite() throws {
        let nan = ClosureField(1) { t, _, dy in dy[0] = t > 0.5 ? .nan : 1 }
        let solver = try ODESolver(dimension: 1, options: SolveOptions(method: .dopri5))
        XCTAssertThrowsError(try solver.solve(nan, y0: [0], from: 0, to: 1)) { error in
            guard case let ODEError.nonFiniteState(t) = error else { return XCTFail("\(error)") }
            XCTAssertLessThanOrEqual(t, 0.5)
            XCTAssertGreaterThan(t, 0.3)
            XCTAssertTrue("\(error)".hasPrefix("non-finite state at t="))
        }
        var o = SolveOptions(method: .rk4)
        o.step = 0.1
        XCTAssertThrowsError(try ODESolver(dimension: 1, options: o).solve(nan, y0: [0], from: 0, to: 1)) { error in
            guard case let ODEError.nonFiniteState(t) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(t, 0.6, accuracy: 1e-12)
        }
        XCTAssertThrowsError(try solver.solve(nan, y0: [.infinity], from: 0, to: 1))
    }

    func testInvalidOptions() {
        XCTAssertThrowsError(try ODESolver(dimension: 1, options: SolveOptions(method: .rk4)))
        XCTAssertThrowsError(try ODESolver(dimension: 1, options: SolveOptions(method: .dopri5, rtol: -1, atol: 0)))
    }
}
