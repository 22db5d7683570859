import CNFCore
import Networks
import Flow
import ODE

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One training iteration's record (a row of metrics.csv).
public struct IterationRecord: Sendable {
    public var iteration: Int
    public var loss: Double
    public var nll: Double
    public var forwardNFE: Int
    public var backwardNFE: Int
    public var seconds: Double
}

/// Maximum-likelihood training of a CNF with Adam: a batch per iteration, Hutchinson noise drawn
/// once per batch (held fixed through the forward and the backward solve), gradients by the
/// adjoint (default) or by backpropagation through the solver.
///
/// Randomness comes from independent streams of the run's seed (`RandomStream`): training
/// batches, Hutchinson noise and initial weights. Their states, Adam's, the schedule's and the
/// weight average are the whole mutable state: `TrainingState` saves and restores it, so a
/// resumed run continues bit for bit.
public final class Trainer<S: BLASScalar> {
    public let config: FitConfig
    public let model: CNF<S>
    public var adam: Adam
    public var dataGenerator: Xoshiro256
    public var noiseGenerator: Xoshiro256
    public private(set) var schedule: LearningRateSchedule
    /// The Polyak/EMA average of the weights (nil when `training.ema` is off).
    public private(set) var average: [Double]?
    public private(set) var iteration = 0
    let sampleBatch: (inout Xoshiro256, Int) -> [Double]
    let options: DensityOptions

    /// - Parameter sampleBatch: draws a training batch (N × d, row-major) from the generator.
    /// - Parameter threads: threads to run the batch chunks on (the result does not depend on it).
    public init(config: FitConfig, dimension: Int, threads: Int = 2,
                sampleBatch: @escaping (inout Xoshiro256, Int) -> [Double]) {
        self.config = config
        var initGenerator = Xoshiro256(seed: config.seed, stream: .initialWeights)
        model = CNF<S>(config: config.model.modelConfig(dimension: dimension), generator: &initGenerator)
        model.threads = max(1, threads)
        model.chunks = config.training.chunks
        adam = Adam(parameterCount: model.parameterCount, learningRate: config.training.lr,
                    weightDecay: config.training.weightDecay)
        // The time roots τ_b are the last `blocks` parameters: factor 1 everywhere else.
        let count = model.parameterCount, blocks = config.model.blocks
        func onTimeRoots(_ factor: Double) -> [Double] {
            var scale = [Double](repeating: 1, count: count)
            for b in 0..<blocks { scale[count - 1 - b] = factor }
            return scale
        }
        if config.model.trainTime && config.training.timeRate != 1 { adam.rateScale = onTimeRoots(config.training.timeRate) }
        if config.model.trainTime && !config.training.decayTime { adam.decayScale = onTimeRoots(0) }
        dataGenerator = Xoshiro256(seed: config.seed, stream: .trainingBatches)
        noiseGenerator = Xoshiro256(seed: config.seed, stream: .hutchinsonNoise)
        schedule = LearningRateSchedule(config.training)
        average = config.training.ema == nil ? nil : model.parameterVector
        self.sampleBatch = sampleBatch
        var o = DensityOptions(divergence: config.density.divergence(dimension: dimension),
                               solve: config.solveOptions, adjoint: config.adjointOptions)
        o.noise = config.density.noise
        o.kinetic = config.density.kinetic
        o.jacobian = config.density.jacobian
        o.gradient = config.gradient.route
        options = o
    }

    /// The divergence the loss uses (the `auto` trace resolved for this dimension).
    public var divergence: Divergence { options.divergence }

    /// True when the budget is spent or the schedule has ended the run.
    public var isFinished: Bool { schedule.isFinished(iterationsDone: iteration) }

    /// One iteration: batch, noise, loss and gradient, Adam step. Throws the solver's error
    /// (the parameters are left as they were before the iteration) or a non-finite loss.
    public func step() throws -> IterationRecord {
        if isFlowMatching { return try flowMatchingStep() }
        let start = monotonicSeconds()
        let d = model.dimension, n = config.training.batchSize
        let batch = sampleBatch(&dataGenerator, n)
        var noise: [[Double]] = []
        if options.divergence == .hutchinson {
            for _ in 0..<config.model.blocks {
                noise.append((0..<(n * d)).map { _ in
                    config.density.noise == .rademacher ? noiseGenerator.rademacher() : noiseGenerator.normal()
                })
            }
        }
        let r = try model.loss(points: batch, noise: noise, options: options)
        guard r.loss.isFinite, r.gradient.allSatisfy({ $0.isFinite }) else {
            throw TrainingError.nonFinite(iteration: iteration + 1, loss: r.loss)
        }
        update(gradient: r.gradient)
        iteration += 1
        schedule.record(training: r.nll)
        return IterationRecord(iteration: iteration, loss: r.loss, nll: r.nll,
                               forwardNFE: r.forward.evaluations, backwardNFE: r.backward.evaluations,
                               seconds: monotonicSeconds() - start)
    }

    /// True while the run's first `training.flowMatching` iterations (the warm start) last.
    public var isFlowMatching: Bool { iteration < config.training.flowMatching }

