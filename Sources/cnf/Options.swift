import ArgumentParser
import Networks
import Flow
import Training
import ODE
import ToyData

// The command line mapped onto the configuration's sections: one option group per section,
// each applying only what the user gave. Help texts read their defaults from `FitConfig()`, so
// a default is declared once (on the configuration) and shown everywhere.

private let defaults = FitConfig()

/// Which run and which of its weights (eval, sample, render, gradients).
struct RunChoice: ParsableArguments {
    @Option(name: .customLong("run"), help: "Run folder.") var folder: String
    @Option(help: "Which weights: model (final), best (best validation NLL during training) or ema (the final weight average, runs with --ema).")
    var checkpoint: CheckpointChoice = .model
    @Option(help: "Threads (results do not depend on it).") var threads: Int = 2

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    }
}

enum CheckpointChoice: String, CaseIterable, ExpressibleByArgument { case model, best, ema }

extension FitConfig.Standardize: ExpressibleByArgument {}
extension FitConfig.Dequantize: ExpressibleByArgument {}

/// The forward solve: the `solver` section (fit), or a one-off override (eval, sample, render).
struct SolverArguments: ParsableArguments {
    @Option(help: "ODE solver: \(SolverMethod.allCases.map(\.rawValue).joined(separator: ", ")).") var solver: SolverMethod?
    @Option(help: "Absolute tolerance.") var atol: Double?
    @Option(help: "Relative tolerance.") var rtol: Double?
    @Option(help: "Step size of fixed-step solvers (first step of adaptive ones).") var step: Double?
    @Option(help: "Solver step limit per solve.") var maxSteps: Int?

    func apply(to o: inout SolveOptions) {
        if let v = solver { o.method = v }
        if let v = atol { o.atol = v }
        if let v = rtol { o.rtol = v }
        if let v = step { o.step = v }
        if let v = maxSteps { o.maxSteps = v }
    }
}

struct DataArguments: ParsableArguments {
    @Option(help: "Toy data set: \(ToyDataset.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: String?
    @Option(help: "Your own data: a CSV (header optional) or .npy file, one point per row.") var data: String?
    @Option(help: "Fraction of a file's rows held out for cnf eval (default \(defaults.data.testFraction)).") var testFraction: Double?
    @Option(help: "Fraction of a file's rows held out for validation: best checkpoint and stopping (default \(defaults.data.validationFraction)).") var validationFraction: Double?

    @Option(help: "A file's preprocessing, fitted on its training rows and kept with the model: scale (per column: mean, std), robust (median, IQR/1.349), whiten (mean, Cholesky factor of the covariance) or none (default \(FitConfig.DataSection.fileStandardize.rawValue) for --data; toy sets: none). Log-densities are reported in the data's units.") var standardize: FitConfig.Standardize?
    @Option(help: "uniform: add U(0, 1) noise to a file's whole-number columns (the NLL then upper-bounds the discrete −log P) (default \(defaults.data.dequantize.rawValue)).") var dequantize: FitConfig.Dequantize?
    @Flag(help: "Leave out a file's rows with missing values (empty, NA, nan, …) instead of refusing the file.") var dropMissing = false

    func apply(to c: inout FitConfig.DataSection) {
        if let v = dataset { c.dataset = v; c.file = nil }
        if let v = data { c.file = v; c.dataset = nil }
        if let v = testFraction { c.testFraction = v }
        if let v = validationFraction { c.validationFraction = v }
        if let v = standardize { c.standardize = v }
        if let v = dequantize { c.dequantize = v }
        if dropMissing { c.dropMissing = true }
    }
}

struct ModelArguments: ParsableArguments {
    @Option(help: "Hidden widths (default \(defaults.model.dims.map(String.init).joined(separator: "-"))).") var dims: String?
    @Option(help: "Activation: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")) (default \(defaults.model.activation.rawValue)).") var activation: Activation?
    @Option(help: "Layer type: \(LayerType.allCases.map(\.rawValue).joined(separator: ", ")) (default \(defaults.model.layer.rawValue)).") var layer: LayerType?
    @Option(help: "Number of CNF blocks (default \(defaults.model.blocks)).") var blocks: Int?
    @Option(help: "Integration time T per block (default \(defaults.model.time)).") var time: Double?
    @Option(help: "Learn T: true or false (default \(defaults.model.trainTime)).") var trainTime: Bool?
    @Option(help: "Network precision: float or double (default \(defaults.model.precision.rawValue)).") var precision: FitConfig.Precision?

