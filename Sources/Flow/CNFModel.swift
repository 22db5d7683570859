import CNFCore
import Networks
import ODE

/// The architecture of a CNF: `blocks` ODE blocks, each with its own dynamics network,
/// integrated one after the other from data (t = 0) towards the Gaussian (t = T).
public struct ModelConfig: Codable, Equatable, Sendable {
    public var network: ODENetConfiguration
    public var blocks: Int
    /// Initial integration time of each block.
    public var time: Double
    /// Learn each block's T (parameterized as T = τ², as FFJORD does, so it stays positive).
    public var trainTime: Bool

    public init(network: ODENetConfiguration, blocks: Int = 1, time: Double = 0.5, trainTime: Bool = false) {
        self.network = network
        self.blocks = blocks
        self.time = time
        self.trainTime = trainTime
    }
}

/// How a loss evaluation computes its gradient: the adjoint method (constant memory) or
/// backpropagation through the solver's steps (exact gradient of the discretization).
public enum GradientRoute: String, Codable, CaseIterable, Sendable { case adjoint, backprop }

/// What a loss evaluation needs to know besides the data.
public struct DensityOptions {
    public var divergence: Divergence
    public var noise: NoiseDistribution = .rademacher
    public var kinetic: Double = 0
    public var jacobian: Double = 0
    public var solve: SolveOptions
    public var gradient: GradientRoute = .adjoint
    public var adjoint: AdjointOptions

    public init(divergence: Divergence, solve: SolveOptions, adjoint: AdjointOptions? = nil) {
        self.divergence = divergence
        self.solve = solve
        self.adjoint = adjoint ?? AdjointOptions(solve: solve)
    }

    /// The gradient route as the solver takes it: `.backprop`, or `.adjoint` with `adjoint`.
    public var gradientMethod: GradientMethod {
        switch gradient {
        case .adjoint: return .adjoint(adjoint)
        case .backprop: return .backprop
        }
    }
}

/// The result of one loss-and-gradient evaluation on a batch.
public struct LossEvaluation {
    /// Mean negative log-likelihood in nats (the Hutchinson estimate when training with it).
    public var nll: Double
    /// The full loss: nll + λ_K·mean K + λ_J·mean Jf.
    public var loss: Double
    public var kinetic: Double
    public var jacobian: Double
    /// ∂loss/∂θ over `CNF.parameterVector` (empty when no gradient was asked for).
    public var gradient: [Double]
    public var forward: SolveStats
    public var backward: SolveStats
    /// Bytes of solver state the gradient needed beyond the model, summed over the blocks: the
    /// stored steps for backprop (grows with the number of steps), the augmented state and its
    /// stages for the adjoint (constant; one backward solver per block).
    public var gradientMemoryBytes: Int = 0
}

/// log N(z; 0, I) for one d-vector.
@inline(__always)
func standardNormalLogDensity(_ z: StateVector, _ d: Int) -> Double {
    var s = 0.0
    for j in 0..<d { s += z[j] * z[j] }
    return -0.5 * s - 0.5 * Double(d) * log2pi
}

let log2pi = 1.8378770664093453

/// A continuous normalizing flow (FFJORD) whose networks compute in `S` (Float for speed,
/// Double for checks); the ODE state is always Double.
///
///     log p(x) = log N(z(T); 0, I) − ℓ(T),   z(0) = x,  dz/dt = f(z, t),  dℓ/dt = −tr ∂f/∂z
///
/// With several blocks the state [z, ℓ, …] runs through them in order.
public final class CNF<S: BLASScalar> {
    public let config: ModelConfig
    public let networks: [ODENet<S>]
    /// τ_b with T_b = τ_b² (only trained when `config.trainTime`).
    public var timeRoots: [Double]
    public var threads: Int = 2
    public var chunks: Int = 2

    public var dimension: Int { config.network.dimension }
    public var endTimes: [Double] { timeRoots.map { $0 * $0 } }

    /// A freshly initialized model (PyTorch's default initialization, from `generator`).
    public init(config: ModelConfig, generator: inout Xoshiro256) {
        self.config = config
        networks = (0..<config.blocks).map { _ in ODENet<S>(configuration: config.network, generator: &generator) }
        timeRoots = Array(repeating: config.time.squareRoot(), count: config.blocks)
    }

