import ArgumentParser
import Training

@main
struct CNFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnf",
        abstract: "Continuous normalizing flows (FFJORD) on the CPU: fit, evaluate, sample and render.",
        discussion: """
        A run folder (e.g. outputs/8gaussians) holds everything a run made: config.json (re-running
        it reproduces the run bit for bit), model.safetensors, metrics.csv, eval.json and the PNGs.

        Start with:  cnf fit --dataset 8gaussians --out outputs/8gaussians --render
        """,
        version: "cnf \(cnfVersionString)",
        subcommands: [Fit.self, Eval.self, Sample.self, Render.self, DataCommand.self, GradientCommand.self, Report.self, Bench.self])
}
