import Foundation
import XCTest
@testable import ODE

/// y' = A y with the n × n entries of A as the parameters θ (row-major): the closed-form test
/// problem of the entry point. aᵀ∂f/∂y = Aᵀa, aᵀ∂f/∂A_ij = a_i y_j.
final class LinearField: DifferentiableVectorField {
    let dimension: Int
    var a: [Double]
    var parameterCount: Int { a.count }
    init(_ a: [[Double]]) {
        dimension = a.count
        self.a = a.flatMap { $0 }
    }
    func evaluate(t: Double, y: StateVector, dy: MutableStateVector) {
        let n = dimension
        for i in 0..<n {
            var s = 0.0
            for j in 0..<n { s += a[i * n + j] * y[j] }
            dy[i] = s
        }
    }
    func vectorJacobianProduct(t: Double, y: StateVector, cotangent c: StateVector,
                               dy: MutableStateVector, yBar: MutableStateVector,
                               thetaBar: MutableStateVector) {
        evaluate(t: t, y: y, dy: dy)
        let n = dimension
        for j in 0..<n {
            var s = 0.0
            for i in 0..<n { s += c[i] * a[i * n + j] }
            yBar[j] = s
        }
        for i in 0..<n { for j in 0..<n { thetaBar[i * n + j] = c[i] * y[j] } }
    }
}

/// Dense matrices for the closed forms (row-major, m × m).
private func matmul(_ x: [Double], _ y: [Double], _ m: Int) -> [Double] {
    var z = [Double](repeating: 0, count: m * m)
    for i in 0..<m { for k in 0..<m { for j in 0..<m { z[i * m + j] += x[i * m + k] * y[k * m + j] } } }
    return z
}

/// exp(M) by scaling and squaring with a 24-term Taylor series: ~1e-15 relative for the small
/// matrices here.
private func expm(_ mat: [Double], _ m: Int) -> [Double] {
    let norm = mat.map(abs).max()! * Double(m)
    let s = max(0, Int(log2(max(norm, 1e-300)).rounded(.up)) + 1)
    let scaled = mat.map { $0 / pow(2, Double(s)) }
    var result = [Double](repeating: 0, count: m * m)
    var term = result
    for i in 0..<m { result[i * m + i] = 1; term[i * m + i] = 1 }
    for k in 1...24 {
        term = matmul(term, scaled, m).map { $0 / Double(k) }
        for i in 0..<(m * m) { result[i] += term[i] }
    }
    for _ in 0..<s { result = matmul(result, result, m) }
    return result
}

private func matvec(_ x: [Double], _ v: [Double]) -> [Double] {
    let m = v.count
    return (0..<m).map { i in (0..<m).reduce(0) { $0 + x[i * m + $1] * v[$1] } }
}

private func transpose(_ x: [Double], _ m: Int) -> [Double] {
    (0..<(m * m)).map { x[($0 % m) * m + $0 / m] }
}

private func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / b.map { $0 * $0 }.reduce(0, +).squareRoot()
}

final class SolveTests: XCTestCase {
    let matrix: [[Double]] = [[-0.5, 1.2, 0.1], [-0.9, -0.3, 0.4], [0.2, -0.4, -0.8]]
    let y0: [Double] = [1, -0.5, 0.25]
    let c: [Double] = [0.7, -1.1, 0.4]  // L = cᵀ y(T)
    let T = 1.3
    let tight = SolveOptions(method: .dopri5, rtol: 1e-11, atol: 1e-11)

    /// The exact gradient of L = cᵀ exp(AT) y0: ∂L/∂y0 = exp(AT)ᵀ c, and ∂L/∂A_ij = cᵀ D_ij y0
    /// with D_ij the Fréchet derivative of exp at AT in the direction E_ij T, the upper-right
    /// block of exp([[AT, E_ij T], [0, AT]]) (Van Loan 1978).
    func closedFormGradient() -> (y0: [Double], theta: [Double]) {
        let n = 3, a = matrix.flatMap { $0 }
        let gy = matvec(transpose(expm(a.map { $0 * T }, n), n), c)
        var gTheta: [Double] = []
        for i in 0..<n {
            for j in 0..<n {
                var block = [Double](repeating: 0, count: 4 * n * n)
                for r in 0..<n {
                    for s in 0..<n {
                        block[r * 2 * n + s] = a[r * n + s] * T
                        block[(n + r) * 2 * n + n + s] = a[r * n + s] * T
                    }
                }
                block[i * 2 * n + n + j] = T
                let e = expm(block, 2 * n)
                var d = [Double](repeating: 0, count: n * n)
                for r in 0..<n { for s in 0..<n { d[r * n + s] = e[r * 2 * n + n + s] } }
                gTheta.append(zip(c, matvec(d, y0)).reduce(0) { $0 + $1.0 * $1.1 })
            }
        }
        return (gy, gTheta)
    }