    /// A model with given parameters (`parameterVector` layout).
    public init(config: ModelConfig, parameters: [Double]) {
        self.config = config
        let count = ODENet<S>.parameterCount(for: config.network)
        networks = (0..<config.blocks).map { b in
            ODENet<S>(configuration: config.network,
                      parameters: parameters[(b * count)..<((b + 1) * count)].map { S($0) })
        }
        timeRoots = Array(repeating: config.time.squareRoot(), count: config.blocks)
        if config.trainTime {
            timeRoots = Array(parameters[(config.blocks * count)...])
        }
    }

    // MARK: Parameters

    var networkParameterCount: Int { networks.first?.parameterCount ?? 0 }

    /// All trainable parameters as one vector: each block's θ in turn, then τ_b when T is trained.
    public var parameterCount: Int { config.blocks * networkParameterCount + (config.trainTime ? config.blocks : 0) }

    public var parameterVector: [Double] {
        get {
            var v: [Double] = []
            v.reserveCapacity(parameterCount)
            for net in networks { net.withParameters { v.append(contentsOf: $0.readOnly.map { Double($0) }) } }
            if config.trainTime { v.append(contentsOf: timeRoots) }
            return v
        }
        set {
            precondition(newValue.count == parameterCount, "model has \(parameterCount) parameters, got \(newValue.count)")
            let n = networkParameterCount
            for (b, net) in networks.enumerated() {
                net.withParameters { p in for i in 0..<n { p[i] = S(newValue[b * n + i]) } }
            }
            if config.trainTime { timeRoots = Array(newValue[(config.blocks * n)...]) }
        }
    }

    /// Named tensors for checkpoints: "block<b>.layers.<i>.weight", …, and "block<b>.time_root".
    public var parameterTensors: [ParameterTensor] {
        let n = networkParameterCount
        var out: [ParameterTensor] = []
        for b in 0..<config.blocks {
            for t in networks[b].parameterTensors {
                out.append(ParameterTensor(name: "block\(b).\(t.name)", shape: t.shape, offset: b * n + t.offset))
            }
        }
        if config.trainTime {
            for b in 0..<config.blocks {
                out.append(ParameterTensor(name: "block\(b).time_root", shape: [1], offset: config.blocks * n + b))
            }
        }
        return out
    }

    // MARK: Dynamics (one per block, cached by shape)

    struct DynamicsKey: Hashable {
        var batch: Int, divergence: Divergence, kinetic: Bool, jacobian: Bool
    }
    var dynamicsCache: [DynamicsKey: [CNFDynamics<ODENet<S>>]] = [:]
    /// The solvers' buffers (forward solvers, the adjoint's backward solvers per field, backprop's
    /// replay buffers): built once per shape, not once per training iteration.
    let workspace = SolveWorkspace()

    func dynamics(batch: Int, divergence: Divergence, kinetic: Bool = false, jacobian: Bool = false) -> [CNFDynamics<ODENet<S>>] {
        let key = DynamicsKey(batch: batch, divergence: divergence, kinetic: kinetic, jacobian: jacobian)
        if let d = dynamicsCache[key] {
            for f in d { f.threads = threads }
            return d
        }
        if dynamicsCache.count > 8 { dynamicsCache.removeAll(); workspace.removeAll() }
        let d = networks.map {
            CNFDynamics(network: $0, batchSize: batch, divergence: divergence, kineticEnergy: kinetic,
                        jacobianFrobenius: jacobian, chunks: min(chunks, max(batch, 1)), threads: threads)
        }
        dynamicsCache[key] = d
        return d
    }

    // MARK: Loss and gradient

