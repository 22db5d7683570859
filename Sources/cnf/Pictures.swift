import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ODE
import Render

/// The pictures a run folder gets, built from the Render module's panels.
enum Pictures {
    static let panelSize = 400
    static let bins = 200

    /// A 2-D histogram panel of points (N × 2).
    static func histogram(_ points: [Double], extent: Extent, title: String, colormap: Colormap) -> Image {
        var p = Panel(extent: extent, width: panelSize, height: panelSize)
        p.histogram(points, bins: bins, colormap: colormap)
        p.title = title
        return p.render()
    }

    /// The model density exp(log p) on a grid × grid lattice of cell centres over `extent`,
    /// with the exact trace, batched through the solver.
    static func densityGrid(_ model: AnyCNF, extent: Extent, grid: Int, solve: SolveOptions, seed: UInt64,
                            startTime: Double = 0, label: String = "density") throws -> [Double] {
        var points = [Double](repeating: 0, count: grid * grid * 2)
        for j in 0..<grid {
            for i in 0..<grid {
                let c = extent.cellCenter(i: i, j: j, nx: grid, ny: grid)
                points[2 * (j * grid + i)] = c.x
                points[2 * (j * grid + i) + 1] = c.y
            }
        }
        let progress = Progress(total: grid * grid, label: label, plainInterval: 15)
        var g = Xoshiro256(seed: seed, stream: .logDensityNoise)
        let r = try model.logDensity(points: points, generator: &g, solve: solve, batchSize: 4096,
                                     startTime: startTime) {
            progress.update($0, "points")
        }
        progress.finish()
        return r.values.map { exp($0) }
    }

    static func densityPanel(_ density: [Double], grid: Int, extent: Extent, title: String,
                             colormap: Colormap, colorBar: Bool) -> Image {
        var p = Panel(extent: extent, width: panelSize, height: panelSize)
        p.heatMap(density, nx: grid, ny: grid, colormap: colormap, vmin: 0, colorBar: colorBar)
        p.title = title
        return p.render()
    }

    /// Training loss (raw and a running mean) and validation NLL against iteration, with the
    /// entropy floor when known.
    static func lossPlot(metricsCSV: String, floor: Double?) -> Image? {
        var it: [Double] = [], loss: [Double] = [], testIt: [Double] = [], test: [Double] = []
        for line in metricsCSV.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count >= 7, let i = Double(f[0]), let l = Double(f[1]) else { continue }
            if let t = Double(f[6]) { testIt.append(i); test.append(t) }
            // Flow-matching warm-start rows have no NLL: their loss is another quantity.
            guard let nll = Double(f[2]), nll.isFinite else { continue }
            it.append(i); loss.append(l)
        }
        guard it.count >= 2 else { return nil }
        let w = max(1, it.count / 50)
        var smooth: [Double] = [], acc = 0.0
        for (k, l) in loss.enumerated() {
            acc += l
            if k >= w { acc -= loss[k - w] }
            smooth.append(acc / Double(min(k + 1, w)))
        }
        var series = [Series(name: "train loss", x: it, y: loss, color: Color(hex: 0xe3e3ee)),
                      Series(name: "train loss (mean of \(w))", x: it, y: smooth, color: Color.palette[0])]
        if !test.isEmpty { series.append(Series(name: "validation NLL", x: testIt, y: test, color: Color.palette[1])) }
        if let floor { series.append(Series(name: String(format: "entropy floor %.3f", floor), x: [it.first!, it.last!], y: [floor, floor], color: Color.grey)) }
        // Clip the early, very high losses so the end of training is readable.
        let tail = smooth.suffix(max(2, smooth.count * 3 / 4)) + test
        let lo = min(tail.min()!, floor ?? .infinity), hi = max(tail.max()!, lo + 1e-3)
        var plot = LinePlot(series: series, title: "training", xLabel: "iteration", yLabel: "nats")
        plot.yRange = (lo - 0.05 * (hi - lo))...(hi + 0.25 * (hi - lo))
        plot.width = 640
        plot.height = 360
        return plot.render()
    }
}