    func testFinalStateMatchesMatrixExponential() throws {
        let f = LinearField(matrix)
        let solution = try solve(f, y0: y0, from: 0, to: T, options: tight)
        let exact = matvec(expm(f.a.map { $0 * T }, 3), y0)
        XCTAssertLessThan(maxError(solution.y, exact), 1e-9, "\(solution.y) vs \(exact)")
        XCTAssertGreaterThan(solution.stats.acceptedSteps, 0)
        // Backwards from T returns to y0.
        let back = try solve(f, y0: solution.y, from: T, to: 0, options: tight)
        XCTAssertLessThan(maxError(back.y, y0), 1e-9)
    }

    func testAdjointAndBackpropPullbacksMatchClosedForm() throws {
        let exact = closedFormGradient()
        let f = LinearField(matrix)
        for route in [GradientMethod.adjoint(AdjointOptions(solve: tight)),
                      .adjoint(AdjointOptions(solve: tight, seminorm: true)), .backprop] {
            let solution = try solve(f, y0: y0, from: 0, to: T, options: tight, gradient: route)
            XCTAssertTrue(solution.hasPullback)
            XCTAssertGreaterThan(solution.gradientMemoryBytes, 0)
            let g = try solution.pullback(c)
            let eY = relativeError(g.y0, exact.y0), eTheta = relativeError(g.theta, exact.theta)
            print("\(route.name): relative error ∂L/∂y0 \(eY), ∂L/∂A \(eTheta)")
            XCTAssertLessThan(eY, 1e-8, "\(route)")
            XCTAssertLessThan(eTheta, 1e-8, "\(route)")
            XCTAssertGreaterThan(g.stats.evaluations, 0)
            // A second pullback gives the same values (the route's buffers are reused, not consumed).
            let again = try solution.pullback(c)
            XCTAssertEqual(again.y0, g.y0)
            XCTAssertEqual(again.theta, g.theta)
            if case .adjoint = route {
                XCTAssertLessThan(maxError(g.reconstructedY0!, y0), 1e-9)
            } else {
                XCTAssertNil(g.reconstructedY0)
            }
        }
    }

