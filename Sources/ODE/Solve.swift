/// The one entry point of the ODE module, in the spirit of diffrax's `diffeqsolve`: a field, an
/// initial state, a time span, the method and step-size controller (`SolveOptions`), what to
/// save (`SaveAt`) and how to differentiate (`GradientMethod`), composed at the call.
///
///     let solution = try solve(field, y0: y0, from: 0, to: 1,
///                              options: SolveOptions(method: .dopri5, rtol: 1e-6, atol: 1e-6),
///                              gradient: .adjoint(AdjointOptions(seminorm: true)))
///     let y1 = solution.y                                  // y(1)
///     let cotangents = try solution.pullback(dLdy1)        // ∂L/∂y(0) and ∂L/∂θ
///
/// Integration runs forwards or backwards (t1 < t0). Errors (`ODEError`) say what failed and
/// where: invalid options or input, step-size underflow, the step limit, a non-finite state.
///
/// - Parameters:
///   - field: f in dy/dt = f(t, y). The gradient routes need a `DifferentiableVectorField`.
///   - y0: y(t0), `field.dimension` values.
///   - options: method, tolerances, step-size controller (I or PI coefficients), error norm.
///   - saveAt: `.final` (y(t1) only) or `.times(ts) { i, y in … }` for states along the way.
///   - gradient: `.none`, `.adjoint(AdjointOptions)` or `.backprop`: what `Solution.pullback`
///     runs. Backprop records the accepted steps (memory grows with them) in the solution.
///   - workspace: buffers to reuse across calls (training loops); nil allocates fresh ones.
/// - Returns: y(t1), the statistics, and for a gradient route the pullback.
public func solve(_ field: VectorField, y0: [Double], from t0: Double, to t1: Double,
                  options: SolveOptions = SolveOptions(), saveAt: SaveAt = .final,
                  gradient: GradientMethod = .none, workspace: SolveWorkspace? = nil) throws -> Solution {
    let n = field.dimension
    guard y0.count == n else {
        throw ODEError.invalidInput("y0 has \(y0.count) values, the field's dimension is \(n)")
    }
    let work = workspace ?? SolveWorkspace()
    // Everything the route needs is checked and built before the forward solve spends any work.
    var route = Solution.Route.none
    var tape: StepTape? = nil
    switch gradient {
    case .none:
        break
    case .adjoint(let adjointOptions):
        let f = try differentiable(field, gradient)
        route = .adjoint(try work.adjointSolver(for: f, options: adjointOptions))
    case .backprop:
        let f = try differentiable(field, gradient)
        let t = StepTape()
        tape = t
        route = .backprop(f, t, work.replay(dimension: n, stages: options.method.tableau.stages,
                                             parameters: f.parameterCount))
    }
    let solver = try work.forwardSolver(dimension: n, options: options)

    var times = [t0]
    var callback: ((Int, StateVector) -> Void)? = nil
    if case .times(let ts, let observe) = saveAt {
        let direction: Double = t1 >= t0 ? 1 : -1
        for (i, t) in ts.enumerated() where !((t - t0) * direction >= 0 && (t1 - t) * direction >= 0) {
            throw ODEError.invalidOptions("save time \(t) (index \(i)) is outside the span from \(t0) to \(t1)")
        }
        times += ts
        callback = observe
    }
    times.append(t1)
    let saved = times.count - 2

    var y = y0
    let stats = try y.withMutableStateVector { state in
        // The engine reports every time it lands on, the start included; the caller asked for
        // times[1...saved].
        try solver.solve(field, state: state, times: times, tape: tape) { k, state in
            if let callback, k >= 1, k <= saved { callback(k - 1, state) }
        }
    }
    return Solution(y: y, t0: t0, t1: t1, stats: stats, route: route)
}

/// `field` as a differentiable field, or the error that says why a gradient route needs one.
private func differentiable(_ field: VectorField, _ gradient: GradientMethod) throws -> DifferentiableVectorField {
    guard let f = field as? DifferentiableVectorField else {
        throw ODEError.invalidOptions("the \(gradient.name) gradient needs a DifferentiableVectorField (vector-Jacobian products); \(type(of: field)) is not one")
    }
    return f
}

/// What a solve reports besides y(t1) (always in `Solution.y`).
public enum SaveAt {
    /// y(t1) only.
    case final
    /// Also y at each of `times` (inside the span, monotone in the direction of integration,
    /// t0 and t1 allowed): `observe(i, y(times[i]))` is called as the solve passes them, with a
    /// view valid only during the call (`Array(y)` keeps a copy). Steps are shortened to land on each time exactly.
    /// A gradient route differentiates y(t1) only.
    case times([Double], observe: (Int, StateVector) -> Void)
}

/// How `Solution.pullback` differentiates the solve: the gradient route as a value.
public enum GradientMethod: Equatable, Sendable {
    /// No gradient: nothing is recorded, `pullback` throws.
    case none
    /// The adjoint method (constant memory; the backward solve has its own options): see
    /// `AdjointOptions`.
    case adjoint(AdjointOptions)
    /// Backpropagation through the accepted steps: the exact gradient of the discretized solve;
    /// memory grows with the number of steps (y_n, t_n, h_n each).
    case backprop

    /// "none", "adjoint" or "backprop".
    public var name: String {
        switch self {
        case .none: return "none"
        case .adjoint: return "adjoint"
        case .backprop: return "backprop"
        }
    }
}