    /// Mean negative log-likelihood (plus RNODE terms) of a batch, and its gradient.
    ///
    /// - Parameters:
    ///   - points: N × d, row-major.
    ///   - noise: Hutchinson's ε for each block (N × d each); drawn once per batch and held
    ///     fixed for the forward and the backward solves.
    ///   - wantGradient: false for evaluation only.
    public func loss(points: [Double], noise: [[Double]], options: DensityOptions,
                     wantGradient: Bool = true) throws -> LossEvaluation {
        let d = dimension, n = points.count / d
        precondition(points.count == n * d && n > 0, "points must be N × \(d), got \(points.count) values")
        let wantK = options.kinetic > 0, wantJ = options.jacobian > 0
        let fields = dynamics(batch: n, divergence: options.divergence, kinetic: wantK, jacobian: wantJ)
        let layout = fields[0].layout
        if options.divergence == .hutchinson {
            precondition(noise.count == config.blocks, "one noise array per block is needed")
            for (f, e) in zip(fields, noise) { f.setNoise(e) }
        }
        let times = endTimes
        let route: GradientMethod = wantGradient ? options.gradientMethod : .none
        var solutions: [Solution] = []
        var state = fields[0].initialState(points: points)
        var forward = SolveStats()
        for b in 0..<config.blocks {
            let solution = try ODE.solve(fields[b], y0: state, from: 0, to: times[b], options: options.solve,
                                         gradient: route, workspace: workspace)
            forward = forward + solution.stats
            state = solution.y
            solutions.append(solution)
        }

        // Loss = mean_i [ −log N(z_i) + ℓ_i ] + λ_K mean K_i + λ_J mean Jf_i.
        var nll = 0.0, kinetic = 0.0, jacobian = 0.0
        state.withStateVector { s in
            for i in 0..<n {
                nll -= standardNormalLogDensity(s + i * d, d)
                if let l = layout.logDensity { nll += s[l.lowerBound + i] }
                if let k = layout.kineticEnergy { kinetic += s[k.lowerBound + i] }
                if let j = layout.jacobianFrobenius { jacobian += s[j.lowerBound + i] }
            }
        }
        nll /= Double(n); kinetic /= Double(n); jacobian /= Double(n)
        let loss = nll + options.kinetic * kinetic + options.jacobian * jacobian
        var result = LossEvaluation(nll: nll, loss: loss, kinetic: kinetic, jacobian: jacobian,
                                    gradient: [], forward: forward, backward: SolveStats())
        guard wantGradient else { return result }

        // ∂L/∂s(T): z/N, 1/N for ℓ, λ/N for the regularizer states.
        var a = [Double](repeating: 0, count: layout.dimension)
        for i in 0..<(n * d) { a[i] = state[i] / Double(n) }
        if let l = layout.logDensity { for i in l { a[i] = 1 / Double(n) } }
        if let k = layout.kineticEnergy { for i in k { a[i] = options.kinetic / Double(n) } }
        if let j = layout.jacobianFrobenius { for i in j { a[i] = options.jacobian / Double(n) } }

        let np = networkParameterCount
        var gradient = [Double](repeating: 0, count: parameterCount)
        var backward = SolveStats()
        var g = [Double](repeating: 0, count: layout.dimension)
        for b in stride(from: config.blocks - 1, through: 0, by: -1) {
            if config.trainTime {
                // dL/dT_b = a(T_b)ᵀ g(s(T_b), T_b); dT/dτ = 2τ.
                fields[b].evaluate(t: times[b], y: solutions[b].y, dy: &g)
                var dT = 0.0
                for i in 0..<layout.dimension { dT += a[i] * g[i] }
                gradient[config.blocks * np + b] = dT * 2 * timeRoots[b]
            }
            let cotangents = try solutions[b].pullback(a)
            backward = backward + cotangents.stats
            a = cotangents.y0
            for i in 0..<np { gradient[b * np + i] = cotangents.theta[i] }
        }
        result.gradient = gradient
        result.backward = backward
        result.gradientMemoryBytes = solutions.reduce(0) { $0 + $1.gradientMemoryBytes }
        return result
    }

    // MARK: Density and sampling

