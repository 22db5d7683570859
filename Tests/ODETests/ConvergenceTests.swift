import Foundation
import XCTest
@testable import ODE

final class ConvergenceTests: XCTestCase {
    /// Slope of log(error) against log(h) equals each fixed-step method's order (±0.2).
    func testFixedStepOrders() throws {
        let expected: [(SolverMethod, Double)] = [(.euler, 1), (.midpoint, 2), (.heun, 2), (.rk4, 4)]
        for problem in [Problem.decay, Problem.rotation] {
            for (method, order) in expected {
                var logH: [Double] = [], logE: [Double] = []
                for n in [20, 40, 80, 160] {
                    var o = SolveOptions(method: method)
                    o.step = problem.t1 / Double(n)
                    let solver = try ODESolver(dimension: problem.y0.count, options: o)
                    let (y, stats) = try solver.solve(problem.field(), y0: problem.y0, from: 0, to: problem.t1)
                    XCTAssertEqual(stats.acceptedSteps, n)
                    XCTAssertEqual(stats.evaluations, n * method.tableau.stages)
                    logH.append(log(o.step!))
                    logE.append(log(maxError(y, problem.exact(problem.t1))))
                }
                let p = slope(logH, logE)
                print("order \(method.rawValue) on \(problem.name): \(String(format: "%.3f", p))")
                XCTAssertEqual(p, order, accuracy: 0.2, "\(method) on \(problem.name)")
            }
        }
    }

    /// Adaptive solvers meet their tolerance (error ≤ 10·tol) and do more work as it tightens.
    func testAdaptiveMeetsTolerance() throws {
        for method in [SolverMethod.bosh3, .dopri5, .tsit5] {
            for problem in [Problem.decay, Problem.rotation, Problem.logistic] {
                var previousWork = 0
                for e in 3...9 {
                    let tol = pow(10, -Double(e))
                    let solver = try ODESolver(dimension: problem.y0.count,
                                               options: SolveOptions(method: method, rtol: tol, atol: tol))
                    let (y, stats) = try solver.solve(problem.field(), y0: problem.y0, from: 0, to: problem.t1)
                    // In the tolerance's own units: |error| / (atol/tol + rtol/tol · |y|).
                    let err = zip(y, problem.exact(problem.t1)).map { abs($0 - $1) / (1 + abs($1)) }.max()!
                    XCTAssertLessThanOrEqual(err, 10 * tol, "\(method) \(problem.name) tol \(tol): error \(err)")
                    XCTAssertGreaterThan(stats.evaluations, previousWork, "\(method) \(problem.name) tol \(tol)")
                    previousWork = stats.evaluations
                }
            }
        }
    }

    /// Forwards then backwards returns to the start within tolerance.
    func testForwardBackwardRoundTrip() throws {
        for method in [SolverMethod.bosh3, .dopri5, .tsit5] {
            let p = Problem.rotation
            let solver = try ODESolver(dimension: 2, options: SolveOptions(method: method, rtol: 1e-9, atol: 1e-9))
            let (y1, _) = try solver.solve(p.field(), y0: p.y0, from: 0, to: p.t1)
            let (y0, _) = try solver.solve(p.field(), y0: y1, from: p.t1, to: 0)
            XCTAssertLessThan(maxError(y0, p.y0), 1e-7, "\(method)")
        }
        // Backwards with a fixed-step method too.
        var o = SolveOptions(method: .rk4)
        o.step = 0.01
        let solver = try ODESolver(dimension: 1, options: o)
        let (y, _) = try solver.solve(Problem.decay.field(), y0: [1], from: 1, to: 0)
        XCTAssertEqual(y[0], exp(1.3), accuracy: 1e-8)
    }

    /// Output at requested times matches the closed form, in both directions.
    func testOutputTimes() throws {
        let p = Problem.logistic
        let times = [0, 0.25, 1, 1.5, 2.75, 4]
        let solver = try ODESolver(dimension: 1, options: SolveOptions(method: .dopri5, rtol: 1e-8, atol: 1e-8))
        var y = p.y0
        var seen: [Int] = []
        _ = try y.withMutableStateVector { state in
            try solver.solve(p.field(), state: state, times: times) { i, yi in
                seen.append(i)
                XCTAssertEqual(yi[0], p.exact(times[i])[0], accuracy: 1e-7, "t=\(times[i])")
            }
        }
        XCTAssertEqual(seen, Array(0..<times.count))
        var back = p.exact(4)
        let reversed = Array(times.reversed())
        _ = try back.withMutableStateVector { state in
            try solver.solve(p.field(), state: state, times: reversed) { i, yi in
                XCTAssertEqual(yi[0], p.exact(reversed[i])[0], accuracy: 1e-7, "t=\(reversed[i])")
            }
        }
    }

    /// Evaluation counts are exactly what FSAL implies: 1 (f(t0)) + 1 (initial step
    /// selection) + (stages − 1)·(accepted + rejected) — and the field saw that many calls.
    func testStatisticsAreExact() throws {
        for method in [SolverMethod.bosh3, .dopri5, .tsit5] {
            // A sharp transient forces rejections.
            let field = ClosureField(1) { t, y, dy in dy[0] = -40 * (y[0] - sin(3 * t)) }
            let solver = try ODESolver(dimension: 1, options: SolveOptions(method: method, rtol: 1e-6, atol: 1e-6))
            let (_, s) = try solver.solve(field, y0: [2], from: 0, to: 3)
            let perStep = method.tableau.stages - 1
            XCTAssertEqual(s.evaluations, 2 + perStep * (s.acceptedSteps + s.rejectedSteps), "\(method)")
            XCTAssertEqual(field.calls, s.evaluations)
            // With a given (too large) first step there is no selection evaluation, and rejections happen.
            var o = SolveOptions(method: method, rtol: 1e-6, atol: 1e-6)
            o.step = 1
            let field2 = ClosureField(1) { t, y, dy in dy[0] = -40 * (y[0] - sin(3 * t)) }
            let (_, s2) = try ODESolver(dimension: 1, options: o).solve(field2, y0: [2], from: 0, to: 3)
            XCTAssertGreaterThan(s2.rejectedSteps, 0)
            XCTAssertEqual(s2.evaluations, 1 + perStep * (s2.acceptedSteps + s2.rejectedSteps), "\(method)")
            XCTAssertEqual(field2.calls, s2.evaluations)
        }
    }
}
