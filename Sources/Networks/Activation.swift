import CNFCore

/// The pointwise nonlinearity σ between the layers of the dynamics network, with the first
/// two derivatives that forward-mode tangents (σ') and their backward pass (σ'') need:
///
///     y = σ(a),   ẏ = σ'(a) ⊙ ȧ,
///     ā = σ'(a) ⊙ ȳ + σ''(a) ⊙ Σ_k ȧ_k ⊙ ẏ̄_k,   ǡ_k = σ'(a) ⊙ ẏ̄_k.
///
/// - `tanh`: σ' = 1 − y², σ'' = −2yσ'. FFJORD's toy default.
/// - `softplus`: σ = log(1 + eᵃ), σ' = sigmoid(a) =: s, σ'' = s(1 − s).
/// - `elu` (α = 1): σ = a for a > 0, eᵃ − 1 otherwise; σ' = 1 | eᵃ, σ'' = 0 | eᵃ.
///   At a = 0 the left-hand derivatives are used (σ'' jumps there).
/// - `swish` (SiLU): σ = a·s, σ' = s(1 + a(1 − s)), σ'' = s(1 − s)(2 + a(1 − 2s)).
public enum Activation: String, CaseIterable, Sendable, Codable {
    case tanh, softplus, elu, swish

    /// σ(a), σ'(a), σ''(a) at one point, through the libm functions of `S` (the reference
    /// the vectorized Float kernel is tested against).
    public func derivatives<S: BLASScalar>(at a: S) -> (value: S, slope: S, curvature: S) {
        switch self {
        case .tanh:
            let y = S.tanh(a)
            let s = 1 - y * y
            return (y, s, -2 * y * s)
        case .softplus:
            // log(1 + eᵃ) = max(a, 0) + log(1 + e^{−|a|}): no overflow for large a.
            let e = S.exp(-Swift.abs(a))
            let s = (a >= 0 ? 1 : e) / (1 + e)
            return (Swift.max(a, 0) + S.log(onePlus: e), s, s * (1 - s))
        case .elu:
            if a > 0 { return (a, 1, 0) }
            let e = S.exp(a)
            return (S.expMinusOne(a), e, e)
        case .swish:
            let s = Activation.sigmoid(a)
            return (a * s, s * (1 + a * (1 - s)), s * (1 - s) * (2 + a * (1 - 2 * s)))
        }
    }

    /// σ(a).
    public func value<S: BLASScalar>(_ a: S) -> S { derivatives(at: a).value }
    /// σ'(a).
    public func derivative<S: BLASScalar>(_ a: S) -> S { derivatives(at: a).slope }
    /// σ''(a).
    public func secondDerivative<S: BLASScalar>(_ a: S) -> S { derivatives(at: a).curvature }

    /// The logistic function 1/(1 + e^{−a}), written so that neither branch overflows.
    public static func sigmoid<S: BLASScalar>(_ a: S) -> S {
        if a >= 0 { return 1 / (1 + S.exp(-a)) }
        let e = S.exp(a)
        return e / (1 + e)
    }

    /// Applies σ in place over `count` contiguous values (a on entry, σ(a) on return) and
    /// writes σ'(a) to `slope` and σ''(a) to `curvature`.
    ///
    /// Float runs the eight-lane kernels of `FastMath` (a tail is padded to eight lanes, so an
    /// element's result does not depend on its position); Double runs `derivatives(at:)`.
    /// - Complexity: O(count).
    @specialized(where S == Float)
    @specialized(where S == Double)
    func apply<S: BLASScalar>(count: Int, values: MutableBufferView<S>,
                              slope: MutableBufferView<S>, curvature: MutableBufferView<S>) {
        if S.self == Float.self {
            applyFloat(count: count, values: values.assumingElement(Float.self),
                       slope: slope.assumingElement(Float.self), curvature: curvature.assumingElement(Float.self))
            return
        }
        for i in 0..<count {
            let (y, s, c) = derivatives(at: values[i])
            values[i] = y
            slope[i] = s
            curvature[i] = c
        }
    }

    private func applyFloat(count: Int, values: MutableBufferView<Float>,
                            slope: MutableBufferView<Float>, curvature: MutableBufferView<Float>) {
        // One loop per activation (the switch is outside), each lane function inlined into it
        // through static dispatch (a closure argument was left as a call per vector).
        switch self {
        case .tanh: TanhLanes.run(count, values, slope, curvature)
        case .softplus: SoftplusLanes.run(count, values, slope, curvature)
        case .elu: ELULanes.run(count, values, slope, curvature)
        case .swish: SwishLanes.run(count, values, slope, curvature)
        }
    }
}

/// σ, σ', σ'' on eight Float lanes.
protocol ActivationLanes {
    static func lanes(_ a: FastMath.Vector) -> (FastMath.Vector, FastMath.Vector, FastMath.Vector)
}

extension ActivationLanes {
    /// Runs `lanes` over `count` values eight at a time; a tail is padded with zeros to eight
    /// lanes, so each element's result is the same wherever it sits.
    static func run(_ count: Int, _ values: MutableBufferView<Float>,
                    _ slope: MutableBufferView<Float>, _ curvature: MutableBufferView<Float>) {
        typealias V = FastMath.Vector
        let full = count & ~7
        var i = 0
        while i < full {
            let (y, s, c) = lanes(values.load(V.self, at: i))
            values.store(y, at: i)
            slope.store(s, at: i)
            curvature.store(c, at: i)
            i += 8
        }
        guard full < count else { return }
        var a = V(repeating: 0)
        for j in 0..<(count - full) { a[j] = values[full + j] }
        let (y, s, c) = lanes(a)
        for j in 0..<(count - full) {
            values[full + j] = y[j]
            slope[full + j] = s[j]
            curvature[full + j] = c[j]
        }
    }
}

enum TanhLanes: ActivationLanes {
    @inline(__always)
    static func lanes(_ a: FastMath.Vector) -> (FastMath.Vector, FastMath.Vector, FastMath.Vector) {
        let y = FastMath.tanh(a)
        let s = 1 - y * y
        return (y, s, -2 * y * s)
    }
}

enum SoftplusLanes: ActivationLanes {
    @inline(__always)
    static func lanes(_ a: FastMath.Vector) -> (FastMath.Vector, FastMath.Vector, FastMath.Vector) {
        let e = FastMath.exp(-FastMath.abs(a))
        let positive = a .>= 0
        let s = FastMath.Vector(repeating: 1).replacing(with: e, where: .!positive) / (1 + e)
        var y = a.replacing(with: 0, where: .!positive)
        for j in 0..<8 { y[j] += Float.log(onePlus: e[j]) }  // no vector log1p; non-default activation
        return (y, s, s * (1 - s))
    }
}

enum ELULanes: ActivationLanes {
    @inline(__always)
    static func lanes(_ a: FastMath.Vector) -> (FastMath.Vector, FastMath.Vector, FastMath.Vector) {
        let positive = a .> 0
        let e = FastMath.exp(a.replacing(with: 0, where: positive))
        let y = (e - 1).replacing(with: a, where: positive)
        return (y, e.replacing(with: 1, where: positive), e.replacing(with: 0, where: positive))
    }
}

enum SwishLanes: ActivationLanes {
    @inline(__always)
    static func lanes(_ a: FastMath.Vector) -> (FastMath.Vector, FastMath.Vector, FastMath.Vector) {
        let s = 1 / (1 + FastMath.exp(-a))
        return (a * s, s * (1 + a * (1 - s)), s * (1 - s) * (2 + a * (1 - 2 * s)))
    }
}
