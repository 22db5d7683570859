import CNFCore
import Networks
import Flow
import ODE

/// Everything that determines a training run, in sections. Written to `DIR/config.json` fully
/// resolved (defaults filled in); a run made from it again gives the same bits.
///
/// Every default is declared once, on its property below; decoding takes it for a missing key,
/// the CLI's help texts read it from `FitConfig()`. The sections embed the library's own option
/// types where one exists (`solver` is the ODE module's `SolveOptions`). Files written before
/// the sections existed (format 1, flat keys) are migrated on load: see `FitConfig+Legacy.swift`.
public struct FitConfig: Codable, Equatable, Sendable {
    public static let currentFormat = 5
    /// 3 = this layout; 2 = the same sections as written by cnf 0.2 (nil options left out, read
    /// with cnf 0.2's meaning); 1 = the flat layout of cnf ≤ 0.1.0.
    public var format: Int = FitConfig.currentFormat
    /// Seeds every random stream of the run (see `RandomStream`).
    public var seed: UInt64 = 0
    public var data = DataSection()
    public var model = ModelSection()
    public var density = DensitySection()
    /// The forward solve's method, tolerances and step control (training and validation).
    public var solver = SolveOptions(method: .dopri5, rtol: 1e-3, atol: 1e-3)
    public var gradient = GradientSection()
    public var training = TrainingSection()
    public var validation = ValidationSection()
    public var provenance = Provenance()

    public init() {}

    public struct DataSection: Codable, Equatable, Sendable {
        /// A toy data set name (see `ToyDataset`), or nil when `file` names a file.
        public var dataset: String? = "8gaussians"
        /// A user's CSV or .npy file (rows = points).
        public var file: String? = nil
        /// Fractions of a file's rows held out as the test set (touched only by `cnf eval`) and
        /// as the validation set (what best-checkpoint choice and stopping look at). Toy sets
        /// draw both from their own random streams instead.
        public var testFraction: Double = 0.1
        public var validationFraction: Double = 0.1
        /// The affine map fitted on a file's training rows and kept with the model, so that the
        /// flow sees data near unit scale (see `Standardizer` in ToyData). The property's default,
        /// `none`, is what a configuration without the key means (toy sets, which already live
        /// in [-4, 4]², and file runs configured before cnf 0.3, which then replay bit for bit);
        /// A fit on a file records `fileStandardize` unless told otherwise.
        public var standardize: Standardize = .none
        /// Add U(0, 1) noise to a file's whole-number columns (`uniform`) or not.
        public var dequantize: Dequantize = .none
        /// Leave out a file's rows with missing values instead of refusing the file.
        public var dropMissing: Bool = false
        /// What a fit on a file uses when nothing else says.
        public static let fileStandardize: Standardize = .scale
        public init() {}
    }

    /// Per-column centring and scaling (`scale`: mean/std; `robust`: median/(IQR/1.349)), full
    /// whitening by the Cholesky factor of the covariance, or the identity.
    public enum Standardize: String, Codable, CaseIterable, Sendable { case scale, robust, whiten, none }
    /// Dequantization of whole-number columns.
    public enum Dequantize: String, Codable, CaseIterable, Sendable { case none, uniform }

    public struct ModelSection: Codable, Equatable, Sendable {
        public var dims: [Int] = [64, 64, 64]
        public var activation: Activation = .tanh
        public var layer: LayerType = .concatSquash
        public var blocks: Int = 2
        /// Integration time T of each block (FFJORD's toy default 0.5).
        public var time: Double = 0.5
        public var trainTime: Bool = false
        /// The network's arithmetic.
        public var precision: Precision = .float
        public init() {}

        /// The model this section describes, for data of dimension `dimension`.
        public func modelConfig(dimension: Int) -> ModelConfig {
            ModelConfig(network: ODENetConfiguration(dimension: dimension, hiddenWidths: dims,
                                                     activation: activation, layerType: layer),
                        blocks: blocks, time: time, trainTime: trainTime)
        }
    }

    public struct DensitySection: Codable, Equatable, Sendable {
        public var trace: Trace = .auto
        public var noise: NoiseDistribution = .rademacher
        /// RNODE regularizers: λ for ∫‖f‖² dt and for ∫‖Jε‖² dt (0 = off).
        public var kinetic: Double = 0
        public var jacobian: Double = 0
        public init() {}

        /// The divergence the training loss uses at this dimension.
        public func divergence(dimension: Int) -> Divergence {
            switch trace {
            case .exact: return .exact
            case .hutchinson: return .hutchinson
            case .auto: return dimension <= Trace.autoExactMaxDimension ? .exact : .hutchinson
            }
        }
    }

