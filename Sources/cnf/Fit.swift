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
        (final weights), best.safetensors (best test NLL so far), checkpoint.safetensors (weights,
        optimizer and generator state, for --resume), metrics.csv (a row per iteration) and, at the
        end, loss.png and eval.json.

        Defaults are FFJORD's toy configuration: ConcatSquash 64-64-64 tanh, T = 0.5, dopri5 with
        atol = rtol = 1e-5, Hutchinson trace with Rademacher noise, Adam lr 1e-3, batch 100,
        10 000 iterations, float32. Options given on the command line override --config.

        Examples:
          cnf fit --dataset 8gaussians --out outputs/8gaussians --render
          cnf fit --data points.csv --out outputs/mine --iters 5000
          cnf fit --config outputs/8gaussians/config.json --out outputs/8gaussians-again
          cnf fit --resume --out outputs/8gaussians
        """)

    @Option(help: "Toy data set: \(ToyDataset.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: String?
    @Option(help: "Your own data: a CSV (header optional) or .npy file, one point per row.") var data: String?
    @Option(help: "Run folder to write.") var out: String
    @Option(help: "A config.json to start from (e.g. an earlier run's).") var config: String?
    @Flag(help: "Continue the run in --out from its checkpoint.") var resume = false
    @Flag(help: "Overwrite an existing run in --out.") var force = false
    @Option(help: .hidden) var stopAfter: Int?
    @Flag(help: "Print the resolved configuration (as config.json would hold it) and exit.") var dryRun = false
    @Flag(help: "At the end, also render the density and draw samples (cnf render + cnf sample).") var render = false

    @Option(help: "Training iterations (default 10000).") var iters: Int?
    @Option(help: "Batch size (default 100).") var batchSize: Int?
    @Option(help: "Random seed (default 0).") var seed: UInt64?
    @Option(help: "Divergence: hutchinson (default) or exact.") var trace: FitConfig.Trace?
    @Option(help: "Hutchinson noise: rademacher (default) or gaussian.") var noise: NoiseDistribution?
    @Option(help: "ODE solver: \(SolverMethod.allCases.map(\.rawValue).joined(separator: ", ")) (default dopri5).") var solver: SolverMethod?
    @Option(help: "Absolute tolerance (default 1e-5).") var atol: Double?
    @Option(help: "Relative tolerance (default 1e-5).") var rtol: Double?
    @Option(help: "Step size for fixed-step solvers.") var step: Double?
    @Option(help: "Solver step limit per solve (default 10000).") var maxSteps: Int?
    @Option(help: "Gradient: adjoint (default) or backprop (through the solver's steps).") var gradient: FitConfig.Gradient?
    @Option(help: "Adjoint error norm leaves out the parameter cotangents: true (default) or false.") var seminorm: Bool?
    @Option(help: "Adjoint solve's absolute tolerance (default: --atol).") var adjointAtol: Double?
    @Option(help: "Adjoint solve's relative tolerance (default: --rtol).") var adjointRtol: Double?
    @Option(help: "Hidden widths (default 64-64-64).") var dims: String?
    @Option(help: "Activation: tanh (default), softplus, elu, swish.") var activation: Activation?
    @Option(help: "Layer type: concatsquash (default) or linear.") var layer: LayerType?
    @Option(help: "Number of CNF blocks (default 1).") var blocks: Int?
    @Option(help: "Integration time T per block (default 0.5).") var time: Double?
    @Option(help: "Learn T: true or false (default false).") var trainTime: Bool?
    @Option(help: "RNODE kinetic-energy weight λ_K (default 0).") var kinetic: Double?
    @Option(help: "RNODE Jacobian-Frobenius weight λ_J (default 0).") var jacobian: Double?
    @Flag(help: "RNODE preset: --kinetic 0.01 --jacobian 0.01.") var rnode = false
    @Option(help: "Adam learning rate (default 1e-3).") var lr: Double?
    @Option(help: "Learning-rate schedule: cosine (default, anneals to 0 at the last iteration) or constant (FFJORD's).") var lrSchedule: FitConfig.Schedule?
    @Option(help: "Adam L2 weight decay (default 1e-5, FFJORD's).") var weightDecay: Double?
    @Option(help: "Network precision: float (default) or double.") var precision: FitConfig.Precision?
    @Option(help: "Evaluate the test NLL every N iterations (default 500).") var evalEvery: Int?
    @Option(help: "Test points for the periodic evaluation (default 2000).") var testSize: Int?
    @Option(help: "Threads (default 2; results do not depend on it).") var threads: Int?
    @Option(help: "Batch chunks for parallel work (default 2; part of the arithmetic, so of the result).") var chunks: Int?

    /// The configuration: defaults, then --config, then the options given here.
    func resolvedConfig() throws -> FitConfig {
        var c = FitConfig()
        if let path = config {
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read config file \(path)")
            }
            do { c = try JSONDecoder().decode(FitConfig.self, from: bytes) } catch {
                throw CLIError("config file \(path) is not a valid cnf configuration: \(describe(error))")
            }
        }
        if let v = dataset { c.dataset = v; c.data = nil }
        if let v = data { c.data = v; c.dataset = nil }
        if let v = iters { c.iters = v }
        if let v = batchSize { c.batchSize = v }
        if let v = seed { c.seed = v }
        if let v = trace { c.trace = v }
        if let v = noise { c.noise = v }
        if let v = solver { c.solver = v }
        if let v = atol { c.atol = v }
        if let v = rtol { c.rtol = v }
        if let v = step { c.step = v }
        if let v = maxSteps { c.maxSteps = v }
        if let v = gradient { c.gradient = v }
        if let v = seminorm { c.seminorm = v }
        if let v = adjointAtol { c.adjointAtol = v }
        if let v = adjointRtol { c.adjointRtol = v }
        if let v = dims { c.dims = try parseDims(v) }
        if let v = activation { c.activation = v }
        if let v = layer { c.layer = v }
        if let v = blocks { c.blocks = v }
        if let v = time { c.time = v }
        if let v = trainTime { c.trainTime = v }
        if rnode { c.kinetic = 0.01; c.jacobian = 0.01 }
        if let v = kinetic { c.kinetic = v }
        if let v = jacobian { c.jacobian = v }
        if let v = lr { c.lr = v }
        if let v = lrSchedule { c.lrSchedule = v }
        if let v = weightDecay { c.weightDecay = v }
        if let v = precision { c.precision = v }
        if let v = evalEvery { c.evalEvery = v }
        if let v = testSize { c.testSize = v }
        if let v = chunks { c.chunks = v }
        if let t = threads, t < 1 { throw CLIError("--threads must be ≥ 1, got \(t)") }
        if let name = c.dataset { _ = try ToyDataset.named(name) }
        if let m = c.validationError() { throw CLIError(m) }
        return c
    }

    func run() throws {
        try runReportingErrors {
            if resume {
                let path = out + "/checkpoint.safetensors"
                let file = try Checkpoint.read(path)
                var c = try Checkpoint.config(of: file, path: path)
                if let v = iters { c.iters = v }  // a resumed run may be extended
                switch c.precision {
                case .float: try FitRun<Float>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: (file, path))
                case .double: try FitRun<Double>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: (file, path))
                }
                return
            }
            var c = try resolvedConfig()
            c.gitCommit = currentGitCommit()
            c.cnfVersion = cnfVersionString
            if dryRun {
                _ = try RunData.make(c)
                print(String(decoding: try encodeJSON(c), as: UTF8.self), terminator: "")
                return
            }
            if FileManager.default.fileExists(atPath: out + "/config.json") && !force {
                throw CLIError("\(out) already holds a run (config.json): use --resume to continue it, --force to overwrite, or another --out")
            }
            // Read and check the data before anything is written.
            _ = try RunData.make(c)
            try makeFolder(out)
            switch c.precision {
            case .float: try FitRun<Float>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: nil)
            case .double: try FitRun<Double>(config: c, out: out, render: render, threads: threads ?? 2, stopAfter: stopAfter).run(resumeFrom: nil)
            }
        }
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
