import CNFCore
import Networks
import Flow
import ODE

/// Everything that determines a training run. Written to `DIR/config.json` fully resolved
/// (defaults filled in); `cnf fit --config DIR/config.json` re-runs it bit for bit.
public struct FitConfig: Codable, Equatable, Sendable {
    public enum Trace: String, Codable, CaseIterable, Sendable { case hutchinson, exact }
    public typealias Gradient = GradientRoute
    public enum Precision: String, Codable, CaseIterable, Sendable { case float, double }
    /// Learning rate over the run: constant (FFJORD) or cosine-annealed from `lr` to 0.
    public enum Schedule: String, Codable, CaseIterable, Sendable { case constant, cosine }

    // Data
    /// A toy data set name (see `ToyDataset`), or nil when `data` names a file.
    public var dataset: String? = "8gaussians"
    /// A user's CSV or .npy file (rows = points).
    public var data: String? = nil
    /// Fraction of a data file held out as the test set.
    public var testFraction: Double = 0.1

    // Model
    public var dims: [Int] = [64, 64, 64]
    public var activation: Activation = .tanh
    public var layer: LayerType = .concatSquash
    public var blocks: Int = 1
    /// Integration time T of each block (FFJORD's toy default 0.5).
    public var time: Double = 0.5
    public var trainTime: Bool = false

    // Density
    public var trace: Trace = .hutchinson
    public var noise: NoiseDistribution = .rademacher
    /// RNODE regularizers: λ for ∫‖f‖² dt and for ∫‖Jε‖² dt (0 = off).
    public var kinetic: Double = 0
    public var jacobian: Double = 0

    // Solver
    public var solver: SolverMethod = .dopri5
    public var atol: Double = 1e-5
    public var rtol: Double = 1e-5
    /// Step size for fixed-step solvers.
    public var step: Double? = nil
    public var maxSteps: Int = 10_000
    public var gradient: Gradient = .adjoint
    /// Leave θ̄ out of the adjoint's error norm (see `AdjointOptions.seminorm`).
    public var seminorm: Bool = true
    /// Tolerances of the backward (adjoint) solve; nil = the forward ones.
    public var adjointAtol: Double? = nil
    public var adjointRtol: Double? = nil

    // Optimization
    public var iters: Int = 10_000
    public var batchSize: Int = 100
    public var lr: Double = 1e-3
    public var lrSchedule: Schedule = .cosine
    public var weightDecay: Double = 1e-5
    public var precision: Precision = .float
    public var seed: UInt64 = 0

    // Evaluation during training
    public var evalEvery: Int = 500
    public var testSize: Int = 2_000

    /// The batch is cut into this many chunks for parallel work. Part of the arithmetic (the
    /// order of sums), so part of the configuration; the number of threads that run the
    /// chunks is not (results do not depend on it), so it is not recorded here.
    public var chunks: Int = 2

    // Provenance (recorded, not used).
    public var cnfVersion: String = cnfVersionString
    public var gitCommit: String? = nil

    public init() {}

    /// The forward solve's options.
    public var solveOptions: SolveOptions {
        var o = SolveOptions(method: solver, rtol: rtol, atol: atol)
        o.step = step
        o.maxSteps = maxSteps
        return o
    }

    public var adjointOptions: AdjointOptions {
        var o = solveOptions
        o.atol = adjointAtol ?? atol
        o.rtol = adjointRtol ?? rtol
        return AdjointOptions(solve: o, seminorm: seminorm)
    }

    /// One line saying what is wrong, or nil.
    public func validationError() -> String? {
        if dataset == nil && data == nil { return "give a data set (--dataset NAME) or a file (--data FILE)" }
        if dataset != nil && data != nil { return "give either --dataset or --data, not both" }
        if dims.isEmpty || dims.contains(where: { $0 < 1 }) { return "--dims must be positive widths like 64-64-64, got \(dims)" }
        if blocks < 1 { return "--blocks must be ≥ 1, got \(blocks)" }
        if !(time > 0 && time.isFinite) { return "--time must be positive, got \(time)" }
        if iters < 0 { return "--iters must be ≥ 0, got \(iters)" }
        if batchSize < 1 { return "--batch-size must be ≥ 1, got \(batchSize)" }
        if !(lr > 0 && lr.isFinite) { return "--lr must be positive, got \(lr)" }
        if weightDecay < 0 { return "--weight-decay must be ≥ 0, got \(weightDecay)" }
        if kinetic < 0 || jacobian < 0 { return "--kinetic and --jacobian must be ≥ 0" }
        if evalEvery < 1 { return "--eval-every must be ≥ 1, got \(evalEvery)" }
        if testSize < 2 { return "--test-size must be ≥ 2, got \(testSize)" }
        if chunks < 1 { return "--chunks must be ≥ 1, got \(chunks)" }
        if !(testFraction > 0 && testFraction < 1) { return "--test-fraction must be in (0, 1), got \(testFraction)" }
        if let m = solveOptions.validationError() { return m }
        if let m = adjointOptions.solve.validationError() { return "adjoint: " + m }
        return nil
    }
}