    public struct GradientSection: Codable, Equatable, Sendable {
        public var route: GradientRoute = .adjoint
        public var adjoint = AdjointSection()
        public init() {}
    }

    /// The backward solve: its own tolerances (nil = the forward solve's) and its error norm.
    public struct AdjointSection: Codable, Equatable, Sendable {
        /// Leave θ̄ out of the adjoint's error norm (see `AdjointOptions.seminorm`).
        public var seminorm: Bool = true
        public var atol: Double? = nil
        public var rtol: Double? = nil
        public init() {}

        /// The adjoint's options given the forward solve's.
        public func options(forward: SolveOptions) -> AdjointOptions {
            var o = forward
            o.atol = atol ?? forward.atol
            o.rtol = rtol ?? forward.rtol
            return AdjointOptions(solve: o, seminorm: seminorm)
        }
    }

    public struct TrainingSection: Codable, Equatable, Sendable {
        /// Iterations: the whole run, or the budget when a stopping rule ends it earlier.
        public var iters: Int = 10_000
        public var batchSize: Int = 100
        /// Adam's (peak) learning rate, L2 weight decay and the schedule over the run.
        public var lr: Double = 3e-2
        public var schedule: Schedule = .plateau
        /// Iterations of linear warm-up from 0 to `lr`.
        public var warmup: Int = 100
        public var weightDecay: Double = 1e-5
        /// Rescale the gradient to this global L2 norm when it is longer (nil = never).
        public var clip: Double? = nil
        /// Polyak/EMA averaging of the weights with this decay (nil = off). Validation, the
        /// best checkpoint and `ema.safetensors` use the average.
        public var ema: Double? = 0.99
        /// The plateau schedule's rule (see `PlateauSchedule`).
        public var plateau = PlateauRule()
        /// Iterations of conditional flow matching before maximum likelihood (a simulation-free
        /// warm start; 0 = none, the default: the objective is the likelihood throughout).
        public var flowMatching: Int = 0
        /// Apply the L2 weight decay to the integration times' roots τ too (cnf ≤ 0.3 did; Adam
        /// turns even that tiny gradient into a step of about the rate, so wherever the loss's
        /// own gradient for τ vanishes — the flow-matching warm start, which does not train T —
        /// τ would shrink by the rate every step).
        public var decayTime: Bool = false
        /// A factor on the learning rate of the integration times' roots τ (T = τ²; with a learned
        /// T). Adam moves every parameter by about the rate per step whatever its scale, so at a
        /// peak of 3e-2 an unscaled τ ≈ 0.7 can collapse within the warm-up; 1 = no scaling.
        public var timeRate: Double = 1
        /// The batch is cut into this many chunks for parallel work. Part of the arithmetic
        /// (the order of sums), so part of the configuration; the number of threads that run
        /// the chunks is not (results do not depend on it), so it is not recorded here.
        public var chunks: Int = 2
        public init() {}
    }

    public struct ValidationSection: Codable, Equatable, Sendable {
        /// Evaluate the validation NLL every this many iterations (and at the end).
        public var every: Int = 100
        /// Validation points (toy sets; a file's validation rows are its validation split).
        public var size: Int = 2_000
        public init() {}
    }

    /// Recorded, never used.
    public struct Provenance: Codable, Equatable, Sendable {
        public var cnfVersion: String = cnfVersionString
        public var gitCommit: String? = nil
        public init() {}
    }

    public enum Trace: String, Codable, CaseIterable, Sendable {
        case hutchinson, exact
        /// Exact up to `autoExactMaxDimension` dimensions (d tangents, no estimator variance),
        /// Hutchinson above (one tangent whatever d).
        case auto
        public static let autoExactMaxDimension = 4
    }
    public enum Precision: String, Codable, CaseIterable, Sendable { case float, double }
    /// Learning rate over the run: constant (FFJORD), cosine-annealed to 0 at `iters`, or
    /// plateau (held at the peak while validation improves, then annealed; see `PlateauSchedule`).
    public enum Schedule: String, Codable, CaseIterable, Sendable { case constant, cosine, plateau }

    /// The forward solve's options (the `solver` section).
    public var solveOptions: SolveOptions { solver }
    public var adjointOptions: AdjointOptions { gradient.adjoint.options(forward: solver) }

    /// A name for the data: the toy set or the file.
    public var dataName: String { data.dataset ?? data.file ?? "?" }

