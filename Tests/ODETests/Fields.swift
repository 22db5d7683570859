import Foundation
import ODE

/// y' = g(t, y) from a closure, for tests.
final class ClosureField: VectorField {
    let dimension: Int
    let g: (Double, StateVector, MutableStateVector) -> Void
    var calls = 0
    init(_ n: Int, _ g: @escaping (Double, StateVector, MutableStateVector) -> Void) {
        dimension = n
        self.g = g
    }
    func evaluate(t: Double, y: StateVector, dy: MutableStateVector) {
        calls += 1
        g(t, y, dy)
    }
}

/// Test problems with closed-form solutions.
struct Problem {
    let name: String
    let y0: [Double]
    let t1: Double
    let field: () -> ClosureField
    let exact: (Double) -> [Double]

    static let decay = Problem(name: "decay", y0: [1], t1: 2,
                               field: { ClosureField(1) { _, y, dy in dy[0] = -1.3 * y[0] } },
                               exact: { [exp(-1.3 * $0)] })
    /// Harmonic oscillator / 2D rotation with angular frequency 2.
    static let rotation = Problem(name: "rotation", y0: [1, 0], t1: 3,
                                  field: { ClosureField(2) { _, y, dy in dy[0] = -2 * y[1]; dy[1] = 2 * y[0] } },
                                  exact: { [cos(2 * $0), sin(2 * $0)] })
    /// Logistic growth r = 1.5, K = 2, from 0.1.
    static let logistic = Problem(name: "logistic", y0: [0.1], t1: 4,
                                  field: { ClosureField(1) { _, y, dy in dy[0] = 1.5 * y[0] * (1 - y[0] / 2) } },
                                  exact: { t in [2 * 0.1 * exp(1.5 * t) / (2 + 0.1 * (exp(1.5 * t) - 1))] })
}

func maxError(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max()!
}

/// Least-squares slope of y against x.
func slope(_ x: [Double], _ y: [Double]) -> Double {
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0
    for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx) }
    return sxy / sxx
}

/// A small time-dependent tanh network, f(t, y) = W₂ tanh(W₁ y + b₁ + c t) + b₂, with a
/// hand-written vector-Jacobian product: the nonlinear field of the adjoint tests.
final class TanhNetField: DifferentiableVectorField {
    let dimension: Int
    let hidden: Int
    var theta: [Double]
    var parameterCount: Int { theta.count }
    var h: [Double], z: [Double]

    init(dimension n: Int, hidden m: Int, seed: UInt64) {
        dimension = n
        hidden = m
        var rng = SplitMix(seed)
        // Layout: W1 (m×n), b1 (m), c (m), W2 (n×m), b2 (n).
        theta = (0..<(m * n + m + m + n * m + n)).map { _ in rng.uniform(-1, 1) }
        h = [Double](repeating: 0, count: m)
        z = [Double](repeating: 0, count: m)
    }

    var offsets: (w1: Int, b1: Int, c: Int, w2: Int, b2: Int) {
        let m = hidden, n = dimension
        return (0, m * n, m * n + m, m * n + 2 * m, m * n + 2 * m + n * m)
    }

    func evaluate(t: Double, y: StateVector, dy: MutableStateVector) {
        let o = offsets, m = hidden, n = dimension
        for i in 0..<m {
            var a = theta[o.b1 + i] + theta[o.c + i] * t
            for j in 0..<n { a += theta[o.w1 + i * n + j] * y[j] }
            h[i] = Foundation.tanh(a)
        }
        for r in 0..<n {
            var s = theta[o.b2 + r]
            for i in 0..<m { s += theta[o.w2 + r * m + i] * h[i] }
            dy[r] = s
        }
    }

    func vectorJacobianProduct(t: Double, y: StateVector, cotangent a: StateVector,
                               dy: MutableStateVector, yBar: MutableStateVector,
                               thetaBar: MutableStateVector) {
        evaluate(t: t, y: y, dy: dy)
        let o = offsets, m = hidden, n = dimension
        for q in 0..<parameterCount { thetaBar[q] = 0 }
        for j in 0..<n { yBar[j] = 0 }
        for r in 0..<n {
            thetaBar[o.b2 + r] = a[r]
            for i in 0..<m { thetaBar[o.w2 + r * m + i] = a[r] * h[i] }
        }
        for i in 0..<m {
            var hb = 0.0
            for r in 0..<n { hb += a[r] * theta[o.w2 + r * m + i] }
            let ab = hb * (1 - h[i] * h[i])
            thetaBar[o.b1 + i] = ab
            thetaBar[o.c + i] = ab * t
            for j in 0..<n {
                thetaBar[o.w1 + i * n + j] = ab * y[j]
                yBar[j] += ab * theta[o.w1 + i * n + j]
            }
        }
    }
}

/// A tiny independent generator so these tests do not depend on CNFCore.
struct SplitMix {
    var x: UInt64
    init(_ seed: UInt64) { x = seed }
    mutating func next() -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * Double(next() >> 11) * 0x1.0p-53
    }
}