    /// One conditional flow matching iteration (see `CNF.flowMatchingLoss`): a training batch,
    /// base draws and the groups' times from the noise stream, no ODE solve. Its record has
    /// the flow-matching loss and no NLL (nan) or NFE.
    func flowMatchingStep() throws -> IterationRecord {
        let start = monotonicSeconds()
        let d = model.dimension, n = config.training.batchSize
        let batch = sampleBatch(&dataGenerator, n)
        let base = (0..<(n * d)).map { _ in noiseGenerator.normal() }
        let times = (0..<Self.flowMatchingGroups(batch: n)).map { _ in noiseGenerator.uniform() }
        let r = model.flowMatchingLoss(points: batch, base: base, times: times)
        guard r.loss.isFinite, r.gradient.allSatisfy({ $0.isFinite }) else {
            throw TrainingError.nonFinite(iteration: iteration + 1, loss: r.loss)
        }
        update(gradient: r.gradient)
        iteration += 1
        return IterationRecord(iteration: iteration, loss: r.loss, nll: .nan, forwardNFE: 0, backwardNFE: 0,
                               seconds: monotonicSeconds() - start)
    }

    /// Groups of the flow-matching batch (one time each): the largest count ≤ 10 that divides it.
    static func flowMatchingGroups(batch n: Int) -> Int { (1...min(10, n)).last { n % $0 == 0 }! }

    /// Clipping, Adam at the schedule's rate, the weight average.
    func update(gradient g: [Double]) {
        var gradient = g
        if let limit = config.training.clip {
            let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > limit {
                let scale = limit / norm
                for i in gradient.indices { gradient[i] *= scale }
            }
        }
        var p = model.parameterVector
        adam.learningRate = schedule.rate(at: iteration)
        adam.step(parameters: &p, gradient: gradient)
        model.parameterVector = p
        if let decay = config.training.ema, var a = average {
            // The decay ramps up over the first iterations (min(decay, (1+t)/(10+t))), so the
            // average does not remember the random initial weights for ~1/(1−decay) steps.
            let t = Double(iteration)
            let beta = min(decay, (1 + t) / (10 + t))
            for i in a.indices { a[i] = beta * a[i] + (1 - beta) * p[i] }
            average = a
        }
    }

    /// Records a validation NLL (it can start the plateau schedule's anneal).
    public func observe(validation nll: Double) {
        // The warm start's validations do not steer the likelihood phase's schedule.
        guard iteration > config.training.flowMatching else { return }
        schedule.observe(validation: nll, after: iteration)
    }

    /// Runs `body` with the model holding the averaged weights (when averaging is on), then
    /// puts the trained weights back.
    public func withAveragedWeights<T>(_ body: (CNF<S>) throws -> T) rethrows -> T {
        guard let a = average else { return try body(model) }
        let p = model.parameterVector
        model.parameterVector = a
        defer { model.parameterVector = p }
        return try body(model)
    }

    /// Restores a saved state (see `TrainingState`).
    public func restore(_ s: TrainingState) throws {
        guard s.parameters.count == model.parameterCount else {
            throw TrainingError.mismatch("checkpoint has \(s.parameters.count) parameters, the configuration makes \(model.parameterCount)")
        }
        if config.training.ema != nil && s.average == nil {
            throw TrainingError.mismatch("the checkpoint has no weight average, the configuration asks for one (training.ema)")
        }
        model.parameterVector = s.parameters
        try adam.restore(s.adam)
        dataGenerator = s.dataGenerator
        noiseGenerator = s.noiseGenerator
        if let sc = s.schedule { schedule.resume(from: sc) }
        average = config.training.ema == nil ? nil : s.average
        iteration = s.iteration
    }

    public var state: TrainingState {
        TrainingState(iteration: iteration, parameters: model.parameterVector, adam: adam.state,
                      dataGenerator: dataGenerator, noiseGenerator: noiseGenerator,
                      schedule: schedule, average: average)
    }
}

/// Everything that changes during training.
public struct TrainingState: Equatable {
    public var iteration: Int
    public var parameters: [Double]
    public var adam: Adam.State
    public var dataGenerator: Xoshiro256
    public var noiseGenerator: Xoshiro256
    /// nil in checkpoints written before schedules had state (they used stateless schedules).
    public var schedule: LearningRateSchedule?
    public var average: [Double]?

    public init(iteration: Int, parameters: [Double], adam: Adam.State, dataGenerator: Xoshiro256,
                noiseGenerator: Xoshiro256, schedule: LearningRateSchedule? = nil, average: [Double]? = nil) {
        self.iteration = iteration
        self.parameters = parameters
        self.adam = adam
        self.dataGenerator = dataGenerator
        self.noiseGenerator = noiseGenerator
        self.schedule = schedule
        self.average = average
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(iteration: Int, loss: Double)
    case mismatch(String)

    public var description: String {
        switch self {
        case let .nonFinite(i, loss):
            return "non-finite loss (\(loss)) or gradient at iteration \(i): lower training.lr, tighten solver.atol/solver.rtol, or regularize (density.kinetic, density.jacobian)"
        case let .mismatch(m): return m
        }
    }
}