    /// One line saying what is wrong, or nil.
    public func validationError() -> String? {
        if data.dataset == nil && data.file == nil { return "no data: data.dataset (a toy set) or data.file (a CSV or .npy file) must be set" }
        if data.dataset != nil && data.file != nil { return "data.dataset and data.file are both set: give one" }
        let m = model, t = training
        if m.dims.isEmpty || m.dims.contains(where: { $0 < 1 }) { return "model.dims must be positive widths like 64-64-64, got \(m.dims)" }
        if m.blocks < 1 { return "model.blocks must be ≥ 1, got \(m.blocks)" }
        if !(m.time > 0 && m.time.isFinite) { return "model.time must be positive, got \(m.time)" }
        if t.iters < 0 { return "training.iters must be ≥ 0, got \(t.iters)" }
        if t.batchSize < 1 { return "training.batchSize must be ≥ 1, got \(t.batchSize)" }
        if !(t.lr > 0 && t.lr.isFinite) { return "training.lr must be positive, got \(t.lr)" }
        if t.warmup < 0 { return "training.warmup must be ≥ 0, got \(t.warmup)" }
        if t.weightDecay < 0 { return "training.weightDecay must be ≥ 0, got \(t.weightDecay)" }
        if let c = t.clip, !(c > 0 && c.isFinite) { return "training.clip must be positive, got \(c)" }
        if let e = t.ema, !(e > 0 && e < 1) { return "training.ema must be in (0, 1), got \(e)" }
        if t.flowMatching < 0 { return "training.flowMatching must be ≥ 0, got \(t.flowMatching)" }
        if !(t.timeRate > 0 && t.timeRate.isFinite) { return "training.timeRate must be positive, got \(t.timeRate)" }
        if let msg = t.plateau.validationError() { return msg }
        if density.kinetic < 0 || density.jacobian < 0 { return "density.kinetic and density.jacobian must be ≥ 0" }
        if validation.every < 1 { return "validation.every must be ≥ 1, got \(validation.every)" }
        if validation.size < 2 { return "validation.size must be ≥ 2, got \(validation.size)" }
        if t.chunks < 1 { return "training.chunks must be ≥ 1, got \(t.chunks)" }
        if !(data.testFraction > 0 && data.testFraction < 1) { return "data.testFraction must be in (0, 1), got \(data.testFraction)" }
        if !(data.validationFraction >= 0 && data.testFraction + data.validationFraction < 1) {
            return "data.validationFraction must be ≥ 0 with test + validation < 1, got \(data.validationFraction)"
        }
        if data.dataset != nil && (data.standardize != .none || data.dequantize != .none || data.dropMissing) {
            return "data.standardize, data.dequantize and data.dropMissing apply to data.file; the toy sets already live in [-4, 4]² with no missing or discrete values"
        }
        if let msg = solver.validationError() { return msg }
        if let msg = adjointOptions.solve.validationError() { return "adjoint: " + msg }
        return nil
    }
}

extension FitConfig {
    /// Named starting points for a configuration (the command line's presets).
    public enum Preset: String, CaseIterable, Codable, Sendable {
        /// cnf's defaults (`FitConfig()`).
        case `default`
        /// FFJORD's 2019 toy recipe (cnf 0.1's defaults): Hutchinson trace, tolerance 1e-5,
        /// Adam lr 1e-3 cosine-annealed over a fixed 10 000 iterations, validation every 500.
        case ffjord
        /// cnf 0.3's defaults: one block with a learned T (unscaled rate), the plateau schedule
        /// with the patience rule and a cosine anneal held while validation still gains.
        case cnf03 = "cnf0.3"

        public var config: FitConfig {
            var c = FitConfig()
            switch self {
            case .default: break
            case .ffjord:
                c.model.blocks = 1
                c.density.trace = .hutchinson
                c.solver.atol = 1e-5
                c.solver.rtol = 1e-5
                c.training.iters = 10_000
                c.training.lr = 1e-3
                c.training.schedule = .cosine
                c.training.warmup = 0
                c.training.clip = nil
                c.training.ema = nil
                c.model.trainTime = false
                c.training.plateau.overfitRise = nil
                c.validation.every = 500
            case .cnf03:
                c.model.blocks = 1
                c.model.trainTime = true
                c.training.lr = 3e-2
                c.training.timeRate = 1
                c.training.decayTime = true
                c.training.plateau.extendRate = 0.04
                c.training.plateau.minAnneal = 300
                c.training.plateau.minGain = nil
                c.training.plateau.decay = nil
                c.training.plateau.overfitRise = nil
            }
            return c
        }
    }
}

public let cnfVersionString = "0.4.1"
