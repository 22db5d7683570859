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
/// Randomness comes from three independent streams of the run's seed: 0 = training batches,
/// 2 = Hutchinson noise, 3 = initial weights (1 is the test set, drawn by the caller). Their
/// states and Adam's are the whole mutable state: `TrainingState` saves and restores it, so a
/// resumed run continues bit for bit.
public final class Trainer<S: BLASScalar> {
    public let config: FitConfig
    public let model: CNF<S>
    public var adam: Adam
    public var dataGenerator: Xoshiro256
    public var noiseGenerator: Xoshiro256
    public private(set) var iteration = 0
    let sampleBatch: (inout Xoshiro256, Int) -> [Double]
    let options: DensityOptions

    /// - Parameter sampleBatch: draws a training batch (N × d, row-major) from the generator.
    /// - Parameter threads: threads to run the batch chunks on (the result does not depend on it).
    public init(config: FitConfig, dimension: Int, threads: Int = 2,
                sampleBatch: @escaping (inout Xoshiro256, Int) -> [Double]) {
        self.config = config
        var initGenerator = Xoshiro256(seed: config.seed, stream: 3)
        let net = ODENetConfiguration(dimension: dimension, hiddenWidths: config.dims,
                                      activation: config.activation, layerType: config.layer)
        model = CNF<S>(config: ModelConfig(network: net, blocks: config.blocks, time: config.time,
                                           trainTime: config.trainTime),
                       generator: &initGenerator)
        model.threads = max(1, threads)
        model.chunks = config.chunks
        adam = Adam(parameterCount: model.parameterCount, learningRate: config.lr, weightDecay: config.weightDecay)
        dataGenerator = Xoshiro256(seed: config.seed, stream: 0)
        noiseGenerator = Xoshiro256(seed: config.seed, stream: 2)
        self.sampleBatch = sampleBatch
        var o = DensityOptions(divergence: config.trace == .exact ? .exact : .hutchinson,
                               solve: config.solveOptions, adjoint: config.adjointOptions)
        o.noise = config.noise
        o.kinetic = config.kinetic
        o.jacobian = config.jacobian
        o.gradient = config.gradient
        options = o
    }

    /// One iteration: batch, noise, loss and gradient, Adam step. Throws the solver's error
    /// (the parameters are left as they were before the iteration) or a non-finite loss.
    public func step() throws -> IterationRecord {
        let start = monotonicSeconds()
        let d = model.dimension, n = config.batchSize
        let batch = sampleBatch(&dataGenerator, n)
        var noise: [[Double]] = []
        if options.divergence == .hutchinson {
            for _ in 0..<config.blocks {
                noise.append((0..<(n * d)).map { _ in
                    config.noise == .rademacher ? noiseGenerator.rademacher() : noiseGenerator.normal()
                })
            }
        }
        let r = try model.loss(points: batch, noise: noise, options: options)
        guard r.loss.isFinite, r.gradient.allSatisfy({ $0.isFinite }) else {
            throw TrainingError.nonFinite(iteration: iteration + 1, loss: r.loss)
        }
        var p = model.parameterVector
        adam.learningRate = learningRate(at: iteration)
        adam.step(parameters: &p, gradient: r.gradient)
        model.parameterVector = p
        iteration += 1
        return IterationRecord(iteration: iteration, loss: r.loss, nll: r.nll,
                               forwardNFE: r.forward.evaluations, backwardNFE: r.backward.evaluations,
                               seconds: monotonicSeconds() - start)
    }

    /// The learning rate of iteration `i` (0-based): constant, or cosine annealing
    /// lr · ½(1 + cos(π i / iters)), which lets the last iterations settle instead of
    /// jittering at the full rate.
    public func learningRate(at i: Int) -> Double {
        switch config.lrSchedule {
        case .constant: return config.lr
        case .cosine: return config.lr * 0.5 * (1 + cos(Double.pi * Double(i) / Double(max(config.iters, 1))))
        }
    }

    /// Restores a saved state (see `TrainingState`).
    public func restore(_ s: TrainingState) throws {
        guard s.parameters.count == model.parameterCount else {
            throw TrainingError.mismatch("checkpoint has \(s.parameters.count) parameters, the configuration makes \(model.parameterCount)")
        }
        model.parameterVector = s.parameters
        try adam.restore(s.adam)
        dataGenerator = s.dataGenerator
        noiseGenerator = s.noiseGenerator
        iteration = s.iteration
    }

    public var state: TrainingState {
        TrainingState(iteration: iteration, parameters: model.parameterVector, adam: adam.state,
                      dataGenerator: dataGenerator, noiseGenerator: noiseGenerator)
    }
}

/// Everything that changes during training.
public struct TrainingState: Equatable {
    public var iteration: Int
    public var parameters: [Double]
    public var adam: Adam.State
    public var dataGenerator: Xoshiro256
    public var noiseGenerator: Xoshiro256

    public init(iteration: Int, parameters: [Double], adam: Adam.State, dataGenerator: Xoshiro256,
                noiseGenerator: Xoshiro256) {
        self.iteration = iteration
        self.parameters = parameters
        self.adam = adam
        self.dataGenerator = dataGenerator
        self.noiseGenerator = noiseGenerator
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(iteration: Int, loss: Double)
    case mismatch(String)

    public var description: String {
        switch self {
        case let .nonFinite(i, loss):
            return "non-finite loss (\(loss)) or gradient at iteration \(i): lower --lr, tighten --atol/--rtol, or add --rnode"
        case let .mismatch(m): return m
        }
    }
}