    /// Backprop through a coarse fixed-step solve is the exact gradient of that discretization:
    /// central differences of the same coarse solve agree to ~1e-9, the true gradient does not.
    func testBackpropIsTheDiscreteGradient() throws {
        var coarse = SolveOptions(method: .rk4)
        coarse.step = 0.4
        let f = LinearField(matrix)
        let g = try solve(f, y0: y0, from: 0, to: T, options: coarse, gradient: .backprop).pullback(c)
        func lossAt(_ theta: [Double]) throws -> Double {
            let field = LinearField(matrix)
            field.a = theta
            return zip(c, try solve(field, y0: y0, from: 0, to: T, options: coarse).y).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let eps = 1e-6
        for q in 0..<9 {
            var up = f.a, down = f.a
            up[q] += eps; down[q] -= eps
            XCTAssertEqual(g.theta[q], (try lossAt(up) - lossAt(down)) / (2 * eps), accuracy: 1e-8)
        }
        XCTAssertGreaterThan(relativeError(g.theta, closedFormGradient().theta), 1e-5,
                             "a step of 0.4 is coarse: its exact gradient differs from the ODE's")
    }

    /// The entry point runs the same engine and the same routes as before: bit for bit.
    func testSameBitsAsTheEngineAndRoutes() throws {
        let f = TanhNetField(dimension: 3, hidden: 5, seed: 4)
        let o = SolveOptions(method: .tsit5, rtol: 1e-7, atol: 1e-7)
        let tape = StepTape()
        let engine = try ODESolver(dimension: 3, options: o).solve(f, y0: y0, from: 0, to: T, tape: tape)
        let viaBackprop = try solve(f, y0: y0, from: 0, to: T, options: o, gradient: .backprop)
        XCTAssertEqual(viaBackprop.y, engine.y)
        XCTAssertEqual(viaBackprop.stats, engine.stats)
        var yBar = c, thetaBar = [Double](repeating: 0, count: f.parameterCount)
        let work = backpropagate(f, tape: tape, yBar: &yBar, thetaBar: &thetaBar)
        let b = try viaBackprop.pullback(c)
        XCTAssertEqual(b.y0, yBar)
        XCTAssertEqual(b.theta, thetaBar)
        XCTAssertEqual(b.stats.evaluations, work)
        XCTAssertEqual(b.stats.acceptedSteps, tape.count)

        let adjointOptions = AdjointOptions(solve: o, seminorm: true)
        let viaAdjoint = try solve(f, y0: y0, from: 0, to: T, options: o, gradient: .adjoint(adjointOptions))
        XCTAssertEqual(viaAdjoint.y, engine.y)
        let direct = try adjointGradient(of: f, finalState: engine.y, cotangent: c, from: T, to: 0, options: adjointOptions)
        let a = try viaAdjoint.pullback(c)
        XCTAssertEqual(a.y0, direct.yBar)
        XCTAssertEqual(a.theta, direct.thetaBar)
        XCTAssertEqual(a.stats, direct.stats)
    }

    func testNoneHasNoPullback() throws {
        let f = LinearField(matrix)
        let solution = try solve(f, y0: y0, from: 0, to: T)
        XCTAssertFalse(solution.hasPullback)
        XCTAssertEqual(solution.gradientMemoryBytes, 0)
        XCTAssertThrowsError(try solution.pullback(c)) { error in
            XCTAssertEqual(error as? ODEError, .noPullback)
            XCTAssertTrue("\(error)".contains("gradient .none"), "\(error)")
        }
        // A gradient route needs vector-Jacobian products.
        let plain = ClosureField(1) { _, y, dy in dy[0] = -y[0] }
        for route in [GradientMethod.backprop, .adjoint(AdjointOptions())] {
            XCTAssertThrowsError(try solve(plain, y0: [1], from: 0, to: 1, gradient: route)) { error in
                XCTAssertTrue("\(error)".contains("the \(route.name) gradient needs a DifferentiableVectorField"), "\(error)")
            }
        }
        XCTAssertThrowsError(try solve(f, y0: [1, 2], from: 0, to: 1)) { error in
            XCTAssertEqual("\(error)", "invalid solver input: y0 has 2 values, the field's dimension is 3")
        }
        XCTAssertThrowsError(try solve(f, y0: y0, from: 0, to: 1, gradient: .backprop).pullback([1])) { error in
            XCTAssertTrue("\(error)".contains("the cotangent has 1 values, the state 3"), "\(error)")
        }
    }

    /// A user's norm groups for y are mapped onto the augmented state, never dropped: with a
    /// fast rotation left out of the norm, the backward solve takes far fewer steps, and the
    /// component inside the norm is still accurate.
    func testAdjointHonoursNormGroups() throws {
        // y0' = −0.1 y0 (slow); (y1, y2) rotate at angular frequency 20 (fast).
        let a: [[Double]] = [[-0.1, 0, 0], [0, 0, -20], [0, 20, 0]]
        let f = LinearField(a)
        var grouped = SolveOptions(method: .dopri5, rtol: 1e-8, atol: 1e-8)
        grouped.normGroups = [NormGroup(start: 0, count: 1)]
        let options = AdjointOptions(solve: grouped, seminorm: true)
        XCTAssertEqual(try options.augmentedNormGroups(dimension: 3, parameters: 9),
                       [NormGroup(start: 0, count: 1), NormGroup(start: 3, count: 1)])
        XCTAssertEqual(try AdjointOptions(solve: grouped, seminorm: false).augmentedNormGroups(dimension: 3, parameters: 9),
                       [NormGroup(start: 0, count: 1), NormGroup(start: 3, count: 1), NormGroup(start: 6, count: 9)])
        XCTAssertEqual(try AdjointOptions(solve: tight).augmentedNormGroups(dimension: 3, parameters: 9),
                       [NormGroup(start: 0, count: 3), NormGroup(start: 3, count: 3), NormGroup(start: 6, count: 9)])

        let forward = SolveOptions(method: .dopri5, rtol: 1e-8, atol: 1e-8)
        let cotangent: [Double] = [1, 0, 0]
        let withGroups = try solve(f, y0: y0, from: 0, to: 2, options: forward, gradient: .adjoint(options)).pullback(cotangent)
        let without = try solve(f, y0: y0, from: 0, to: 2, options: forward,
                                gradient: .adjoint(AdjointOptions(solve: forward, seminorm: true))).pullback(cotangent)
        let steps = { (s: SolveStats) in s.acceptedSteps + s.rejectedSteps }
        print("backward steps: norm groups [y0] \(steps(withGroups.stats)), whole state \(steps(without.stats))")
        XCTAssertLessThan(2 * steps(withGroups.stats), steps(without.stats))
        XCTAssertEqual(withGroups.y0[0], exp(-0.2), accuracy: 1e-7)

        // Groups outside y (say, written for the augmented state) are refused, not reinterpreted.
        var augmented = forward
        augmented.normGroups = [NormGroup(start: 0, count: 3), NormGroup(start: 3, count: 3)]
        XCTAssertThrowsError(try solve(f, y0: y0, from: 0, to: 2, options: forward,
                                       gradient: .adjoint(AdjointOptions(solve: augmented)))) { error in
            XCTAssertTrue("\(error)".contains("adjoint norm group 3..<6 is outside the state y of dimension 3"), "\(error)")
        }
    }

    func testSaveAtTimes() throws {
        let f = LinearField(matrix)
        let times = [0, 0.2, 0.2, 0.9, T]
        var seen: [Int] = []
        let solution = try solve(f, y0: y0, from: 0, to: T, options: tight, saveAt: .times(times) { i, y in
            seen.append(i)
            XCTAssertEqual(y.count, 3)
            let exact = matvec(expm(f.a.map { $0 * times[i] }, 3), self.y0)
            XCTAssertLessThan(maxError(Array(y), exact), 1e-9, "t = \(times[i])")
        })
        XCTAssertEqual(seen, [0, 1, 2, 3, 4])
        let plain = try solve(f, y0: y0, from: 0, to: T, options: tight)
        XCTAssertLessThan(maxError(solution.y, plain.y), 1e-10)
        // Backwards, and a time outside the span.
        var back: [Double] = []
        _ = try solve(f, y0: solution.y, from: T, to: 0, options: tight, saveAt: .times([0.5]) { _, y in back = Array(y) })
        XCTAssertLessThan(maxError(back, matvec(expm(f.a.map { $0 * 0.5 }, 3), y0)), 1e-9)
        XCTAssertThrowsError(try solve(f, y0: y0, from: 0, to: T, saveAt: .times([1.5]) { _, _ in })) { error in
            XCTAssertTrue("\(error)".contains("save time 1.5 (index 0) is outside the span from 0.0 to 1.3"), "\(error)")
        }
    }

    /// A workspace keeps one forward solver per (dimension, options), one adjoint solver per
    /// field, one replay per shape; reusing it changes no result.
    func testWorkspaceReuse() throws {
        let f = LinearField(matrix)
        let workspace = SolveWorkspace()
        let route = GradientMethod.adjoint(AdjointOptions(solve: tight))
        let first = try solve(f, y0: y0, from: 0, to: T, options: tight, gradient: route, workspace: workspace).pullback(c)
        let second = try solve(f, y0: y0, from: 0, to: T, options: tight, gradient: route, workspace: workspace).pullback(c)
        let fresh = try solve(f, y0: y0, from: 0, to: T, options: tight, gradient: route).pullback(c)
        XCTAssertEqual(first.theta, second.theta)
        XCTAssertEqual(first.theta, fresh.theta)
        _ = try solve(f, y0: y0, from: 0, to: T, options: tight, gradient: .backprop, workspace: workspace).pullback(c)
        _ = try solve(f, y0: y0, from: 0, to: T, options: tight, gradient: .backprop, workspace: workspace).pullback(c)
        XCTAssertEqual(workspace.forward.count, 1)
        XCTAssertEqual(workspace.adjoints.count, 1)
        XCTAssertEqual(workspace.replays.count, 1)
        workspace.removeAll()
        XCTAssertTrue(workspace.forward.isEmpty && workspace.adjoints.isEmpty && workspace.replays.isEmpty)
    }
}
