import CNFCore
import Networks
import Flow

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma & Ba 2015) as `torch.optim.Adam` computes it, with L2 weight decay added to
/// the gradient (PyTorch's `weight_decay`, not AdamW's decoupled decay):
///
///     g ← ∇θ + λ θ
///     m ← β₁ m + (1 − β₁) g,        v ← β₂ v + (1 − β₂) g²
///     θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Defaults are PyTorch's (lr 1e-3, β = (0.9, 0.999), ε = 1e-8, λ = 0; FFJORD's toy runs use
/// λ = 1e-5 optionally). The moments are kept in Double whatever the parameters' type, and θ
/// is rounded to its type once per step. The first step moves every coordinate by
/// −lr·g/(|g| + ε) ≈ −lr·sign(g).
public struct Adam: Sendable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Per-parameter factors on the learning rate (nil = 1 everywhere): the trainer slows the
    /// integration times' τ this way (see `TrainingSection.timeRate`).
    public var rateScale: [Double]? = nil
    /// Per-parameter factors on the weight decay (nil = 1 everywhere): the trainer leaves the
    /// integration times' τ undecayed (see `TrainingSection.decayTime`).
    public var decayScale: [Double]? = nil
    /// Steps taken, and the first and second moment estimates; saved with a checkpoint.
    public private(set) var state: State

    public struct State: Equatable, Sendable, Codable {
        public var step: Int
        public var m: [Double]
        public var v: [Double]
        public init(step: Int, m: [Double], v: [Double]) {
            self.step = step
            self.m = m
            self.v = v
        }
    }

    public init(parameterCount: Int, learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0) {
        precondition(parameterCount >= 0, "parameter count must be ≥ 0, got \(parameterCount)")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        state = State(step: 0, m: Array(repeating: 0, count: parameterCount),
                      v: Array(repeating: 0, count: parameterCount))
    }

    public var parameterCount: Int { state.m.count }

    /// Continues from a saved state (e.g. a checkpoint's); the hyperparameters stay as set.
    public mutating func restore(_ saved: State) throws {
        guard saved.m.count == parameterCount, saved.v.count == parameterCount else {
            throw AdamError("Adam state has \(saved.m.count) first and \(saved.v.count) second moments, the model has \(parameterCount) parameters")
        }
        guard saved.step >= 0 else { throw AdamError("Adam state has a negative step count \(saved.step)") }
        state = saved
    }

    /// One update of `parameters` in place from `gradient` (both `parameterCount` long).
    /// - Complexity: O(parameterCount).
    @specialized(where S == Float)
    @specialized(where S == Double)
    public mutating func step<S: BLASScalar>(parameters: MutableBufferView<S>,
                                             gradient: BufferView<Double>) {
        precondition(parameters.count == parameterCount && gradient.count == parameterCount,
                     "Adam has \(parameterCount) parameters, got \(parameters.count) parameters and \(gradient.count) gradients")
        state.step += 1
        let t = Double(state.step)
        let stepSize = learningRate / (1 - pow(beta1, t))
        let correction2 = (1 - pow(beta2, t)).squareRoot()
        let b1 = beta1, b2 = beta2, eps = epsilon, decay = weightDecay, count = parameterCount
        let scale = rateScale, decayScale = self.decayScale
        precondition(scale == nil || scale!.count == count, "rateScale must have one factor per parameter")
        precondition(decayScale == nil || decayScale!.count == count, "decayScale must have one factor per parameter")
        state.m.withMutableBufferView { m in
            state.v.withMutableBufferView { v in
                for i in 0..<count {
                    let theta = Double(parameters[i])
                    let g = gradient[i] + (decayScale.map { decay * $0[i] } ?? decay) * theta
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let rate = scale.map { stepSize * $0[i] } ?? stepSize
                    parameters[i] = S(theta - rate * m[i] / (v[i].squareRoot() / correction2 + eps))
                }
            }
        }
    }

    public mutating func step<S: BLASScalar>(parameters: inout [S], gradient: [Double]) {
        parameters.withMutableBufferView { p in
            gradient.withBufferView { g in step(parameters: p, gradient: g) }
        }
    }

    /// Steps a network's parameters in place.
    public mutating func step<N: DualNetwork>(_ network: N, gradient: [Double]) {
        network.withParameters { p in
            gradient.withBufferView { g in step(parameters: p, gradient: g) }
        }
    }
}

public struct AdamError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}
