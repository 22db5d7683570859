import Foundation
import XCTest
@testable import ODE

/// L(y(t1)) = Σ w_i y_i + ½ Σ y_i², a nonlinear loss of the final state.
private func loss(_ y: [Double]) -> Double {
    y.enumerated().reduce(0) { $0 + Double($1.offset + 1) * 0.3 * $1.element + 0.5 * $1.element * $1.element }
}
private func lossGradient(_ y: [Double]) -> [Double] {
    y.enumerated().map { Double($0.offset + 1) * 0.3 + $0.element }
}

final class AdjointTests: XCTestCase {
    let t1 = 1.5
    let y0: [Double] = [0.5, -0.3, 0.8]

    func solveLoss(_ f: TanhNetField, _ y0: [Double], tol: Double) throws -> Double {
        let solver = try ODESolver(dimension: 3, options: SolveOptions(method: .dopri5, rtol: tol, atol: tol))
        return loss(try solver.solve(f, y0: y0, from: 0, to: t1).y)
    }

    /// Central finite differences of the solved loss (tolerance 1e-13 so that solver noise
    /// stays far below the differences).
    func finiteDifferences(_ f: TanhNetField) throws -> (y: [Double], theta: [Double]) {
        let eps = 1e-5
        var gy: [Double] = [], gt: [Double] = []
        for i in 0..<y0.count {
            var a = y0, b = y0
            a[i] += eps; b[i] -= eps
            gy.append((try solveLoss(f, a, tol: 1e-13) - solveLoss(f, b, tol: 1e-13)) / (2 * eps))
        }
        for q in 0..<f.parameterCount {
            let keep = f.theta[q]
            f.theta[q] = keep + eps
            let a = try solveLoss(f, y0, tol: 1e-13)
            f.theta[q] = keep - eps
            let b = try solveLoss(f, y0, tol: 1e-13)
            f.theta[q] = keep
            gt.append((a - b) / (2 * eps))
        }
        return (gy, gt)
    }

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let num = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let den = b.map { $0 * $0 }.reduce(0, +).squareRoot()
        return num / den
    }

    func testAdjointMatchesFiniteDifferencesAndBackprop() throws {
        let f = TanhNetField(dimension: 3, hidden: 6, seed: 7)
        let tol = 1e-10
        let forward = try ODESolver(dimension: 3, options: SolveOptions(method: .dopri5, rtol: tol, atol: tol))
        let tape = StepTape()
        let (y1, _) = try forward.solve(f, y0: y0, from: 0, to: t1, tape: tape)
        let a1 = lossGradient(y1)

        let adjoint = try adjointGradient(of: f, finalState: y1, cotangent: a1, from: t1, to: 0,
                                          options: AdjointOptions(solve: SolveOptions(method: .dopri5, rtol: tol, atol: tol)))
        let fd = try finiteDifferences(f)
        let eY = relativeError(adjoint.yBar, fd.y), eTheta = relativeError(adjoint.thetaBar, fd.theta)
        print("adjoint vs finite differences: relative error y0 \(eY), θ \(eTheta)")
        XCTAssertLessThan(eY, 1e-6)
        XCTAssertLessThan(eTheta, 1e-6)
        XCTAssertLessThan(maxError(adjoint.reconstructed, y0), 1e-8, "backward reconstruction of y(0)")

        var yBar = a1, thetaBar = [Double](repeating: 0, count: f.parameterCount)
        backpropagate(f, tape: tape, yBar: &yBar, thetaBar: &thetaBar)
        let bY = relativeError(adjoint.yBar, yBar), bTheta = relativeError(adjoint.thetaBar, thetaBar)
        print("adjoint vs backprop: relative error y0 \(bY), θ \(bTheta)")
        XCTAssertLessThan(bY, 1e-7)
        XCTAssertLessThan(bTheta, 1e-7)
        XCTAssertLessThan(relativeError(thetaBar, fd.theta), 1e-6)
    }

    /// Backpropagation through the steps is the exact gradient of the discretized map: on a
    /// coarse fixed-step rk4 solve it matches finite differences of that same coarse solve.
    func testBackpropIsExactForDiscretization() throws {
        let f = TanhNetField(dimension: 3, hidden: 4, seed: 3)
        var o = SolveOptions(method: .rk4)
        o.step = 0.3
        let solver = try ODESolver(dimension: 3, options: o)
        let tape = StepTape()
        let y1 = try solver.solve(f, y0: y0, from: 0, to: t1, tape: tape).y
        var yBar = lossGradient(y1), thetaBar = [Double](repeating: 0, count: f.parameterCount)
        backpropagate(f, tape: tape, yBar: &yBar, thetaBar: &thetaBar)
        let eps = 1e-6
        for q in [0, 5, f.parameterCount - 1] {
            let keep = f.theta[q]
            f.theta[q] = keep + eps
            let a = loss(try solver.solve(f, y0: y0, from: 0, to: t1).y)
            f.theta[q] = keep - eps
            let b = loss(try solver.solve(f, y0: y0, from: 0, to: t1).y)
            f.theta[q] = keep
            XCTAssertEqual(thetaBar[q], (a - b) / (2 * eps), accuracy: 1e-8 * max(1, abs(thetaBar[q])))
        }
    }

    /// The seminorm gives the same gradient (within tolerance) with no more backward steps.
    func testSeminorm() throws {
        let f = TanhNetField(dimension: 3, hidden: 16, seed: 11)
        let tol = 1e-6
        let solve = SolveOptions(method: .dopri5, rtol: tol, atol: tol)
        let y1 = try ODESolver(dimension: 3, options: solve).solve(f, y0: y0, from: 0, to: t1).y
        let a1 = lossGradient(y1)
        let full = try adjointGradient(of: f, finalState: y1, cotangent: a1, from: t1, to: 0,
                                       options: AdjointOptions(solve: solve, seminorm: false))
        let semi = try adjointGradient(of: f, finalState: y1, cotangent: a1, from: t1, to: 0,
                                       options: AdjointOptions(solve: solve, seminorm: true))
        print("backward steps: full norm \(full.stats.acceptedSteps)+\(full.stats.rejectedSteps) (NFE \(full.stats.evaluations)), seminorm \(semi.stats.acceptedSteps)+\(semi.stats.rejectedSteps) (NFE \(semi.stats.evaluations))")
        XCTAssertLessThanOrEqual(semi.stats.acceptedSteps + semi.stats.rejectedSteps,
                                 full.stats.acceptedSteps + full.stats.rejectedSteps)
        XCTAssertLessThan(relativeError(semi.thetaBar, full.thetaBar), 1e-4)
        XCTAssertLessThan(relativeError(semi.yBar, full.yBar), 1e-4)
    }
}
