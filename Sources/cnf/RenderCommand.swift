import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ODE
import Render
import ToyData

extension Colormap: ExpressibleByArgument {}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Density map and data | density | samples comparison of a trained 2-D model.",
        discussion: """
        Writes DIR/density.png: exp(log p) on a grid × grid lattice over [-range, range]², with the
        exact trace (every grid point is integrated through the solver); and DIR/compare.png:
        data histogram | model density | model samples histogram, like FFJORD's figures.

        Example:  cnf render --run outputs/8gaussians --grid 512
        """)

    @OptionGroup var runChoice: RunChoice
    @Option(help: "Grid points per axis.") var grid: Int = 512
    @Option(help: "Half-width of the square shown (default: 4 for toy sets, from the data otherwise).") var range: Double?
    @Option(help: "Colormap: \(Colormap.allCases.map(\.rawValue).joined(separator: ", ")).") var colormap: Colormap = .viridis
    @Option(help: "Samples for the comparison's third panel.") var samples: Int = 100_000

    func validate() throws {
        if grid < 8 || grid > 4096 { throw ValidationError("--grid must be in 8…4096, got \(grid)") }
        if let r = range, !(r > 0) { throw ValidationError("--range must be positive, got \(r)") }
        if samples < 1 { throw ValidationError("--samples must be ≥ 1, got \(samples)") }
    }

    func run() throws {
        try runReportingErrors { try Render.render(run: runChoice.folder, grid: grid, range: range, colormap: colormap,
                                                   samples: samples, checkpoint: runChoice.checkpoint.rawValue) }
    }

    static func render(run: String, grid: Int, range: Double?, colormap: Colormap, samples: Int,
                       checkpoint: String) throws {
        let loaded = try LoadedRun(folder: run, checkpoint: checkpoint)
        let model = loaded.model
        guard model.dimension == 2 else {
            throw CLIError("render draws 2-D densities; the model in \(run) has dimension \(model.dimension)")
        }
        let data = try RunData.make(loaded.config)
        let dataPoints = data.testPoints(data.testCount ?? 100_000)
        let extent = Extent.square(range ?? defaultRange(data: data, points: dataPoints))
        let start = now()
        let density = try Pictures.densityGrid(model, extent: extent, grid: grid, solve: loaded.config.solveOptions,
                                               seed: loaded.config.seed)
        let densitySeconds = now() - start
        let densityImage = Pictures.densityPanel(density, grid: grid, extent: extent,
                                                 title: "model density (\(grid)x\(grid), exact trace)",
                                                 colormap: colormap, colorBar: true)
        try writePNG(densityImage, to: run + "/density.png")
        // Numerical integral of the density over the square (≈ 1 when the range covers the mass).
        let cell = extent.width * extent.height / Double(grid * grid)
        let mass = density.reduce(0, +) * cell
        say(String(format: "wrote %@/density.png (%d² grid in %.1f s; mass inside the square %.4f)",
                   run, grid, densitySeconds, mass))

        var g = Xoshiro256(seed: loaded.config.seed, stream: .renderSamples)
        let base = (0..<(2 * samples)).map { _ in g.normal() }
        let progress = Progress(total: samples, label: "samples", plainInterval: 15)
        let drawn = try model.sample(base: base, solve: loaded.config.solveOptions, fractions: [], batchSize: 10_000,
                                     observe: nil, progress: { progress.update($0, "") })
        progress.finish()
        let panels = [
            Pictures.histogram(dataPoints, extent: extent, title: "data (\(data.name))", colormap: colormap),
            Pictures.densityPanel(density, grid: grid, extent: extent, title: "model density", colormap: colormap, colorBar: false),
            Pictures.histogram(drawn.points, extent: extent, title: "model samples", colormap: colormap),
        ]
        try writePNG(hstack(panels), to: run + "/compare.png")
        say("wrote \(run)/compare.png")
        if let metrics = try? String(contentsOfFile: run + "/metrics.csv", encoding: .utf8),
           let image = Pictures.lossPlot(metricsCSV: metrics, floor: data.entropyFloor) {
            try writePNG(image, to: run + "/loss.png")
        }
    }

    /// 4 for toy sets (all of them lie in [-4, 4]²); for a file, 1.1 × the largest |coordinate|
    /// below the 99.9th percentile.
    static func defaultRange(data: RunData, points: [Double]) -> Double {
        if data.toy != nil { return 4 }
        let a = points.map { abs($0) }.sorted()
        guard !a.isEmpty else { return 4 }
        return max(1.1 * a[min(a.count - 1, Int(0.999 * Double(a.count)))], 1e-6)
    }
}
