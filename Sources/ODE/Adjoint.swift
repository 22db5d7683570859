/// The adjoint method (Chen et al. 2018, Algorithm 1).
///
/// For a loss L(y(t1)) with y' = f(t, y; θ), the adjoint a(t) = ∂L/∂y(t) and the parameter
/// cotangent θ̄(t) satisfy, solved backwards from t1 to t0 together with y itself:
///
///     dy/dt = f(t, y),   da/dt = −aᵀ ∂f/∂y,   dθ̄/dt = −aᵀ ∂f/∂θ,
///     a(t1) = ∂L/∂y(t1),  θ̄(t1) = 0,   so ∂L/∂y(t0) = a(t0), ∂L/∂θ = θ̄(t0).
///
/// Memory is constant in the number of steps: y is reconstructed backwards, not stored.
/// The backward solve has its own tolerances; `solve.normGroups`, when given, are groups of y
/// and are mapped onto the augmented state (see `augmentedNormGroups`). The route is chosen with
/// `GradientMethod.adjoint` in `solve(_:y0:from:to:options:saveAt:gradient:workspace:)`.
public struct AdjointOptions: Sendable, Codable, Equatable {
    /// The backward solve's method, tolerances and controller; its norm groups are groups of y.
    public var solve: SolveOptions
    /// Leave θ̄ out of the backward error norm (Kidger, Chen & Lyons 2021, "Hey, that's
    /// not an ODE"): θ̄ never feeds back into the dynamics, so its error need not shorten steps.
    public var seminorm: Bool

    /// Defaults: `SolveOptions()` and the full norm (θ̄ in the error norm).
    public init(solve: SolveOptions = SolveOptions(), seminorm: Bool = false) {
        self.solve = solve
        self.seminorm = seminorm
    }
}

extension AdjointOptions {
    /// The backward solve's error-norm groups over the augmented state [y, a, θ̄] (dimensions n,
    /// n, p). `solve.normGroups` are read as groups of y (nil: all of y, one group); a gets the
    /// same groups shifted by n, θ̄ one group of its own unless `seminorm`. A user's groups are
    /// mapped, never replaced; a group outside y is an error.
    public func augmentedNormGroups(dimension n: Int, parameters p: Int) throws -> [NormGroup] {
        let yGroups = solve.normGroups ?? [NormGroup(start: 0, count: n)]
        for g in yGroups where g.start < 0 || g.count < 0 || g.start + g.count > n {
            throw ODEError.invalidOptions("adjoint norm group \(g.start)..<\(g.start + g.count) is outside the state y of dimension \(n) (the adjoint's norm groups are groups of y: its cotangent gets the same groups, the parameter cotangent one of its own unless seminorm)")
        }
        var groups = yGroups + yGroups.map { NormGroup(start: n + $0.start, count: $0.count) }
        if !seminorm && p > 0 { groups.append(NormGroup(start: 2 * n, count: p)) }
        return groups
    }
}

/// What one backward solve gives.
struct AdjointResult {
    /// ∂L/∂y(t0).
    var yBar: [Double]
    /// ∂L/∂θ.
    var thetaBar: [Double]
    /// y(t0) as reconstructed by the backward solve (compare with the true y(t0) to see the
    /// reconstruction error).
    var reconstructed: [Double]
    var stats: SolveStats
}

/// The augmented system [y, a, θ̄] as a vector field: one vector-Jacobian product of the
/// base field per evaluation, no allocation.
final class AdjointField: VectorField {
    let base: DifferentiableVectorField
    let dimension: Int
    let n: Int, p: Int

    init(_ base: DifferentiableVectorField) {
        self.base = base
        n = base.dimension
        p = base.parameterCount
        dimension = 2 * n + p
    }

    /// θ̄ is a quadrature: the VJP reads y and a only.
    var inputDimension: Int { 2 * n }

    func evaluate(t: Double, y: StateVector, dy: MutableStateVector) {
        base.vectorJacobianProduct(t: t, y: y, cotangent: y + n, dy: dy, yBar: dy + n, thetaBar: dy + 2 * n)
        for i in n..<(2 * n + p) { dy[i] = -dy[i] }
    }
}

/// The adjoint route's solver for one base field: owns the augmented state and the backward
/// ODE solver (about (stages + 4)(2n + p) Doubles), built once and reused by every pullback.
final class AdjointSolver {
    let options: AdjointOptions
    let field: AdjointField
    let solver: ODESolver
    var state: [Double]

    init(_ base: DifferentiableVectorField, options: AdjointOptions) throws {
        self.options = options
        field = AdjointField(base)
        var solve = options.solve
        solve.normGroups = try options.augmentedNormGroups(dimension: base.dimension, parameters: base.parameterCount)
        solver = try ODESolver(dimension: field.dimension, options: solve)
        state = [Double](repeating: 0, count: field.dimension)
    }

    /// Bytes of the augmented state and the backward solver's buffers.
    var bytes: Int { 8 * field.dimension * (solver.tableau.stages + 3) }

    /// Solves the augmented system from t1 back to t0.
    /// - Parameters:
    ///   - finalState: y(t1) from the forward solve.
    ///   - cotangent: ∂L/∂y(t1).
    func gradient(finalState: [Double], cotangent: [Double], from t1: Double, to t0: Double) throws -> AdjointResult {
        let n = field.n, p = field.p
        precondition(finalState.count == n && cotangent.count == n)
        for i in 0..<n { state[i] = finalState[i]; state[n + i] = cotangent[i] }
        for i in 0..<p { state[2 * n + i] = 0 }
        let stats = try state.withMutableStateVector {
            try solver.solve(field, state: $0, from: t1, to: t0)
        }
        return AdjointResult(yBar: Array(state[n..<(2 * n)]), thetaBar: Array(state[(2 * n)...]),
                             reconstructed: Array(state[0..<n]), stats: stats)
    }
}

/// One-shot adjoint gradient (tests): see `AdjointSolver`.
func adjointGradient(of field: DifferentiableVectorField, finalState: [Double], cotangent: [Double],
                     from t1: Double, to t0: Double, options: AdjointOptions) throws -> AdjointResult {
    try AdjointSolver(field, options: options).gradient(finalState: finalState, cotangent: cotangent, from: t1, to: t0)
}
