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
    var nllStderr: Double
    var bitsPerDim: Double
    var n: Int
    /// The points scored: `test` (the default) or `validation` (for choosing settings
    /// without touching the test set).
    var split: String?
    var nfe: Int
    var entropyFloor: Double?
    /// How the floor was obtained: the toy set's table value, or a Kozachenko–Leonenko k-NN
    /// estimate on the evaluated points for a user's data (rough on few points).
    var entropyFloorMethod: String?
    /// A file's k-NN estimate: its bootstrap standard error and the rows it used (all of the
    /// file's rows: training, validation and test), or why it was withheld.
    var entropyFloorStderr: Double?
    var entropyFloorRows: Int?
    var entropyFloorWithheld: String?
    var gap: Double?
    /// A file's preprocessing (the NLL is in the data's units whatever it is).
    var standardize: String?
    var logAbsDetStandardize: Double?
    /// 1-based dequantized columns, and what the NLL then means.
    var dequantizedColumns: [Int]?
    var dequantizationNote: String?
    /// Baselines fitted on the training rows and scored on the same test points, in nats.
    var gaussianNll: Double?
    var gaussianNllStderr: Double?
    var mixtureNll: Double?
    var mixtureNllStderr: Double?
    var mixtureComponents: Int?
    var mixtureSelection: String?
    var mixtureValidationNllByComponents: [Double]?
    var dataset: String
    var checkpoint: String
    var atol: Double
    var rtol: Double
    var solver: String
    var seconds: Double

    /// The JSON keys users see stay snake_case.
    enum CodingKeys: String, CodingKey {
        case nll
        case nllStderr = "nll_stderr"
        case bitsPerDim = "bits_per_dim"
        case n
        case split
        case nfe
        case entropyFloor = "entropy_floor"
        case entropyFloorMethod = "entropy_floor_method"
        case entropyFloorStderr = "entropy_floor_stderr"
        case entropyFloorRows = "entropy_floor_rows"
        case entropyFloorWithheld = "entropy_floor_withheld"
        case gap
        case standardize
        case logAbsDetStandardize = "log_abs_det_standardize"
        case dequantizedColumns = "dequantized_columns"
        case dequantizationNote = "dequantization_note"
        case gaussianNll = "gaussian_nll"
        case gaussianNllStderr = "gaussian_nll_stderr"
        case mixtureNll = "mixture_nll"
        case mixtureNllStderr = "mixture_nll_stderr"
        case mixtureComponents = "mixture_components"
        case mixtureSelection = "mixture_selection"
        case mixtureValidationNllByComponents = "mixture_validation_nll_by_components"
        case dataset
        case checkpoint
        case atol
        case rtol
        case solver
        case seconds
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test log-likelihood of a trained model (exact trace, tight tolerances).",
        discussion: """
        Reports the mean negative log-likelihood in nats with its standard error (std/√n), bits
        per dimension (NLL / (d·ln 2)), the solver's function evaluations, and for a toy set its
        entropy floor (the best any model can do on average) and the gap to it. Toy sets are
        evaluated on n points of the run's test stream (never seen in training); a file run on
        its held-out rows, or on --data FILE. Also writes DIR/eval.json (the final weights) or
        DIR/eval-best.json, DIR/eval-ema.json (--checkpoint best, ema), so one never replaces another.

        --split validation scores the run's validation points instead (a toy set's validation
        stream, a file's validation rows) and writes DIR/eval-validation[-CHECKPOINT].json: for
        comparing settings or checkpoints without looking at the test set.

        Defaults: --n 10000, exact trace, dopri5 with atol = rtol = 1e-8.

        Example:  cnf eval --run outputs/8gaussians
        """)

    @OptionGroup var runChoice: RunChoice
    @Option(help: "Number of test points (toy data sets).") var n: Int = 10_000
    @Option(help: "Points to score: test (held out for this command) or validation (for choosing settings).")
    var split: EvalSplit = .test
    @Option(help: "Evaluate on this CSV/.npy file instead.") var data: String?
    @OptionGroup(title: "Solver (default: dopri5, atol = rtol = 1e-8)") var solverOptions: SolverArguments
    @Option(help: "Points per solve.") var batchSize: Int = 1000
    @Option(help: "Write log p(x) of each point to this CSV file (columns x…, log_p).") var perPoint: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if split == .validation && data != nil { throw ValidationError("--split validation scores the run's own validation points; leave out --data") }
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
                                           threads: runChoice.threads, solve: solve, batchSize: batchSize, perPoint: perPoint,
                                           split: split)
            try writeAtomically(try encodeJSON(report),
                                to: folder + "/" + Eval.reportFile(checkpoint: runChoice.checkpoint.rawValue, split: split))
            if json {
                print(String(decoding: try encodeJSON(report), as: UTF8.self), terminator: "")
            } else {
                print(String(format: "%@ NLL %.4f ± %.4f nats (n = %d), %.4f bits/dim, %d function evaluations",
                             split.rawValue, report.nll, report.nllStderr, report.n, report.bitsPerDim, report.nfe))
                for line in Eval.reportLines(report) { print(line) }
            }
        }
    }

    /// The lines after the first of the printed report: floor or estimate, baselines,
    /// preprocessing.
    static func reportLines(_ r: EvalReport) -> [String] {
        var lines = [String]()
        if r.entropyFloorRows == nil, let f = r.entropyFloor, let g = r.gap {
            lines.append(String(format: "entropy floor of %@: %.4f nats (%@); gap %.4f nats", r.dataset, f,
                                r.entropyFloorMethod ?? "", g))
        }
        if let f = r.entropyFloor, let se = r.entropyFloorStderr, let rows = r.entropyFloorRows, let g = r.gap {
            lines.append(String(format: "entropy estimate (k-NN, Kozachenko–Leonenko, k = 1, on all %d rows of the file, whitened): %.4f ± %.4f nats (bootstrap s.e.; an estimate, biased on few rows, not a guaranteed floor); gap %.4f nats",
                                rows, f, se, g))
        }
        if let why = r.entropyFloorWithheld { lines.append("no entropy estimate: \(ConfigFlags.commandLine(why))") }
        if let g = r.gaussianNll, let se = r.gaussianNllStderr {
            lines.append(String(format: "baseline: full-covariance Gaussian %.4f ± %.4f nats (fitted on the training rows, same test points)", g, se))
        }
        if let m = r.mixtureNll, let se = r.mixtureNllStderr, let k = r.mixtureComponents {
            lines.append(String(format: "baseline: Gaussian mixture, %d component%@ (chosen by %@ among 1…8), %.4f ± %.4f nats",
                                k, k == 1 ? "" : "s", r.mixtureSelection ?? "?", m, se))
        }
        if let s = r.standardize, let l = r.logAbsDetStandardize {
            lines.append(String(format: "in the data's units: standardize %@, log|det A| = %.6g included", s, l))
        }
        if let note = r.dequantizationNote { lines.append(note) }
        return lines
    }

    /// Evaluation's solve: tight enough that the solver's error is far below the NLL's
    /// standard error.
    static var defaultSolve: SolveOptions {
        var o = SolveOptions(method: .dopri5, rtol: 1e-8, atol: 1e-8)
        o.maxSteps = 100_000
        return o
    }

    /// The report's file in the run folder: eval.json for the final weights on the test points
    /// (what fit writes and experiments read), eval[-validation][-CHECKPOINT].json otherwise.
    static func reportFile(checkpoint: String, split: EvalSplit = .test) -> String {
        "eval" + (split == .validation ? "-validation" : "") + (checkpoint == "model" ? "" : "-\(checkpoint)") + ".json"
    }

    static func evaluate(folder: String, n: Int = 10_000, data: String? = nil, checkpoint: String = "model",
                         threads: Int = 2, solve options: SolveOptions = Eval.defaultSolve,
                         batchSize: Int = 1000, perPoint: String? = nil, split: EvalSplit = .test) throws -> EvalReport {
        let loaded = try LoadedRun(folder: folder, checkpoint: checkpoint, threads: threads)
        let c = loaded.config
        let d = loaded.model.dimension
        var points: [Double]
        var toy: ToyDataset? = nil
        var name: String
        var runData: RunData? = nil
        if let path = data {
            let set: DataSet
            do { set = try loadData(path: path, missing: c.data.dropMissing ? .drop : .refuse).data } catch let e as DataError {
                throw CLIError(e.description)
            }
            guard set.cols == d else {
                throw CLIError("\(path) has \(set.cols) columns, the model in \(folder) has dimension \(d)")
            }
            points = set.values
            name = URL(fileURLWithPath: path).lastPathComponent
            if c.data.file != nil { runData = try? RunData.make(c) }
        } else {
            let r = try RunData.make(c)
            runData = r
            toy = r.toy
            switch split {
            case .test: points = r.testPoints(r.testCount ?? n)
            case .validation:
                // A toy set's validation stream (its first points are the ones training
                // validated on), or a file's validation rows, in the data's units.
                if let rows = r.file {
                    guard rows.validation.rows >= 2 else {
                        throw CLIError("the run in \(folder) has \(rows.validation.rows) validation rows (--validation-fraction \(c.data.validationFraction)); nothing to score")
                    }
                    points = rows.validation.values
                } else {
                    var rng = Xoshiro256(seed: c.seed, stream: .validation)
                    points = r.toy!.sample(n, using: &rng)
                }
            }
            name = r.name
        }
        // Dequantized runs are scored on x + u, u ~ U(0, 1) from the split's stream.
        let dequantizer = loaded.preprocessing.dequantizer
        if let q = dequantizer, !q.isEmpty {
            var rng = Xoshiro256(seed: c.seed, stream: split == .test ? .test : .validation)
            q.apply(&points, using: &rng)
        }
        let count = points.count / d
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
        var report = EvalReport(nll: mean, nllStderr: (variance / Double(count)).squareRoot(),
                                bitsPerDim: mean / (Double(d) * log(2.0)), n: count, split: split.rawValue,
                                nfe: r.stats.evaluations,
                                entropyFloor: toy?.entropyFloor, entropyFloorMethod: toy.map { _ in "table (TOYDATA)" },
                                gap: toy.map { mean - $0.entropyFloor },
                                dataset: name, checkpoint: checkpoint, atol: options.atol, rtol: options.rtol,
                                solver: options.method.rawValue, seconds: seconds)
        if c.data.file != nil {
            let p = loaded.preprocessing
            report.standardize = p.standardizer.method.rawValue
            report.logAbsDetStandardize = p.standardizer.logAbsDetJacobian
            if let q = dequantizer, !q.isEmpty {
                report.dequantizedColumns = q.columns.map { $0 + 1 }
                report.dequantizationNote = "dequantized: columns \(q.columns.map { "\($0 + 1)" }.joined(separator: ", ")) were scored as x + u, u ~ U(0, 1); with unit bins no correction term is needed: the NLL (nats) is an upper bound on the discrete NLL −log P(x) (Jensen)"
            }
        }
        if let rows = runData?.file {
            let seed = c.seed
            // The estimate on every row of the file (train + validation + test), dequantized alike.
            var all = rows.data
            var validation = rows.validation, train = rows.train
            if let q = dequantizer, !q.isEmpty {
                var rng = Xoshiro256(seed: seed, stream: .renderSamples)
                q.apply(&all.values, using: &rng)
                var rv = Xoshiro256(seed: seed, stream: .validation)
                q.apply(&validation.values, using: &rv)
                var rt = Xoshiro256(seed: seed, stream: .trainingBatches)
                q.apply(&train.values, using: &rt)
            }
            let estimate = knnEntropyEstimateWhitened(all, k: 1, bootstrap: 200, seed: seed)
            if let v = estimate.value {
                report.entropyFloor = v
                report.entropyFloorStderr = estimate.standardError
                report.entropyFloorRows = estimate.rows
                report.entropyFloorMethod = "k-NN (Kozachenko–Leonenko, k = 1) estimate on all \(estimate.rows) rows of the file, bootstrap standard error"
                report.gap = mean - v
            } else {
                report.entropyFloorWithheld = estimate.withheld
            }
            let test = DataSet(rows: count, cols: d, values: points, source: name)
            let b = Baselines.fit(train: train, validation: validation, test: test, seed: seed)
            report.gaussianNll = b.gaussian?.nll
            report.gaussianNllStderr = b.gaussian?.standardError
            report.mixtureNll = b.mixture?.nll
            report.mixtureNllStderr = b.mixture?.standardError
            report.mixtureComponents = b.mixtureComponents
            report.mixtureSelection = b.selection
            report.mixtureValidationNllByComponents = b.validationNLLByComponents.isEmpty ? nil : b.validationNLLByComponents
        }
        if let path = perPoint {
            let names = runData?.file != nil && data == nil ? runData!.columnNames : (0..<d).map { "x\($0)" }
            var text = names.joined(separator: ",") + ",log_p\n"
            for i in 0..<count {
                let row = points[(i * d)..<((i + 1) * d)].map { "\($0)" }.joined(separator: ",")
                text += row + ",\(r.values[i])\n"
            }
            try writeAtomically(text, to: path)
        }
        return report
    }
}

/// A model loaded from a run folder, in its own precision, behind a precision-free interface.
struct LoadedRun {
    let config: FitConfig
    /// The model in the data's units (the flow behind the stored standardizer, if any).
    let model: AnyCNF
    let preprocessing: Preprocessing
    let path: String

    init(folder: String, checkpoint: String = "model", threads: Int = 2) throws {
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
        let flow: AnyCNF
        switch config.model.precision {
        case .float: flow = try Checkpoint.model(Float.self, from: file, path: path)
        case .double: flow = try Checkpoint.model(Double.self, from: file, path: path)
        }
        preprocessing = try Preprocessing.read(from: file, dimension: flow.dimension, path: path)
        model = preprocessing.standardizer.isIdentity ? flow : DataUnitsModel(flow: flow, standardizer: preprocessing.standardizer)
        model.setThreads(threads)
    }
}

/// Which points `cnf eval` scores.
enum EvalSplit: String, ExpressibleByArgument, CaseIterable, Codable {
    case test, validation
}
