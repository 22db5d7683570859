import CNFCore
import Flow
import Foundation
import Render

/// Pictures of a model of dimension d ≠ 2: corner plots (pairwise 2-D histograms below and
/// above the diagonal, 1-D marginals on it; see `CornerPlot`), in the data's units, labelled
/// with the CSV header's column names.
extension Pictures {
    /// Data below the diagonal and the model's samples above it (or the samples alone).
    static func corner(data: [Double]?, samples: [Double], dimension d: Int, names: [String], title: String,
                       ranges: [(lo: Double, hi: Double)]? = nil, cellSize: Int? = nil) -> Image {
        let model = CornerPlot.PointSet(points: samples, label: "model samples", color: Color.palette[1])
        var plot: CornerPlot
        if let data {
            plot = CornerPlot(dimension: d, names: names,
                              lower: CornerPlot.PointSet(points: data, label: "data", color: Color.palette[0]),
                              upper: model, title: title)
        } else {
            plot = CornerPlot(dimension: d, names: names, lower: model, title: title)
        }
        plot.ranges = ranges
        plot.cellSize = cellSize
        return plot.render()
    }

    /// The sample sequence of a d ≠ 2 model, as per-frame corner plots of the samples on the
    /// data's ranges (so the frames line up), the strip at a small cell size, no trajectories.
    static func cornerSequence(snapshots: [[Double]], fractions: [Double], total: Double, dimension d: Int,
                               names: [String], ranges: [(lo: Double, hi: Double)], run: String) throws {
        try makeFolder(run + "/sequence")
        var animation: [Image] = [], strip: [Image] = []
        let inStrip = Set(Sequences.stripIndices(fractions.count, limit: 5))
        for (k, f) in fractions.enumerated() {
            let title = String(format: "samples at t = %.3f", f * total)
            let image = corner(data: nil, samples: snapshots[k], dimension: d, names: names, title: title, ranges: ranges)
            try writePNG(image, to: run + String(format: "/sequence/frame_%03d.png", k))
            animation.append(image)
            if inStrip.contains(k) {
                var p = CornerPlot(dimension: d, names: names,
                                   lower: CornerPlot.PointSet(points: snapshots[k], label: "samples", color: Color.palette[1]),
                                   title: String(format: "t = %.3f", f * total))
                p.ranges = ranges
                p.cellSize = 90
                p.maxColumns = 4
                strip.append(p.render())
            }
        }
        try writePNG(hstack(strip, spacing: 8, title: "sample sequence: N(0, I) at t = \(String(format: "%.3g", total)) (mapped to the data's units) to the data at t = 0"),
                     to: run + "/sequence.png")
        try Sequences.writeAnimation(animation, to: run + "/sequence_animated.png")
    }
}