    func apply(to c: inout FitConfig.ModelSection) throws {
        if let v = dims { c.dims = try parseDims(v) }
        if let v = activation { c.activation = v }
        if let v = layer { c.layer = v }
        if let v = blocks { c.blocks = v }
        if let v = time { c.time = v }
        if let v = trainTime { c.trainTime = v }
        if let v = precision { c.precision = v }
    }
}

struct DensityArguments: ParsableArguments {
    @Option(help: "Divergence: hutchinson, exact, or auto (exact up to d = \(FitConfig.Trace.autoExactMaxDimension)) (default \(defaults.density.trace.rawValue)).") var trace: FitConfig.Trace?
    @Option(help: "Hutchinson noise: rademacher or gaussian (default \(defaults.density.noise.rawValue)).") var noise: NoiseDistribution?
    @Option(help: "RNODE kinetic-energy weight λ_K (default \(defaults.density.kinetic)).") var kinetic: Double?
    @Option(help: "RNODE Jacobian-Frobenius weight λ_J (default \(defaults.density.jacobian)).") var jacobian: Double?
    @Flag(help: "RNODE preset: --kinetic 0.01 --jacobian 0.01.") var rnode = false

    func apply(to c: inout FitConfig.DensitySection) {
        if let v = trace { c.trace = v }
        if let v = noise { c.noise = v }
        if rnode { c.kinetic = 0.01; c.jacobian = 0.01 }
        if let v = kinetic { c.kinetic = v }
        if let v = jacobian { c.jacobian = v }
    }
}

struct GradientArguments: ParsableArguments {
    @Option(help: "Gradient: adjoint or backprop (through the solver's steps) (default \(defaults.gradient.route.rawValue)).") var gradient: GradientRoute?
    @Option(help: "Adjoint error norm leaves out the parameter cotangents: true or false (default \(defaults.gradient.adjoint.seminorm)).") var seminorm: Bool?
    @Option(help: "Adjoint solve's absolute tolerance (default: the forward one).") var adjointAtol: Double?
    @Option(help: "Adjoint solve's relative tolerance (default: the forward one).") var adjointRtol: Double?

    func apply(to c: inout FitConfig.GradientSection) {
        if let v = gradient { c.route = v }
        if let v = seminorm { c.adjoint.seminorm = v }
        if let v = adjointAtol { c.adjoint.atol = v }
        if let v = adjointRtol { c.adjoint.rtol = v }
    }
}

