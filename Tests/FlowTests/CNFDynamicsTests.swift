import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

final class CNFDynamicsTests: XCTestCase {
    func makeNet(seed: UInt64, d: Int = 2, activation: Activation = .tanh) -> ODENet<Double> {
        var g = Xoshiro256(seed: seed)
        return ODENet(configuration: ODENetConfiguration(dimension: d, hiddenWidths: [8, 8, 8], activation: activation),
                      generator: &g)
    }

    func evaluate<N>(_ field: CNFDynamics<N>, t: Double, _ s: [Double]) -> [Double] {
        var dy = [Double](repeating: .nan, count: field.dimension)
        field.evaluate(t: t, y: s, dy: &dy)
        return dy
    }

    /// g's parts against their definitions, with J from central differences of f:
    /// dℓ = −tr J (exact) or −εᵀJε, dK = ‖f‖², dJf = ‖J‖²_F (exact) or ‖Jε‖².
    func testEvaluateMatchesDefinitions() {
        let net = makeNet(seed: 1)
        let n = 4, d = 2, t = 0.3, h = 1e-5
        var g = Xoshiro256(seed: 2)
        let z = randomValues(n * d, &g, scale: 1.5)
        let plain = CNFDynamics(network: net, batchSize: n, divergence: .off, chunks: 1, threads: 1)
        func f(_ z: [Double]) -> [Double] { evaluate(plain, t: t, z) }
        // J_i[:, j] by central differences, per sample.
        var jac = [[Double]](repeating: [Double](repeating: 0, count: d * d), count: n)
        for j in 0..<d {
            var zp = z, zm = z
            for i in 0..<n { zp[i * d + j] += h; zm[i * d + j] -= h }
            let fp = f(zp), fm = f(zm)
            for i in 0..<n { for r in 0..<d { jac[i][r * d + j] = (fp[i * d + r] - fm[i * d + r]) / (2 * h) } }
        }
        let fz = f(z)
        for divergence in [Divergence.exact, .hutchinson] {
            let field = CNFDynamics(network: net, batchSize: n, divergence: divergence,
                                    kineticEnergy: true, jacobianFrobenius: true, chunks: 2, threads: 1)
            let eps = divergence == .hutchinson ? field.drawNoise(.gaussian, using: &g) : []
            let dy = evaluate(field, t: t, field.initialState(points: z))
            XCTAssertEqual(Array(dy[field.layout.z]), fz)
            for i in 0..<n {
                let J = jac[i]
                var trace = 0.0, frob = 0.0
                if divergence == .exact {
                    for j in 0..<d { trace += J[j * d + j] }
                    frob = J.reduce(0) { $0 + $1 * $1 }
                } else {
                    let e = Array(eps[(i * d)..<((i + 1) * d)])
                    for r in 0..<d {
                        let je = (0..<d).reduce(0.0) { $0 + J[r * d + $1] * e[$1] }
                        trace += e[r] * je
                        frob += je * je
                    }
                }
                let kinetic = fz[(i * d)..<((i + 1) * d)].reduce(0) { $0 + $1 * $1 }
                XCTAssertEqual(dy[field.layout.logDensity!.lowerBound + i], -trace, accuracy: 1e-8, "\(divergence) dℓ")
                XCTAssertEqual(dy[field.layout.kineticEnergy!.lowerBound + i], kinetic, accuracy: 1e-14, "dK")
                XCTAssertEqual(dy[field.layout.jacobianFrobenius!.lowerBound + i], frob, accuracy: 1e-8, "\(divergence) dJf")
            }
        }
    }

    /// The full vector–Jacobian product against central differences of aᵀ g(s, θ), in s and θ,
    /// for every divergence, with and without the regularizer states.
    func testVectorJacobianProductMatchesFiniteDifferences() {
        var seed: UInt64 = 40
        for divergence in Divergence.allCases {
            for regularized in [false, true] {
                let net = makeNet(seed: seed, activation: regularized ? .softplus : .tanh)
                let field = CNFDynamics(network: net, batchSize: 5, divergence: divergence,
                                        kineticEnergy: regularized, jacobianFrobenius: regularized && divergence != .off,
                                        chunks: 2, threads: 1)
                var g = Xoshiro256(seed: seed + 1000)
                if divergence == .hutchinson { field.drawNoise(regularized ? .gaussian : .rademacher, using: &g) }
                let s = randomValues(field.dimension, &g, scale: 1.5)
                let a = randomValues(field.dimension, &g)
                checkVJP(field, t: 0.27, s: s, a: a, label: "\(divergence) regularized=\(regularized)")
                seed += 1
            }
        }
    }

