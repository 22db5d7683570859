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

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw samples: z ~ N(0, I) at t = T, integrated back to t = 0; histograms, sequence, trajectories.",
        discussion: """
        Writes the samples (--out, .npy or .csv), DIR/samples.png (2-D histogram), the sample
        sequence DIR/sequence/frame_000.png … (from the Gaussian at t = T to the data at t = 0;
        the last frame is samples.png), DIR/sequence.png (all frames in one strip, labelled by
        time) and DIR/trajectories.png (paths of a few hundred particles). Samples are in the
        data's units (a file run's standardization undone). For d ≠ 2: samples.png is a corner
        plot, each sequence frame a corner plot on the data's ranges (the strip shows 5, at most
        4 columns), and there are no trajectories or density sequence.

        Example:  cnf sample --run outputs/8gaussians --n 100000 --frames 9
        """)

    @OptionGroup var runChoice: RunChoice
    @Option(help: "Number of samples.") var n: Int = 100_000
    @Option(help: "Samples file (default DIR/samples.npy; .csv also works).") var out: String?
    @Option(help: "Frames in the sample sequence (≥ 2): DIR/sequence/, the animated DIR/sequence_animated.png; the strip shows at most 9.") var frames: Int = Sequences.defaultFrames
    @Option(help: "Particles drawn in trajectories.png.") var particles: Int = 300
    @Option(help: "Half-width of the square shown (default 4 for toy sets, from the data otherwise).") var range: Double?
    @Option(help: "Colormap.") var colormap: Colormap = .viridis
    @Option(help: "Seed for the base samples (default: the run's seed).") var seed: UInt64?
    @Option(help: "Also write DIR/density_sequence.png: the flow's density at the frame times on a grid of this size (0 = off).") var densityGrid: Int = 0

    func validate() throws {
        if n < 1 { throw ValidationError("--n must be ≥ 1, got \(n)") }
        if frames < 2 { throw ValidationError("--frames must be ≥ 2, got \(frames)") }
        if particles < 1 { throw ValidationError("--particles must be ≥ 1, got \(particles)") }
        if let o = out, !(o.hasSuffix(".npy") || o.hasSuffix(".csv")) {
            throw ValidationError("--out must end in .npy or .csv, got '\(o)'")
        }
    }

    func run() throws {
        try runReportingErrors {
            try Sample.sample(run: runChoice.folder, n: n, out: out, frames: frames, particles: particles, range: range,
                              colormap: colormap, seed: seed, checkpoint: runChoice.checkpoint.rawValue, threads: runChoice.threads,
                              densityGrid: densityGrid)
        }
    }

    static func sample(run: String, n: Int, out: String?, frames: Int, particles: Int, range: Double?,
                       colormap: Colormap, seed: UInt64?, checkpoint: String, threads: Int = 2,
                       densityGrid: Int = 0) throws {
        let loaded = try LoadedRun(folder: run, checkpoint: checkpoint, threads: threads)
        let model = loaded.model, d = model.dimension
        var g = Xoshiro256(seed: seed ?? loaded.config.seed, stream: .sampleBase)
        let base = (0..<(d * n)).map { _ in g.normal() }
        let fractions = (0..<frames).map { 1 - Double($0) / Double(frames - 1) }
        var snapshots = [[Double]](repeating: [], count: frames)
        let progress = Progress(total: n, label: "sample", plainInterval: 15)
        let start = now()
        let drawn = try model.sample(base: base, solve: loaded.config.solveOptions, fractions: fractions,
                                     batchSize: 10_000, observe: { snapshots[$0] = $1 },
                                     progress: { progress.update($0, "") })
        progress.finish()
        let seconds = now() - start
        let path = out ?? run + "/samples.npy"
        let set = DataSet(rows: n, cols: d, values: drawn.points, source: path)
        let data = try RunData.make(loaded.config)
        if path.hasSuffix(".csv") {
            try writeCSV(set, path: path, header: data.columnNames.count == d ? data.columnNames : (0..<d).map { "x\($0)" })
        } else {
            try writeNPY(set, path: path)
        }
        say(String(format: "wrote %d samples to %@ (%.3f s, %d function evaluations; in the data's units)", n, path, seconds, drawn.stats.evaluations))
        let total = model.endTimes.reduce(0, +)
        guard d == 2 else {
            // d ≠ 2: corner plots; the sequence as one corner plot per frame on the data's ranges.
            let dataPoints = data.file?.data.values ?? data.testPoints(data.testCount ?? 10_000)
            let ranges = CornerPlot.ranges(of: dataPoints, dimension: d)
            try writePNG(Pictures.corner(data: nil, samples: drawn.points, dimension: d, names: data.columnNames,
                                         title: "\(data.name): \(n) model samples", ranges: ranges),
                         to: run + "/samples.png")
            try Pictures.cornerSequence(snapshots: snapshots, fractions: fractions, total: total, dimension: d,
                                        names: data.columnNames, ranges: ranges, run: run)
            say("wrote \(run)/samples.png, \(run)/sequence/ (\(frames) frames), \(run)/sequence.png (corner plots, d = \(d); no trajectories or density sequence above 2 dimensions)")
            return
        }
        let extent = range.map { Extent.square($0) } ?? Render.defaultExtent(data: data, points: data.file?.data.values ?? data.testPoints(data.testCount ?? 10_000))
        func frameTitle(_ f: Double) -> String { String(format: "samples at t = %.3f", f * total) }

        try writePNG(Pictures.histogram(drawn.points, extent: extent, title: frameTitle(0), colormap: colormap),
                     to: run + "/samples.png")
        try makeFolder(run + "/sequence")
        var strip: [Image] = [], animation: [Image] = []
        let inStrip = Set(Sequences.stripIndices(frames))
        for (k, f) in fractions.enumerated() {
            let image = Pictures.histogram(snapshots[k], extent: extent, title: frameTitle(f), colormap: colormap)
            try writePNG(image, to: run + String(format: "/sequence/frame_%03d.png", k))
            animation.append(image)
            guard inStrip.contains(k) else { continue }
            var small = Panel(extent: extent, width: 220, height: 220)
            small.histogram(snapshots[k], bins: 110, colormap: colormap)
            small.title = String(format: "t = %.3f", f * total)
            small.titleScale = 1
            strip.append(small.render())
        }
        try writePNG(hstack(strip, spacing: 8, title: "sample sequence: N(0, I) at t = \(String(format: "%.3g", total)) to the data at t = 0"),
                     to: run + "/sequence.png")
        try Sequences.writeAnimation(animation, to: run + "/sequence_animated.png")

        // Trajectories: a few hundred particles at many times for smooth paths.
        let m = min(particles, n)
        let steps = 60
        let pathFractions = (0...steps).map { 1 - Double($0) / Double(steps) }
        var pathSnapshots = [[Double]](repeating: [], count: pathFractions.count)
        _ = try model.sample(base: Array(base.prefix(2 * m)), solve: loaded.config.solveOptions,
                             fractions: pathFractions, batchSize: 10_000,
                             observe: { pathSnapshots[$0] = $1 }, progress: nil)
        let paths: [[(Double, Double)]] = (0..<m).map { i in pathSnapshots.map { ($0[2 * i], $0[2 * i + 1]) } }
        var panel = Panel(extent: extent, width: 600, height: 600)
        panel.trajectories(paths, color: Color.palette[0], alpha: 0.35, width: 1,
                           startColor: Color.grey, endColor: Color.palette[1], markerRadius: 1.8)
        panel.title = "\(m) trajectories: grey = N(0, I) at t = \(String(format: "%.3g", total)), orange = data at t = 0"
        panel.titleScale = 1
        try writePNG(panel.render(), to: run + "/trajectories.png")
        if densityGrid > 0 {
            var strip: [Image] = [], animation: [Image] = []
            let inStrip = Set(Sequences.stripIndices(frames))
            for (k, f) in fractions.enumerated() {
                let density = try Pictures.densityGrid(model, extent: extent, grid: densityGrid, solve: loaded.config.solveOptions,
                                                       seed: loaded.config.seed, startTime: (1 - f) * total,
                                                       label: String(format: "density t=%.3f", (1 - f) * total))
                animation.append(Pictures.densityPanel(density, grid: densityGrid, extent: extent,
                                                       title: String(format: "density at t = %.3f", (1 - f) * total),
                                                       colormap: colormap, colorBar: false))
                guard inStrip.contains(k) else { continue }
                var p = Panel(extent: extent, width: 220, height: 220)
                p.heatMap(density, nx: densityGrid, ny: densityGrid, colormap: colormap, vmin: 0)
                p.title = String(format: "t = %.3f", (1 - f) * total)
                p.titleScale = 1
                strip.append(p.render())
            }
            try writePNG(hstack(strip, spacing: 8, title: "density of the flow from the data (t = 0) to N(0, I) at t = \(String(format: "%.3g", total))"),
                         to: run + "/density_sequence.png")
            try Sequences.writeAnimation(animation, to: run + "/density_sequence_animated.png")
        }
        say("wrote \(run)/samples.png, \(run)/sequence/ (\(frames) frames), \(run)/sequence.png, \(run)/trajectories.png")
    }
}
