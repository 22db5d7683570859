/// The adjoint method (Chen et al. 2018, Algorithm 1).
///
/// For a loss L(y(t1)) with y' = f(t, y; θ), the adjoint a(t) = ∂L/∂y(t) and the parameter
/// cotangent θ̄(t) satisfy, solved backwards from t1 to t0 together with y itself:
///
///     dy/dt = f(t, y),   da/dt = −aᵀ ∂f/∂y,   dθ̄/dt = −aᵀ ∂f/∂θ,
///     a(t1) = ∂L/∂y(t1),  θ̄(t1) = 0,   so ∂L/∂y(t0) = a(t0), ∂L/∂θ = θ̄(t0).
///
/// Memory is constant in the number of steps: y is reconstructed backwards, not stored.
/// The backward solve has its own tolerances.
public struct AdjointOptions: Sendable, Codable, Equatable {
    public var solve: SolveOptions
    /// Leave θ̄ out of the backward error norm (Kidger, Chen & Lyons 2021, "Hey, that's
    /// not an ODE"): θ̄ never feeds back into the dynamics, so its error need not shorten steps.
    public var seminorm: Bool

    public init(solve: SolveOptions = SolveOptions(), seminorm: Bool = false) {
        self.solve = solve
        self.seminorm = seminorm
    }
}

public struct AdjointResult {
    /// ∂L/∂y(t0).
    public var yBar: [Double]
    /// ∂L/∂θ.
    public var thetaBar: [Double]
    /// y(t0) as reconstructed by the backward solve (compare with the true y(t0) to see the
    /// reconstruction error).
    public var reconstructed: [Double]
    public var stats: SolveStats
}

/// The augmented system [y, a, θ̄] as a vector field: one vector-Jacobian product of the
/// base field per evaluation, no allocation.
public final class AdjointField: VectorField {
    public let base: DifferentiableVectorField
    public let dimension: Int
    let n: Int, p: Int

    public init(_ base: DifferentiableVectorField) {
        self.base = base
        n = base.dimension
        p = base.parameterCount
        dimension = 2 * n + p
    }

    public func evaluate(t: Double, y: UnsafePointer<Double>, dy: UnsafeMutablePointer<Double>) {
        base.vectorJacobianProduct(t: t, y: y, cotangent: y + n, dy: dy, yBar: dy + n, thetaBar: dy + 2 * n)
        for i in n..<(2 * n + p) { dy[i] = -dy[i] }
    }
}

/// A reusable adjoint solver for one base field dimension: owns the augmented state and the
/// backward ODE solver.
public final class AdjointSolver {
    public let options: AdjointOptions
    let field: AdjointField
    let solver: ODESolver
    var state: [Double]

    public init(_ base: DifferentiableVectorField, options: AdjointOptions) throws {
        self.options = options
        field = AdjointField(base)
        var solve = options.solve
        let n = base.dimension, p = base.parameterCount
        solve.normGroups = [NormGroup(start: 0, count: n), NormGroup(start: n, count: n)]
        if !options.seminorm && p > 0 { solve.normGroups!.append(NormGroup(start: 2 * n, count: p)) }
        solver = try ODESolver(dimension: field.dimension, options: solve)
        state = [Double](repeating: 0, count: field.dimension)
    }

    /// Solves the augmented system from t1 back to t0.
    /// - Parameters:
    ///   - finalState: y(t1) from the forward solve.
    ///   - cotangent: ∂L/∂y(t1).
    public func gradient(finalState: [Double], cotangent: [Double], from t1: Double, to t0: Double) throws -> AdjointResult {
        let n = field.n, p = field.p
        precondition(finalState.count == n && cotangent.count == n)
        for i in 0..<n { state[i] = finalState[i]; state[n + i] = cotangent[i] }
        for i in 0..<p { state[2 * n + i] = 0 }
        let stats = try state.withUnsafeMutableBufferPointer {
            try solver.solve(field, state: $0.baseAddress!, from: t1, to: t0)
        }
        return AdjointResult(yBar: Array(state[n..<(2 * n)]), thetaBar: Array(state[(2 * n)...]),
                             reconstructed: Array(state[0..<n]), stats: stats)
    }
}

/// One-shot adjoint gradient: see `AdjointSolver`.
public func adjointGradient(of field: DifferentiableVectorField, finalState: [Double], cotangent: [Double],
                            from t1: Double, to t0: Double, options: AdjointOptions) throws -> AdjointResult {
    try AdjointSolver(field, options: options).gradient(finalState: finalState, cotangent: cotangent, from: t1, to: t0)
}
