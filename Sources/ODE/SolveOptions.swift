/// How to solve: method, tolerances and step control. A value, composed at the call
/// (as diffrax composes solver, controller and adjoint).
public struct SolveOptions: Sendable, Codable, Hashable {
    public var method: SolverMethod = .dopri5
    /// Relative and absolute tolerances of the adaptive methods. The error ratio of a step is
    /// RMS_i( err_i / (atol + rtol · max(|y0_i|, |y1_i|)) ); the step is accepted when ≤ 1.
    public var rtol: Double = 1e-5
    public var atol: Double = 1e-5
    /// Fixed-step methods: the step size (the interval is cut into ⌈|t1−t0|/h⌉ equal steps).
    /// Adaptive methods: the first step, instead of Hairer's selection when set.
    public var step: Double? = nil
    /// Smallest step magnitude allowed before "step size underflow" (0: only the floating-point
    /// limit, a few ulps of t).
    public var minStep: Double = 0
    public var maxStep: Double = .infinity
    /// Attempted steps (accepted + rejected) before "max steps reached".
    public var maxSteps: Int = 10_000
    /// Step-size controller: h_new = h · clamp(safety · r^(−β₁) · r_prev^(β₂)), with
    /// β₁ = (icoeff + pcoeff)/q, β₂ = pcoeff/q and q = embedded order + 1. icoeff 1, pcoeff 0
    /// is the classical integral controller; PI settings such as (0.3, 0.4) damp oscillating
    /// step sizes (Hairer & Wanner IV.2; Söderlind).
    public var safety: Double = 0.9
    public var minFactor: Double = 0.2
    public var maxFactor: Double = 10
    public var icoeff: Double = 1
    public var pcoeff: Double = 0
    /// The error norm: by default the RMS over the whole state. With groups, it is the largest
    /// of the RMS norms of each group (torchdiffeq's mixed norm), and components in no group
    /// are left out: a seminorm. The adjoint's backward solve over [y, a, θ̄] uses these groups
    /// for y, the same groups for a, and [θ̄] unless it is a seminorm (θ̄ never feeds back into
    /// the dynamics, so its error need not limit the step; Kidger, Chen & Lyons 2021); without
    /// groups that is [y], [a], [θ̄] (see `AdjointOptions.augmentedNormGroups`).
    public var normGroups: [NormGroup]? = nil

    public init(method: SolverMethod = .dopri5, rtol: Double = 1e-5, atol: Double = 1e-5) {
        self.method = method
        self.rtol = rtol
        self.atol = atol
    }

    /// dopri5 at atol = rtol = 1e-5 (the values above).
    public init() { self.init(method: .dopri5) }

    /// A one-line reason the options cannot be used, or nil.
    public func validationError() -> String? {
        if !(rtol >= 0 && rtol.isFinite) { return "rtol must be a finite number ≥ 0, got \(rtol)" }
        if !(atol >= 0 && atol.isFinite) { return "atol must be a finite number ≥ 0, got \(atol)" }
        if method.isAdaptive && rtol == 0 && atol == 0 { return "rtol and atol cannot both be 0" }
        if !method.isAdaptive, let h = step, !(h > 0 && h.isFinite) {
            return "step must be a positive number, got \(h)"
        }
        if !method.isAdaptive && step == nil { return "the fixed-step solver \(method.rawValue) needs a step size" }
        if maxSteps < 1 { return "max steps must be ≥ 1, got \(maxSteps)" }
        if !(safety > 0 && safety <= 1) { return "safety must be in (0, 1], got \(safety)" }
        if !(minFactor > 0 && minFactor < 1 && maxFactor > 1) {
            return "step factors need 0 < minFactor < 1 < maxFactor, got \(minFactor), \(maxFactor)"
        }
        return nil
    }
}

/// A contiguous run of state components, normed together.
public struct NormGroup: Sendable, Codable, Hashable {
    public var start: Int
    public var count: Int
    public init(start: Int, count: Int) { self.start = start; self.count = count }
}

/// What a solve did. Exact counts: with FSAL, a solve with k accepted and r rejected steps
/// makes 1 + (initial step selection: 1) + (stages − 1)·(k + r) evaluations.
public struct SolveStats: Sendable, Codable, Equatable {
    public var evaluations = 0
    public var acceptedSteps = 0
    public var rejectedSteps = 0
    public init() {}

    public static func + (a: SolveStats, b: SolveStats) -> SolveStats {
        var s = a
        s.evaluations += b.evaluations
        s.acceptedSteps += b.acceptedSteps
        s.rejectedSteps += b.rejectedSteps
        return s
    }
}

/// A failed solve: what happened, where, and what to try.
public enum ODEError: Error, CustomStringConvertible, Equatable {
    case stepSizeUnderflow(t: Double, h: Double)
    case maxStepsReached(steps: Int, t: Double)
    case nonFiniteState(t: Double)
    case invalidOptions(String)
    /// Arguments that do not fit the field (a state or cotangent of the wrong length).
    case invalidInput(String)
    /// `Solution.pullback` on a solve made with `GradientMethod.none`.
    case noPullback

    public var description: String {
        switch self {
        case let .stepSizeUnderflow(t, h):
            return "step size underflow at t=\(fmt(t)) (h=\(fmtE(h))): loosen rtol/atol or use a fixed-step solver"
        case let .maxStepsReached(n, t):
            return "max steps (\(n)) reached at t=\(fmt(t)): raise the step limit, loosen rtol/atol, or regularize the dynamics (kinetic-energy and Jacobian penalties)"
        case let .nonFiniteState(t):
            return "non-finite state at t=\(fmt(t)): the dynamics produced NaN or infinity; lower the learning rate or tighten tolerances"
        case let .invalidOptions(m):
            return "invalid solver options: \(m)"
        case let .invalidInput(m):
            return "invalid solver input: \(m)"
        case .noPullback:
            return "no pullback: the solve was made with gradient .none (solve with .adjoint or .backprop to differentiate it)"
        }
    }
}

func fmt(_ x: Double) -> String {
    let r = (x * 10_000).rounded() / 10_000
    return "\(r)"
}

func fmtE(_ x: Double) -> String {
    guard x != 0 && x.isFinite else { return "\(x)" }
    let e = Int((log10(abs(x))).rounded(.down))
    let m = x / pow(10, Double(e))
    let mr = (m * 10).rounded() / 10
    return "\(mr)e\(e)"
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