/// The result of `solve`: y(t1), the statistics, and the route's pullback.
public struct Solution {
    /// y(t1).
    public let y: [Double]
    /// The span solved, from t0 to t1 (the pullback runs it backwards).
    public let t0: Double
    public let t1: Double
    /// Evaluations and steps of the forward solve.
    public let stats: SolveStats

    enum Route {
        case none
        case adjoint(AdjointSolver)
        case backprop(DifferentiableVectorField, StepTape, BackpropReplay)
    }
    let route: Route

    /// True when the solve was made with a gradient route (not `.none`).
    public var hasPullback: Bool {
        if case .none = route { return false }
        return true
    }

    /// Bytes of solver state the pullback needs beyond the field: the recorded steps for
    /// backprop (grows with the number of steps), the augmented state [y, a, θ̄] and its stage
    /// buffers for the adjoint (constant); 0 without a gradient route.
    public var gradientMemoryBytes: Int {
        switch route {
        case .none: return 0
        case .adjoint(let solver): return solver.bytes
        case .backprop(_, let tape, _): return tape.bytes
        }
    }

    /// Pulls a cotangent ∂L/∂y(t1) back to ∂L/∂y(t0) and ∂L/∂θ. Can be called more than once.
    /// Not thread-safe: it uses the workspace's buffers.
    public func pullback(_ cotangent: [Double]) throws -> Cotangents {
        guard cotangent.count == y.count else {
            throw ODEError.invalidInput("the cotangent has \(cotangent.count) values, the state \(y.count)")
        }
        switch route {
        case .none:
            throw ODEError.noPullback
        case .adjoint(let solver):
            let r = try solver.gradient(finalState: y, cotangent: cotangent, from: t1, to: t0)
            return Cotangents(y0: r.yBar, theta: r.thetaBar, stats: r.stats, reconstructedY0: r.reconstructed)
        case .backprop(let field, let tape, let replay):
            var yBar = cotangent
            var thetaBar = [Double](repeating: 0, count: field.parameterCount)
            var stats = SolveStats()
            stats.evaluations = replay.pullback(field, tape: tape, yBar: &yBar, thetaBar: &thetaBar)
            stats.acceptedSteps = tape.count
            return Cotangents(y0: yBar, theta: thetaBar, stats: stats, reconstructedY0: nil)
        }
    }
}

/// What `Solution.pullback` returns.
public struct Cotangents {
    /// ∂L/∂y(t0).
    public var y0: [Double]
    /// ∂L/∂θ (the field's `parameterCount` values).
    public var theta: [Double]
    /// The backward work: the adjoint's backward solve, or for backprop the replayed evaluations
    /// plus vector-Jacobian products and the steps replayed.
    public var stats: SolveStats
    /// The adjoint's reconstruction of y(t0) by the backward solve (nil for backprop); its
    /// distance to the true y(t0) measures the reconstruction error.
    public var reconstructedY0: [Double]?
}

/// Buffers `solve` reuses across calls: forward solvers by dimension and options, the adjoint's
/// backward solvers by field and options, backprop's replay buffers by shape. Give one workspace
/// to the repeated solves of a training loop and no solve allocates more than its result arrays
/// (and backprop's tape). Not thread-safe: one workspace per thread. A cached adjoint solver
/// holds its field, so fields stay alive while cached (`removeAll()` releases them).
public final class SolveWorkspace {
    struct ForwardKey: Hashable { var dimension: Int; var options: SolveOptions }
    struct ReplayKey: Hashable { var dimension: Int; var stages: Int; var parameters: Int }
    var forward: [ForwardKey: ODESolver] = [:]
    var adjoints: [ObjectIdentifier: AdjointSolver] = [:]
    var replays: [ReplayKey: BackpropReplay] = [:]
    /// Entries of each kind kept before the cache is cleared (shapes change rarely).
    static let capacity = 16

    /// An empty workspace; buffers are made on first use.
    public init() {}

    /// Releases every buffer (and the fields the adjoint solvers hold).
    public func removeAll() {
        forward.removeAll()
        adjoints.removeAll()
        replays.removeAll()
    }

    func forwardSolver(dimension: Int, options: SolveOptions) throws -> ODESolver {
        let key = ForwardKey(dimension: dimension, options: options)
        if let s = forward[key] { return s }
        if forward.count >= SolveWorkspace.capacity { forward.removeAll() }
        let s = try ODESolver(dimension: dimension, options: options)
        forward[key] = s
        return s
    }

    func adjointSolver(for field: DifferentiableVectorField, options: AdjointOptions) throws -> AdjointSolver {
        let key = ObjectIdentifier(field)
        if let s = adjoints[key], s.options == options { return s }
        if adjoints.count >= SolveWorkspace.capacity { adjoints.removeAll() }
        let s = try AdjointSolver(field, options: options)
        adjoints[key] = s
        return s
    }

    func replay(dimension: Int, stages: Int, parameters: Int) -> BackpropReplay {
        let key = ReplayKey(dimension: dimension, stages: stages, parameters: parameters)
        if let r = replays[key] { return r }
        if replays.count >= SolveWorkspace.capacity { replays.removeAll() }
        let r = BackpropReplay(dimension: dimension, stages: stages, parameters: parameters)
        replays[key] = r
        return r
    }
}
