import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ODE
import ToyData

/// The numbers `cnf eval` reports (and writes to DIR/eval.json).
struct EvalReport: Codable {
    var nll: Double
    var nll_stderr: Double
    var bits_per_dim: Double
    var n: Int
    var nfe: Int
    var entropy_floor: Double?
    /// How the floor was obtained: the toy set's table value, or a Kozachenko–Leonenko k-NN
    /// estimate on the evaluated points for a user's data (rough on few points).
    var entropy_floor_method: String?
    var gap: Double?
    var dataset: String
    var checkpoint: String
    var atol: Double
    var rtol: Double
    var solver: String
    var seconds: Double
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test log-likelihood of a trained model (exact trace, tight tolerances).",
        discussion: """
        Reports the mean negative log-likelihood in nats with its standard error (std/√n), bits
        per dimension (NLL / (d·ln 2)), the solver's function evaluations, and for a toy set its
        entropy floor (the best any model can do on average) and the gap to it. Toy sets are
        evaluated on n points of the run's test stream (never seen in training); a file run on
        its held-out rows, or on --data FILE. Also writes DIR/eval.json.

        Defaults: --n 10000, exact trace, dopri5 with atol = rtol = 1e-8.

        Example:  cnf eval --run outputs/8gaussians
        """)

    @OptionGroup var runChoice: RunChoice
    @Option(help: "Number of test points (toy data sets).") var n: Int = 10_000
    @Option(help: "Evaluate on this CSV/.npy file instead.") var data: String?
    @OptionGroup(title: "Solver (default: dopri5, atol = rtol = 1e-8)") var solverOptions: SolverArguments
    @Option(help: "Points per solve.") var batchSize: Int = 1000
    @Option(help: "Write log p(x) of each point to this CSV file (columns x…, log_p).") var perPoint: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if n < 2 { throw ValidationError("--n must be ≥ 2, got \(n)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
    }

    func run() throws {
        try runReportingErrors {
            var solve = Eval.defaultSolve
            solverOptions.apply(to: &solve)
            if let m = solve.validationError() { throw CLIError(m) }
            let folder = runChoice.folder
            let report = try Eval.evaluate(folder: folder, n: n, data: data, checkpoint: runChoice.checkpoint.rawValue,
                                           solve: solve, batchSize: batchSize, perPoint: perPoint)
            try writeAtomically(try encodeJSON(report), to: folder + "/eval.json")
            if json {
                print(String(decoding: try encodeJSON(report), as: UTF8.self), terminator: "")
            } else {
                print(String(format: "test NLL %.4f ± %.4f nats (n = %d), %.4f bits/dim, %d function evaluations",
                             report.nll, report.nll_stderr, report.n, report.bits_per_dim, report.nfe))
                if let f = report.entropy_floor, let g = report.gap {
                    print(String(format: "entropy floor of %@: %.4f nats (%@); gap %.4f nats", report.dataset, f,
                                 report.entropy_floor_method ?? "", g))
                }
            }
        }
    }

    /// Evaluation's solve: tight enough that the solver's error is far below the NLL's
    /// standard error.
    static var defaultSolve: SolveOptions {
        var o = SolveOptions(method: .dopri5, rtol: 1e-8, atol: 1e-8)
        o.maxSteps = 100_000
        return o
    }

    static func evaluate(folder: String, n: Int = 10_000, data: String? = nil, checkpoint: String = "model",
                         solve options: SolveOptions = Eval.defaultSolve,
                         batchSize: Int = 1000, perPoint: String? = nil) throws -> EvalReport {
        let loaded = try LoadedRun(folder: folder, checkpoint: checkpoint)
        let c = loaded.config
        var points: [Double]
        var toy: ToyDataset? = nil
        var name: String
        if let path = data {
            let set = try loadData(path: path)
            guard set.cols == loaded.model.dimension else {
                throw CLIError("\(path) has \(set.cols) columns, the model in \(folder) has dimension \(loaded.model.dimension)")
            }
            points = set.values
            name = URL(fileURLWithPath: path).lastPathComponent
        } else {
            let runData = try RunData.make(c)
            toy = runData.toy
            points = runData.testPoints(runData.testCount ?? n)
            name = runData.name
        }
        let count = points.count / loaded.model.dimension
        let progress = Progress(total: count, label: "eval", plainInterval: 30)
        let start = now()
        var g = Xoshiro256(seed: c.seed, stream: .logDensityNoise)
        let r = try loaded.model.logDensity(points: points, generator: &g, solve: options, batchSize: batchSize, startTime: 0) {
            progress.update($0, "")
        }
        progress.finish()
        let seconds = now() - start
        let nlls = r.values.map { -$0 }
        let mean = nlls.reduce(0, +) / Double(count)
        let variance = nlls.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count - 1)
        let d = Double(loaded.model.dimension)
        var floor = toy?.entropyFloor
        var floorMethod = toy.map { _ in "table (TOYDATA)" }
        if toy == nil && count > 10 {
            let set = DataSet(rows: count, cols: loaded.model.dimension, values: points, source: name)
            let h = knnEntropy(set, k: 1)
            if h.isFinite {
                floor = h
                floorMethod = "k-NN (Kozachenko–Leonenko, k = 1) estimate on the \(count) evaluated points"
            }
        }
        if let path = perPoint {
            var text = (0..<loaded.model.dimension).map { "x\($0)" }.joined(separator: ",") + ",log_p\n"
            for i in 0..<count {
                let row = points[(i * Int(d))..<((i + 1) * Int(d))].map { "\($0)" }.joined(separator: ",")
                text += row + ",\(r.values[i])\n"
            }
            try writeAtomically(text, to: path)
        }
        return EvalReport(nll: mean, nll_stderr: (variance / Double(count)).squareRoot(),
                          bits_per_dim: mean / (d * log(2.0)), n: count, nfe: r.stats.evaluations,
                          entropy_floor: floor, entropy_floor_method: floorMethod, gap: floor.map { mean - $0 },
                          dataset: name, checkpoint: checkpoint, atol: options.atol, rtol: options.rtol,
                          solver: options.method.rawValue, seconds: seconds)
    }
}

/// A model loaded from a run folder, in its own precision, behind a precision-free interface.
struct LoadedRun {
    let config: FitConfig
    let model: AnyCNF
    let path: String

    init(folder: String, checkpoint: String = "model") throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("run folder \(folder) does not exist")
        }
        path = folder + "/\(checkpoint).safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            if checkpoint == "ema" { throw CLIError("\(path) does not exist: the run in \(folder) kept no weight average (fit with --ema DECAY)") }
            if checkpoint == "best" { throw CLIError("\(path) does not exist: the run in \(folder) had no validation set or no validation yet") }
            throw CLIError("\(path) does not exist: is \(folder) a finished cnf fit run?")
        }
        let file = try Checkpoint.read(path)
        config = try Checkpoint.config(of: file, path: path)
        switch config.model.precision {
        case .float: model = try Checkpoint.model(Float.self, from: file, path: path)
        case .double: model = try Checkpoint.model(Double.self, from: file, path: path)
        }
    }
}