    /// log p(x) for each point (N × d), computed in batches of `batchSize`, by the chosen
    /// divergence (`.exact` for evaluation). Returns the values and the summed statistics.
    ///
    /// With `startTime` τ > 0 (total flow time, 0 = data, ΣT = the Gaussian) it is the density
    /// of the flow's intermediate distribution at τ: the points are taken as z(τ) and integrated
    /// to the end, log p_τ(x) = log N(z(ΣT)) + ∫_τ^{ΣT} tr ∂f/∂z dt.
    public func logDensity(points: [Double], divergence: Divergence = .exact, noise: NoiseDistribution = .rademacher,
                           generator: inout Xoshiro256, solve: SolveOptions, batchSize: Int = 1000,
                           startTime: Double = 0,
                           progress: ((Int) -> Void)? = nil) throws -> (values: [Double], stats: SolveStats) {
        let d = dimension, total = points.count / d
        var out = [Double](repeating: 0, count: total)
        var stats = SolveStats()
        var start = 0
        let times = endTimes
        while start < total {
            let n = min(batchSize, total - start)
            let fields = dynamics(batch: n, divergence: divergence)
            let layout = fields[0].layout
            var state = fields[0].initialState(points: Array(points[(start * d)..<((start + n) * d)]))
            var blockStart = 0.0
            for b in 0..<config.blocks {
                defer { blockStart += times[b] }
                let from = max(0, startTime - blockStart)
                if from >= times[b] { continue }
                if divergence == .hutchinson { fields[b].drawNoise(noise, using: &generator) }
                let solution = try ODE.solve(fields[b], y0: state, from: from, to: times[b], options: solve,
                                             workspace: workspace)
                stats = stats + solution.stats
                state = solution.y
            }
            let l = layout.logDensity!
            state.withStateVector { s in
                for i in 0..<n {
                    out[start + i] = standardNormalLogDensity(s + i * d, d) - s[l.lowerBound + i]
                }
            }
            start += n
            progress?(start)
        }
        return (out, stats)
    }

    /// Pushes base samples z ~ N(0, I) (N × d) from t = T back to the data (t = 0), through the
    /// blocks in reverse. `fractions` (each in [0, 1], 1 = the Gaussian end, 0 = data) ask for
    /// snapshots along the way, measured in total flow time; `observe(i, points)` gets them.
    public func sample(base: [Double], solve: SolveOptions, fractions: [Double] = [],
                       batchSize: Int = 10_000,
                       observe: ((Int, [Double]) -> Void)? = nil,
                       progress: ((Int) -> Void)? = nil) throws -> (points: [Double], stats: SolveStats) {
        let d = dimension, total = base.count / d
        let times = endTimes
        let totalTime = times.reduce(0, +)
        // Global flow time τ ∈ [0, ΣT]; block b covers [Σ_{c<b} T_c, Σ_{c≤b} T_c].
        var blockStart: [Double] = []
        var acc = 0.0
        for t in times { blockStart.append(acc); acc += t }
        var snapshots = [[Double]](repeating: [Double](repeating: 0, count: base.count), count: fractions.count)
        var out = base
        var stats = SolveStats()
        var start = 0
        while start < total {
            let n = min(batchSize, total - start)
            let fields = dynamics(batch: n, divergence: .off)
            var state = Array(base[(start * d)..<((start + n) * d)])
            for b in stride(from: config.blocks - 1, through: 0, by: -1) {
                // Requested snapshots inside this block, in decreasing local time.
                let lo = blockStart[b], hi = lo + times[b]
                var wanted: [(index: Int, local: Double)] = []
                for (i, f) in fractions.enumerated() {
                    let tau = f * totalTime
                    let inside = b == 0 ? (tau >= lo && tau <= hi) : (tau > lo && tau <= hi)
                    if inside { wanted.append((i, tau - lo)) }
                }
                wanted.sort { $0.local > $1.local }
                let solution = try ODE.solve(fields[b], y0: state, from: times[b], to: 0, options: solve,
                                             saveAt: .times(wanted.map { $0.local }) { k, y in
                                                 let owner = wanted[k].index
                                                 for i in 0..<(n * d) { snapshots[owner][start * d + i] = y[i] }
                                             },
                                             workspace: workspace)
                stats = stats + solution.stats
                state = solution.y
            }
            for i in 0..<(n * d) { out[start * d + i] = state[i] }
            start += n
            progress?(start)
        }
        if let observe { for (i, s) in snapshots.enumerated() { observe(i, s) } }
        return (out, stats)
    }

    /// z(T) for data points (the forward map), without the density.
    public func encode(points: [Double], solve: SolveOptions) throws -> [Double] {
        let d = dimension, n = points.count / d
        let fields = dynamics(batch: n, divergence: .off)
        var state = points
        for b in 0..<config.blocks {
            state = try ODE.solve(fields[b], y0: state, from: 0, to: endTimes[b], options: solve, workspace: workspace).y
        }
        return state
    }
}
