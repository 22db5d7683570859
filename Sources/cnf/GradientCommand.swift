import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ODE

/// One gradient route's numbers.
struct GradientReport: Codable {
    var method: String
    var loss: Double
    var seconds: Double
    var nfeForward: Int
    var nfeBackward: Int
    var backwardSteps: Int
    var memoryBytes: Int
    var relativeDifferenceToBackprop: Double

    /// The JSON keys users see stay snake_case.
    enum CodingKeys: String, CodingKey {
        case method
        case loss
        case seconds
        case nfeForward = "nfe_forward"
        case nfeBackward = "nfe_backward"
        case backwardSteps = "backward_steps"
        case memoryBytes = "memory_bytes"
        case relativeDifferenceToBackprop = "relative_difference_to_backprop"
    }
}

struct GradientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradients",
        abstract: "Compare the loss gradient by the adjoint (seminorm and full norm) and by backprop.",
        discussion: """
        At a run's weights, on one batch of its data with one Hutchinson noise draw, computes
        ∂loss/∂θ three ways and reports their agreement (relative L2 difference to backprop
        through the solver, the exact gradient of the discretized solve), time, function
        evaluations, backward steps and the solver memory each needed. Writes DIR/gradients.json.

        Example:  cnf gradients --run outputs/8gaussians --batch-size 100
        """)

    @OptionGroup var runChoice: RunChoice
    @Option(help: "Batch size.") var batchSize: Int = 100
    @Option(help: "Seed for the batch and the noise.") var seed: UInt64 = 0
    @Option(help: "Repeats per method (the median time is reported).") var repeats: Int = 5

    func run() throws {
        try runReportingErrors {
            let folder = runChoice.folder
            let loaded = try LoadedRun(folder: folder, checkpoint: runChoice.checkpoint.rawValue, threads: runChoice.threads)
            let c = loaded.config, model = loaded.model, d = model.dimension
            let data = try RunData.make(c)
            var g = Xoshiro256(seed: seed, stream: .gradientCheck)
            let points = data.sampleBatch(&g, batchSize)
            // The run's own noise distribution (Rademacher or Gaussian), as in its training.
            let noise = (0..<c.model.blocks).map { _ in
                (0..<(batchSize * d)).map { _ in c.density.noise == .rademacher ? g.rademacher() : g.normal() }
            }
            func options(_ gradient: GradientRoute, seminorm: Bool) -> DensityOptions {
                var adjoint = c.gradient.adjoint
                adjoint.seminorm = seminorm
                var o = DensityOptions(divergence: .hutchinson, solve: c.solveOptions,
                                       adjoint: adjoint.options(forward: c.solveOptions))
                o.noise = c.density.noise
                o.gradient = gradient
                o.kinetic = c.density.kinetic
                o.jacobian = c.density.jacobian
                return o
            }
            let routes: [(String, DensityOptions)] = [
                ("backprop", options(.backprop, seminorm: false)),
                ("adjoint (seminorm)", options(.adjoint, seminorm: true)),
                ("adjoint (full norm)", options(.adjoint, seminorm: false)),
            ]
            var reference: [Double] = []
            var reports: [GradientReport] = []
            for (name, o) in routes {
                var times: [Double] = []
                var r: LossEvaluation! = nil
                for _ in 0..<max(1, repeats) {
                    let t0 = now()
                    r = try model.loss(points: points, noise: noise, options: o, wantGradient: true)
                    times.append(now() - t0)
                }
                if reference.isEmpty { reference = r.gradient }
                let diff = zip(r.gradient, reference).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                    / max(reference.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-300)
                reports.append(GradientReport(method: name, loss: r.loss, seconds: times.sorted()[times.count / 2],
                                              nfeForward: r.forward.evaluations, nfeBackward: r.backward.evaluations,
                                              backwardSteps: r.backward.acceptedSteps + r.backward.rejectedSteps,
                                              memoryBytes: r.gradientMemoryBytes, relativeDifferenceToBackprop: diff))
            }
            try writeAtomically(try encodeJSON(reports), to: folder + "/gradients.json")
            print("| method | rel. diff. to backprop | s (median) | NFE fwd | NFE bwd | bwd steps | solver memory |")
            print("|---|---|---|---|---|---|---|")
            for r in reports {
                print(String(format: "| %@ | %.2e | %.4f | %d | %d | %d | %.1f KiB |", r.method,
                             r.relativeDifferenceToBackprop, r.seconds, r.nfeForward, r.nfeBackward,
                             r.backwardSteps, Double(r.memoryBytes) / 1024))
            }
        }
    }
}