public let cnfVersionString = "0.1.0"

extension FitConfig {
    enum CodingKeys: String, CodingKey {
        case dataset, data, testFraction, dims, activation, layer, blocks, time, trainTime, trace, noise, kinetic, jacobian, solver, atol, rtol, step, maxSteps, gradient, seminorm, adjointAtol, adjointRtol, iters, batchSize, lr, lrSchedule, weightDecay, precision, seed, evalEvery, testSize, chunks, cnfVersion, gitCommit
    }

    /// Decodes a configuration; keys that are missing take their defaults, so a partial file
    /// (or one written by an older cnf) works. Unknown keys are errors, not silently ignored.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let known = Set(CodingKeys.allKeyNames)
        let any = try decoder.container(keyedBy: AnyKey.self)
        for key in any.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [],
                debugDescription: "unknown key '\(key.stringValue)' (known: \(CodingKeys.allKeyNames.joined(separator: ", ")))"))
        }
        if c.contains(.data) && !c.contains(.dataset) { dataset = nil }
        if c.contains(.dataset) { dataset = try c.decodeIfPresent(String.self, forKey: .dataset) }
        if c.contains(.data) { data = try c.decodeIfPresent(String.self, forKey: .data) }
        testFraction = try c.decodeIfPresent(Double.self, forKey: .testFraction) ?? testFraction
        dims = try c.decodeIfPresent([Int].self, forKey: .dims) ?? dims
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? activation
        layer = try c.decodeIfPresent(LayerType.self, forKey: .layer) ?? layer
        blocks = try c.decodeIfPresent(Int.self, forKey: .blocks) ?? blocks
        time = try c.decodeIfPresent(Double.self, forKey: .time) ?? time
        trainTime = try c.decodeIfPresent(Bool.self, forKey: .trainTime) ?? trainTime
        trace = try c.decodeIfPresent(Trace.self, forKey: .trace) ?? trace
        noise = try c.decodeIfPresent(NoiseDistribution.self, forKey: .noise) ?? noise
        kinetic = try c.decodeIfPresent(Double.self, forKey: .kinetic) ?? kinetic
        jacobian = try c.decodeIfPresent(Double.self, forKey: .jacobian) ?? jacobian
        solver = try c.decodeIfPresent(SolverMethod.self, forKey: .solver) ?? solver
        atol = try c.decodeIfPresent(Double.self, forKey: .atol) ?? atol
        rtol = try c.decodeIfPresent(Double.self, forKey: .rtol) ?? rtol
        if c.contains(.step) { step = try c.decodeIfPresent(Double.self, forKey: .step) }
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps) ?? maxSteps
        gradient = try c.decodeIfPresent(Gradient.self, forKey: .gradient) ?? gradient
        seminorm = try c.decodeIfPresent(Bool.self, forKey: .seminorm) ?? seminorm
        if c.contains(.adjointAtol) { adjointAtol = try c.decodeIfPresent(Double.self, forKey: .adjointAtol) }
        if c.contains(.adjointRtol) { adjointRtol = try c.decodeIfPresent(Double.self, forKey: .adjointRtol) }
        iters = try c.decodeIfPresent(Int.self, forKey: .iters) ?? iters
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? lr
        lrSchedule = try c.decodeIfPresent(Schedule.self, forKey: .lrSchedule) ?? lrSchedule
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? weightDecay
        precision = try c.decodeIfPresent(Precision.self, forKey: .precision) ?? precision
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery) ?? evalEvery
        testSize = try c.decodeIfPresent(Int.self, forKey: .testSize) ?? testSize
        chunks = try c.decodeIfPresent(Int.self, forKey: .chunks) ?? chunks
        cnfVersion = try c.decodeIfPresent(String.self, forKey: .cnfVersion) ?? cnfVersion
        if c.contains(.gitCommit) { gitCommit = try c.decodeIfPresent(String.self, forKey: .gitCommit) }
    }
}

extension FitConfig.CodingKeys: CaseIterable {
    static var allKeyNames: [String] { allCases.map(\.rawValue) }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
