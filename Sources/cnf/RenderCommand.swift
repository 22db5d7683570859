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
        abstract: "Density map and data | density | samples comparison of a trained model (a corner plot for d ≠ 2).",
        discussion: """
        Writes DIR/density.png: exp(log p) on a grid × grid lattice over [-range, range]², with the
        exact trace (every grid point is integrated through the solver); and DIR/compare.png:
        data histogram | model density | model samples histogram, like FFJORD's figures. A model
        of dimension d ≠ 2 gets no density map; its compare.png is a corner plot: pairwise
        histograms of the data below the diagonal and of the model's samples above it, 1-D
        marginals on the diagonal, named by the CSV header. Everything is in the data's units.

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
                                                   samples: samples, checkpoint: runChoice.checkpoint.rawValue,
                                                   threads: runChoice.threads) }
    }

    static func render(run: String, grid: Int, range: Double?, colormap: Colormap, samples: Int,
                       checkpoint: String, threads: Int = 2) throws {
        let loaded = try LoadedRun(folder: run, checkpoint: checkpoint, threads: threads)
        let model = loaded.model
        let data = try RunData.make(loaded.config)
        guard model.dimension == 2 else {
            try renderCorner(run: run, loaded: loaded, data: data, samples: samples)
            return
        }
        // The data panel: a toy set's test points, or all of a file's rows.
        let dataPoints = data.file?.data.values ?? data.testPoints(data.testCount ?? 100_000)
        let extent = range.map { Extent.square($0) } ?? defaultExtent(data: data, points: dataPoints)
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
        say(String(format: "wrote %@/density.png (%d² grid in %.2f s; mass inside the window %.4f)",
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

    /// [-4, 4]² for toy sets (all of them lie in it); for a file, a window around the data in
    /// its own units: centred on the middle of each column's 0.1 %–99.9 % quantiles, half-width
    /// 1.2 × the half-span. Square (the larger half-width on both axes, so circles stay circles)
    /// when the two spans are within a factor 3 of each other; otherwise each axis gets its own,
    /// so a column in thousands beside one in hundredths does not shrink to a line. Panels are
    /// square in pixels either way.
    static func defaultExtent(data: RunData, points: [Double]) -> Extent {
        if data.toy != nil { return .square(4) }
        guard points.count >= 2 else { return .square(4) }
        let n = points.count / 2
        var centre = [0.0, 0.0], half = [1e-6, 1e-6]
        for j in 0..<2 {
            let col = (0..<n).map { points[2 * $0 + j] }.sorted()
            let lo = col[Int(0.001 * Double(n - 1))], hi = col[Int((0.999 * Double(n - 1)).rounded(.up))]
            centre[j] = (lo + hi) / 2
            half[j] = max(half[j], 1.2 * (hi - lo) / 2)
        }
        if max(half[0], half[1]) <= 3 * min(half[0], half[1]) { half = Array(repeating: half.max()!, count: 2) }
        return Extent(xmin: centre[0] - half[0], xmax: centre[0] + half[0], ymin: centre[1] - half[1], ymax: centre[1] + half[1])
    }

    /// d ≠ 2: no density map (a grid in d dimensions is out of reach); compare.png is a corner
    /// plot of the file's rows (below the diagonal) against the model's samples (above).
    static func renderCorner(run: String, loaded: LoadedRun, data: RunData, samples: Int) throws {
        let d = loaded.model.dimension
        let n = min(samples, 20_000)
        var g = Xoshiro256(seed: loaded.config.seed, stream: .renderSamples)
        let base = (0..<(d * n)).map { _ in g.normal() }
        let progress = Progress(total: n, label: "samples", plainInterval: 15)
        let drawn = try loaded.model.sample(base: base, solve: loaded.config.solveOptions, fractions: [], batchSize: 10_000,
                                            observe: nil, progress: { progress.update($0, "") })
        progress.finish()
        let dataPoints = data.file?.data.values ?? data.testPoints(data.testCount ?? n)
        let image = Pictures.corner(data: dataPoints, samples: drawn.points, dimension: d, names: data.columnNames,
                                    title: "\(data.name): data (below the diagonal) vs model samples (above)")
        try writePNG(image, to: run + "/compare.png")
        say("wrote \(run)/compare.png (corner plot, d = \(d); no density map above 2 dimensions)")
        if let metrics = try? String(contentsOfFile: run + "/metrics.csv", encoding: .utf8),
           let image = Pictures.lossPlot(metricsCSV: metrics, floor: data.entropyFloor) {
            try writePNG(image, to: run + "/loss.png")
        }
    }
}
