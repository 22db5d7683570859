/// An explicit Runge–Kutta method as data: its Butcher tableau.
///
///     Y_i = y_n + h Σ_{j<i} a_ij k_j,    k_i = f(t_n + c_i h, Y_i)
///     y_{n+1} = y_n + h Σ_i b_i k_i,      err = h Σ_i e_i k_i   (e = b − b̂)
///
/// One stepper (`RKStepper`) runs every tableau; the methods differ only in these numbers.
public struct ButcherTableau: Sendable {
    public let name: String
    /// Node times c_i (c_0 = 0).
    public let c: [Double]
    /// Lower-triangular stage coefficients: `a[i]` has i entries.
    public let a: [[Double]]
    /// Weights of the propagated solution.
    public let b: [Double]
    /// Error weights e = b − b̂ against the embedded solution; nil for fixed-step methods.
    public let e: [Double]?
    /// Order of the propagated solution.
    public let order: Int
    /// Order of the embedded solution (the error estimate is O(h^(embeddedOrder+1))).
    public let embeddedOrder: Int
    /// First same as last: the last stage is evaluated at y_{n+1} (its a-row equals b), so it is
    /// the next step's first stage and each attempted step costs `stages − 1` evaluations.
    public let fsal: Bool

    public var stages: Int { c.count }
    public var isAdaptive: Bool { e != nil }

    /// Evaluations an attempted step costs once the first stage is known.
    public var evaluationsPerStep: Int { fsal ? stages - 1 : stages }

    /// The one stage routine of every Runge–Kutta step, forward solve and backprop's replay alike:
    /// for each i in `range`,
    ///
    ///     Y_i = y + h Σ_{j<i} a_ij k_j,   k_i = f(t + c_i h, Y_i),
    ///
    /// with k_j (j < i) already in `k` (`stages × n`). Y_i is written to `inputs + i · inputStride`:
    /// stride 0 reuses one buffer for every stage (the forward step), stride n keeps each stage's
    /// input (the replay, whose reverse pass needs them). Returns the evaluations made.
    @inline(__always)
    func computeStages(_ f: VectorField, t: Double, h: Double, y: StateVector,
                       k: MutableStateVector, inputs: MutableStateVector, inputStride: Int,
                       dimension n: Int, range: Range<Int>) -> Int {
        var evals = 0
        let read = min(n, f.inputDimension)
        for i in range {
            let row = a[i], input = inputs + i * inputStride
            // Quadrature components are not read by f: only an FSAL last stage, whose input is
            // the new state, needs them (same operations per component either way).
            let m = fsal && i == stages - 1 ? n : read
            for d in 0..<m { input[d] = y[d] }
            for j in 0..<i where row[j] != 0 {
                let w = h * row[j], kj = k + j * n
                for d in 0..<m { input[d] += w * kj[d] }
            }
            f.evaluate(t: t + c[i] * h, y: input.readOnly, dy: k + i * n)
            evals += 1
        }
        return evals
    }
}

extension ButcherTableau {
    public static let euler = ButcherTableau(
        name: "euler", c: [0], a: [[]], b: [1], e: nil, order: 1, embeddedOrder: 0, fsal: false)

    /// Explicit midpoint rule.
    public static let midpoint = ButcherTableau(
        name: "midpoint", c: [0, 0.5], a: [[], [0.5]], b: [0, 1], e: nil,
        order: 2, embeddedOrder: 0, fsal: false)

    /// Heun's method (explicit trapezoidal rule).
    public static let heun = ButcherTableau(
        name: "heun", c: [0, 1], a: [[], [1]], b: [0.5, 0.5], e: nil,
        order: 2, embeddedOrder: 0, fsal: false)

    /// The classical fourth-order Runge–Kutta method.
    public static let rk4 = ButcherTableau(
        name: "rk4", c: [0, 0.5, 0.5, 1], a: [[], [0.5], [0, 0.5], [0, 0, 1]],
        b: [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6], e: nil, order: 4, embeddedOrder: 0, fsal: false)

    /// Bogacki–Shampine 3(2), FSAL.
    public static let bosh3 = ButcherTableau(
        name: "bosh3", c: [0, 0.5, 0.75, 1],
        a: [[], [0.5], [0, 0.75], [2.0 / 9, 1.0 / 3, 4.0 / 9]],
        b: [2.0 / 9, 1.0 / 3, 4.0 / 9, 0],
        e: [2.0 / 9 - 7.0 / 24, 1.0 / 3 - 1.0 / 4, 4.0 / 9 - 1.0 / 3, -1.0 / 8],
        order: 3, embeddedOrder: 2, fsal: true)

    /// Dormand–Prince 5(4), FSAL: the default, as in torchdiffeq and FFJORD.
    public static let dopri5 = ButcherTableau(
        name: "dopri5", c: [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1],
        a: [[],
            [1.0 / 5],
            [3.0 / 40, 9.0 / 40],
            [44.0 / 45, -56.0 / 15, 32.0 / 9],
            [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
            [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
            [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84]],
        b: [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0],
        e: [35.0 / 384 - 5179.0 / 57600, 0, 500.0 / 1113 - 7571.0 / 16695, 125.0 / 192 - 393.0 / 640,
            -2187.0 / 6784 + 92097.0 / 339200, 11.0 / 84 - 187.0 / 2100, -1.0 / 40],
        order: 5, embeddedOrder: 4, fsal: true)

    /// Tsitouras 5(4) (Tsitouras 2011, "Runge–Kutta pairs of order 5(4) satisfying only the
    /// first column simplifying assumption"), FSAL. Coefficients from the paper.
    public static let tsit5: ButcherTableau = {
        let b = [0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742,
                 -3.290069515436081, 2.324710524099774]
        let bHat = [0.09468075576583946, 0.009183565540343254, 0.4877705284247616,
                    1.234297566930479, -2.7077123499835256, 1.866628418170587, 1.0 / 66]
        return ButcherTableau(
            name: "tsit5", c: [0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1],
            a: [[],
                [0.161],
                [-0.008480655492356989, 0.335480655492357],
                [2.8971530571054935, -6.359448489975075, 4.3622954328695815],
                [5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525],
                [5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
                 -0.028269050394068383],
                b],
            b: b + [0],
            e: (0..<7).map { (($0 < 6 ? b[$0] : 0) - bHat[$0]) },
            order: 5, embeddedOrder: 4, fsal: true)
    }()
}

/// The methods offered by name (the configuration's `solver.method`).
public enum SolverMethod: String, CaseIterable, Sendable, Codable {
    case euler, midpoint, heun, rk4, bosh3, dopri5, tsit5

    public var tableau: ButcherTableau {
        switch self {
        case .euler: return .euler
        case .midpoint: return .midpoint
        case .heun: return .heun
        case .rk4: return .rk4
        case .bosh3: return .bosh3
        case .dopri5: return .dopri5
        case .tsit5: return .tsit5
        }
    }

    public var isAdaptive: Bool { tableau.isAdaptive }
}