    func checkVJP(_ field: CNFDynamics<ODENet<Double>>, t: Double, s: [Double], a: [Double], label: String,
                  file: StaticString = #filePath, line: UInt = #line) {
        let h = 1e-5
        var dy = [Double](repeating: .nan, count: field.dimension)
        var yBar = [Double](repeating: .nan, count: field.dimension)
        var thetaBar = [Double](repeating: .nan, count: field.parameterCount)
        field.vectorJacobianProduct(t: t, y: s, cotangent: a, dy: &dy, yBar: &yBar, thetaBar: &thetaBar)
        XCTAssertEqual(dy, evaluate(field, t: t, s), "\(label): vjp's dy differs from evaluate", file: file, line: line)
        func loss(_ s: [Double]) -> Double { zip(a, evaluate(field, t: t, s)).reduce(0) { $0 + $1.0 * $1.1 } }
        var fdS = [Double](repeating: 0, count: s.count)
        for i in 0..<s.count {
            var sp = s, sm = s
            sp[i] += h
            sm[i] -= h
            fdS[i] = (loss(sp) - loss(sm)) / (2 * h)
        }
        let errS = relativeError(yBar, fdS)
        XCTAssertLessThan(errS, 1e-6, "\(label): ȳ relative error \(errS)", file: file, line: line)
        // ℓ, K, Jf do not enter g: their cotangents are exactly 0.
        XCTAssertTrue(yBar[field.layout.z.count...].allSatisfy { $0 == 0 }, label, file: file, line: line)
        let theta = field.network.parameters
        var fdTheta = [Double](repeating: 0, count: theta.count)
        for p in 0..<theta.count {
            var tp = theta, tm = theta
            tp[p] += h
            tm[p] -= h
            field.network.parameters = tp
            let lp = loss(s)
            field.network.parameters = tm
            fdTheta[p] = (lp - loss(s)) / (2 * h)
        }
        field.network.parameters = theta
        let errTheta = relativeError(thetaBar, fdTheta)
        XCTAssertLessThan(errTheta, 1e-6, "\(label): θ̄ relative error \(errTheta)", file: file, line: line)
    }

    /// For f = A z: dz = A z, dℓ = −tr A exactly (exact divergence), and a fixed-step RK4 of
    /// the field reproduces z(T) = e^{AT} z(0) and ℓ(T) = −T tr A.
    func testLinearDynamicsClosedForm() {
        var g = Xoshiro256(seed: 9)
        let d = 3, n = 4, T = 0.5
        let A = Matrix<Double>(rows: d, cols: d, storage: randomValues(d * d, &g))
        let field = CNFDynamics(network: LinearDynamics(matrix: A), batchSize: n, divergence: .exact, chunks: 3, threads: 2)
        let x = randomValues(n * d, &g)
        let trace = (0..<d).reduce(0.0) { $0 + A[$1, $1] }
        let dy = evaluate(field, t: 0, field.initialState(points: x))
        for i in 0..<n { XCTAssertEqual(dy[field.layout.logDensity!.lowerBound + i], -trace, accuracy: 1e-14) }

        var s = field.initialState(points: x)
        let steps = 200, h = T / Double(steps)
        for step in 0..<steps {
            let t = Double(step) * h
            let k1 = evaluate(field, t: t, s)
            let k2 = evaluate(field, t: t + h / 2, zip(s, k1).map { $0 + h / 2 * $1 })
            let k3 = evaluate(field, t: t + h / 2, zip(s, k2).map { $0 + h / 2 * $1 })
            let k4 = evaluate(field, t: t + h, zip(s, k3).map { $0 + h * $1 })
            for i in 0..<s.count { s[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) }
        }
        let expAT = (T * A).exponential()
        for i in 0..<n {
            let zT = Matrix.product(expAT, Matrix(rows: d, cols: 1, storage: Array(x[(i * d)..<((i + 1) * d)])))
            for j in 0..<d { XCTAssertEqual(s[i * d + j], zT.storage[j], accuracy: 1e-9) }
            XCTAssertEqual(s[field.layout.logDensity!.lowerBound + i], -T * trace, accuracy: 1e-12)
        }
    }

    /// Fewer points than chunks, and an empty batch, are fine.
    func testTinyBatches() {
        let net = makeNet(seed: 3)
        for n in [0, 1, 2] {
            let field = CNFDynamics(network: net, batchSize: n, divergence: .exact, chunks: 4, threads: 2)
            var g = Xoshiro256(seed: 4)
            let s = randomValues(field.dimension, &g)
            let a = randomValues(field.dimension, &g)
            if n > 0 { checkVJP(field, t: 0.1, s: s, a: a, label: "N=\(n)") }
            XCTAssertEqual(evaluate(field, t: 0, s).count, 3 * n)
        }
    }
}