struct TrainingArguments: ParsableArguments {
    @Option(help: "Training iterations, or the budget when the plateau schedule stops earlier (default \(defaults.training.iters)).") var iters: Int?
    @Option(help: "Batch size (default \(defaults.training.batchSize)).") var batchSize: Int?
    @Option(help: "Adam's peak learning rate (default \(defaults.training.lr)).") var lr: Double?
    @Option(help: "Learning-rate schedule: constant (FFJORD's), cosine (to 0 at --iters) or plateau (peak while validation improves, then a cosine anneal, then stop) (default \(defaults.training.schedule.rawValue)).") var lrSchedule: FitConfig.Schedule?
    @Option(help: "Iterations of linear learning-rate warm-up (default \(defaults.training.warmup)).") var warmup: Int?
    @Option(help: "Adam L2 weight decay (default \(defaults.training.weightDecay)).") var weightDecay: Double?
    @Option(help: "Clip the gradient to this global L2 norm (default \(defaults.training.clip.map { "\($0)" } ?? "off")).") var clip: Double?
    @Option(help: "Polyak/EMA weight averaging with this decay, e.g. 0.999, or 0 for none (default \(defaults.training.ema.map { "\($0)" } ?? "off")); validation, best.safetensors and ema.safetensors use the average.") var ema: Double?
    @Option(help: "Iterations of conditional flow matching (simulation-free, no ODE solve) before maximum likelihood, as a warm start; they count towards --iters (default \(defaults.training.flowMatching): none).") var flowMatching: Int?
    @Option(help: "Factor on the learning rate of the learned integration times (default \(defaults.training.timeRate)).") var timeRate: Double?
    @Option(help: "Plateau schedule: what ends the peak rate: trend (the validation trend projects less than --min-gain nats over an anneal's length) or patience (cnf 0.3's rule: --patience validations without a --min-delta improvement) (default \(defaults.training.plateau.minGain == nil ? "patience" : "trend")).") var peakRule: PeakRule?
    @Option(help: "Plateau schedule, trend rule: the projected gain in nats below which the peak ends (default \(defaults.training.plateau.minGain.map { "\($0)" } ?? "–")).") var minGain: Double?
    @Option(help: "Plateau schedule, trend rule: fraction of the peak's validations the slope is fitted to (default \(defaults.training.plateau.trendFraction)).") var trendFraction: Double?
    @Option(help: "Plateau schedule, trend rule: iterations at the peak before it may end (default \(defaults.training.plateau.minPeak)).") var minPeak: Int?
    @Option(help: "Plateau schedule: the step anneal's factor per step, or 0 for a cosine anneal (cnf 0.3's) (default \(defaults.training.plateau.decay.map { "\($0)" } ?? "0")).") var decay: Double?
    @Option(help: "Plateau schedule: the step anneal's number of steps (default \(defaults.training.plateau.steps)).") var steps: Int?
    @Option(help: "Plateau schedule, patience rule: validations without improvement before the anneal (default \(defaults.training.plateau.patience)).") var patience: Int?
    @Option(help: "Plateau schedule, patience rule: the improvement in nats that counts (default \(defaults.training.plateau.minDelta)).") var minDelta: Double?
    @Option(help: "Plateau schedule, cosine anneal: its length as a fraction of the iterations before it (default \(defaults.training.plateau.annealFraction)).") var annealFraction: Double?
    @Option(help: "Plateau schedule: the (cosine) anneal's shortest length, or each step's near the budget, in iterations (default \(defaults.training.plateau.minAnneal)).") var minAnneal: Int?
    @Option(help: "Plateau schedule: while the anneal improves validation faster than this many nats per 1000 iterations (slope of the last --window validations), its rate is held (up to --iters); 0 = never (default \(defaults.training.plateau.extendRate)).") var extendRate: Double?
    @Option(help: "Plateau schedule: validations the anneal's slope is fitted to (default \(defaults.training.plateau.window)).") var window: Int?
    @Option(help: "Plateau schedule: stop when --window validations in a row are this many nats above the best while the training NLL falls (overfitting; model.safetensors is then the best validation weights), or 0 for never (default \(defaults.training.plateau.overfitRise.map { "\($0)" } ?? "0")).") var overfitRise: Double?
    @Option(help: "Batch chunks for parallel work (default \(defaults.training.chunks); part of the arithmetic, so of the result).") var chunks: Int?
    @Option(help: "Evaluate the validation NLL every N iterations (default \(defaults.validation.every)).") var evalEvery: Int?
    @Option(name: [.customLong("validation-size"), .customLong("test-size")],
            help: "Validation points of a toy set (default \(defaults.validation.size); --test-size is the old name).") var validationSize: Int?

    func apply(to c: inout FitConfig) {
        if let v = iters { c.training.iters = v }
        if let v = batchSize { c.training.batchSize = v }
        if let v = lr { c.training.lr = v }
        if let v = lrSchedule { c.training.schedule = v }
        if let v = warmup { c.training.warmup = v }
        if let v = weightDecay { c.training.weightDecay = v }
        if let v = clip { c.training.clip = v }
        if let v = ema { c.training.ema = v == 0 ? nil : v }
        switch peakRule {
        case .patience?: c.training.plateau.minGain = nil
        case .trend?: if c.training.plateau.minGain == nil { c.training.plateau.minGain = PlateauRule().minGain ?? 0.01 }
        case nil: if patience != nil || minDelta != nil { c.training.plateau.minGain = nil }
        }
        if let v = minGain { c.training.plateau.minGain = v }
        if let v = timeRate { c.training.timeRate = v }
        if let v = flowMatching { c.training.flowMatching = v }
        if let v = trendFraction { c.training.plateau.trendFraction = v }
        if let v = minPeak { c.training.plateau.minPeak = v }
        if let v = decay { c.training.plateau.decay = v == 0 ? nil : v }
        if let v = overfitRise { c.training.plateau.overfitRise = v == 0 ? nil : v }
        if let v = steps { c.training.plateau.steps = v }
        if let v = patience { c.training.plateau.patience = v }
        if let v = minDelta { c.training.plateau.minDelta = v }
        if let v = annealFraction { c.training.plateau.annealFraction = v }
        if let v = minAnneal { c.training.plateau.minAnneal = v }
        if let v = extendRate { c.training.plateau.extendRate = v }
        if let v = window { c.training.plateau.window = v }
        if let v = chunks { c.training.chunks = v }
        if let v = evalEvery { c.validation.every = v }
        if let v = validationSize { c.validation.size = v }
    }
}

/// What ends the plateau schedule's peak (see `PlateauRule`).
enum PeakRule: String, ExpressibleByArgument, CaseIterable { case trend, patience }
