import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ODE
import ToyData

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a CNF by maximum likelihood (gradients through the adjoint solver).",
        discussion: """
        Writes to the run folder: config.json (the full resolved configuration), model.safetensors
        (final weights; the best validation weights when the fit stopped on overfitting), best.safetensors (best validation NLL so far), checkpoint.safetensors (weights,
        optimizer and generator state, for --resume), metrics.csv (a row per iteration) and, at the
        end, loss.png and eval.json.

        Defaults: two blocks of ConcatSquash 64-64-64 tanh, T = 0.5 each, trace auto (exact up to
        d = 4), dopri5 at 1e-3, Adam lr 3e-2 held while the validation trend still pays, then a
        cosine anneal (held while it gains), then stop (at most 10 000 iterations; earlier when the
        validation NLL keeps rising while the training NLL falls), EMA 0.99 of the
        weights, batch 100, float32 (--preset ffjord: FFJORD's 2019 toy recipe; --preset cnf0.3:
        cnf 0.3's defaults). Options given on the command line override --config.

        A --data file is split into training, validation (best checkpoint, stopping) and test rows
        (cnf eval only) by the seed, checked first (constant columns refused; outliers, whole
        numbers, few rows, duplicates and many columns reported on one line each), and
        standardized on its training rows (--standardize, default scale); the map is stored in
        the model files, and log-densities, samples and pictures are in the data's own units.

        Examples:
          cnf fit --dataset 8gaussians --out outputs/8gaussians --render
          cnf fit --data points.csv --out outputs/mine --iters 5000
          cnf fit --config outputs/8gaussians/config.json --out outputs/8gaussians-again
          cnf fit --resume --out outputs/8gaussians
        """)

    @Option(help: "Run folder to write.") var out: String
    @Option(help: "A config.json to start from (e.g. an earlier run's; the flat files of cnf 0.1 are migrated).") var config: String?
    @Flag(help: "Continue the run in --out from its checkpoint.") var resume = false
    @Flag(help: "Overwrite an existing run in --out.") var force = false
    @Option(help: .hidden) var stopAfter: Int?
    @Flag(help: "Print the resolved configuration (as config.json would hold it) and exit.") var dryRun = false
    @Flag(help: "At the end, also render the density and draw samples (cnf render + cnf sample).") var render = false
    @Option(help: "Start from a named recipe: \(FitConfig.Preset.allCases.map(\.rawValue).joined(separator: ", ")) (ffjord: FFJORD's 2019 toy recipe: Hutchinson, tolerance 1e-5, lr 1e-3 cosine over 10 000 iterations; cnf0.3: cnf 0.3's defaults).") var preset: FitConfig.Preset?
    @Option(help: "Random seed (default \(FitConfig().seed)).") var seed: UInt64?
    @Option(help: "Threads (default 2; results do not depend on it).") var threads: Int?
    @OptionGroup(title: "Data") var dataOptions: DataArguments
    @OptionGroup(title: "Model") var modelOptions: ModelArguments
    @OptionGroup(title: "Density") var densityOptions: DensityArguments
    @OptionGroup(title: "Solver") var solverOptions: SolverArguments
    @OptionGroup(title: "Gradient") var gradientOptions: GradientArguments
    @OptionGroup(title: "Training") var trainingOptions: TrainingArguments

    /// The configuration: defaults, then --config, then the options given here.
    func resolvedConfig() throws -> FitConfig {
        if preset != nil && config != nil { throw CLIError("give either --preset or --config, not both") }
        var c = preset?.config ?? FitConfig()
        if let path = config { c = try loadConfig(path) }
        if let v = seed { c.seed = v }
        dataOptions.apply(to: &c.data)
        // A new file run standardizes by default; a --config keeps what it says (an old file
        // run without the key replays unstandardized, as it ran).
        if config == nil && c.data.file != nil && dataOptions.standardize == nil {
            c.data.standardize = FitConfig.DataSection.fileStandardize
        }
        try modelOptions.apply(to: &c.model)
        densityOptions.apply(to: &c.density)
        solverOptions.apply(to: &c.solver)
        gradientOptions.apply(to: &c.gradient)
        trainingOptions.apply(to: &c)
        if let t = threads, t < 1 { throw CLIError("--threads must be ≥ 1, got \(t)") }
        if let name = c.data.dataset { _ = try ToyDataset.named(name) }
        if let m = c.validationError() { throw CLIError(m) }   // runReportingErrors names the flags
        return c
    }

    func run() throws {
        try runReportingErrors {
            if resume {
                let path = out + "/checkpoint.safetensors"
                let file = try Checkpoint.read(path)
                var c = try Checkpoint.config(of: file, path: path)
                if let v = trainingOptions.iters { c.training.iters = v }  // a resumed run may be extended
                switch c.model.precision {
                case .float: try FitRun<Float>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: (file, path))
                case .double: try FitRun<Double>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: (file, path))
                }
                return
            }
            var c = try resolvedConfig()
            c.provenance.gitCommit = currentGitCommit()
            c.provenance.cnfVersion = cnfVersionString
            if dryRun {
                _ = try RunData.make(c, announce: true)
                print(String(decoding: try encodeJSON(c), as: UTF8.self), terminator: "")
                return
            }
            if FileManager.default.fileExists(atPath: out + "/config.json") && !force {
                throw CLIError("\(out) already holds a run (config.json): use --resume to continue it, --force to overwrite, or another --out")
            }
            // Read and check the data before anything is written; say what the checks found.
            _ = try RunData.make(c, announce: true)
            try makeFolder(out)
            switch c.model.precision {
            case .float: try FitRun<Float>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: nil)
            case .double: try FitRun<Double>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: nil)
            }
        }
    }
}

/// Reads a configuration file (either layout; format 1 files are migrated) or says why not.
func loadConfig(_ path: String) throws -> FitConfig {
    guard let bytes = FileManager.default.contents(atPath: path) else {
        throw CLIError("cannot read config file \(path)")
    }
    do { return try JSONDecoder().decode(FitConfig.self, from: bytes) } catch {
        throw CLIError("config file \(path) is not a valid cnf configuration: \(describe(error))")
    }
}

func describe(_ error: Error) -> String {
    if let e = error as? DecodingError {
        switch e {
        case let .keyNotFound(k, _): return "missing key '\(k.stringValue)'"
        case let .typeMismatch(_, ctx), let .dataCorrupted(ctx), let .valueNotFound(_, ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? ctx.debugDescription : "\(path): \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
    return "\(error)"
}
