import Foundation

/// A corner plot of points in d > 2 dimensions: a d × d grid of cells where cell (row i,
/// column j) shows column j across and column i up.
///
/// - Below the diagonal: the `lower` point set (usually the data), pairwise.
/// - Above the diagonal: the `upper` set (usually the model's samples), pairwise, so each
///   pair of columns shows data and model in mirror-image cells; blank if there is no
///   upper set.
/// - On the diagonal: each column's 1-D marginal as a density histogram, the lower set
///   filled, the upper set as a step line.
///
/// The two sets are drawn alike so that they can be compared: with at least 2 000 points
/// in each, as 2-D histograms on the same bins, shaded from white (empty) towards the set's
/// colour by √(count / largest count); with fewer, as dots, the larger set thinned to the
/// smaller one's count (its first rows), so that equal darkness means equal density.
/// Column names label the axes; the ranges default to each column's 0.5 %–99.5 %
/// quantiles of the lower set, widened by 10 %.
public struct CornerPlot {
    public struct PointSet {
        /// Row-major n × d.
        public var points: [Double]
        public var label: String
        public var color: Color
        public init(points: [Double], label: String, color: Color) {
            self.points = points; self.label = label; self.color = color
        }
    }

    public var dimension: Int
    public var names: [String]
    public var lower: PointSet
    public var upper: PointSet?
    /// Per column (lo, hi); nil = `CornerPlot.ranges(of:dimension:)` of the lower set.
    public var ranges: [(lo: Double, hi: Double)]?
    /// Side of each cell's plot area in pixels; nil = about 900 / shown columns, in 90…180.
    public var cellSize: Int?
    /// At most this many columns are shown (the first ones); the title says so.
    public var maxColumns = 8
    public var title: String?
    /// Minimum points per set for 2-D histograms rather than dots.
    public var histogramThreshold = 2000

    public init(dimension: Int, names: [String]? = nil, lower: PointSet, upper: PointSet? = nil, title: String? = nil) {
        precondition(dimension >= 1, "corner plot needs at least one column")
        precondition(lower.points.count % dimension == 0 && !lower.points.isEmpty,
                     "corner plot: \(lower.points.count) numbers are not rows of \(dimension)")
        precondition(upper.map { $0.points.count % dimension == 0 && !$0.points.isEmpty } ?? true,
                     "corner plot: the upper set's numbers are not rows of \(dimension)")
        precondition(names == nil || names!.count == dimension, "corner plot: \(names!.count) names for \(dimension) columns")
        self.dimension = dimension
        self.names = names ?? (0..<dimension).map { "x\($0)" }
        self.lower = lower
        self.upper = upper
        self.title = title
    }

    /// Per column: the 0.5 % and 99.5 % quantiles of `points`, widened by 10 % of their
    /// distance on each side (±0.5 around a constant column). Non-finite values are ignored.
    public static func ranges(of points: [Double], dimension d: Int) -> [(lo: Double, hi: Double)] {
        let n = points.count / d
        return (0..<d).map { j in
            let col = (0..<n).map { points[$0 * d + j] }.filter(\.isFinite).sorted()
            guard !col.isEmpty else { return (-1, 1) }
            func q(_ p: Double) -> Double {
                let h = p * Double(col.count - 1)
                let i = Int(h), f = h - Double(i)
                return i + 1 < col.count ? col[i] + f * (col[i + 1] - col[i]) : col[i]
            }
            let lo = q(0.005), hi = q(0.995)
            if !(hi > lo) { return (lo - 0.5, lo + 0.5) }
            let pad = 0.1 * (hi - lo)
            return (lo - pad, hi + pad)
        }
    }

    private static let gap = 6, pad = 8, tick = 4, tickGap = 3

    /// Where the cells sit in the finished picture.
    public struct Geometry: Equatable, Sendable {
        /// Columns shown, and the side of each cell's plot area in pixels.
        public var shown: Int, cell: Int
        /// Top-left pixel of cell (row 0, column 0)'s plot area, and the size of the picture.
        public var left: Int, top: Int, width: Int, height: Int
        /// Whether the off-diagonal cells are 2-D histograms (else dots).
        public var histograms: Bool
        /// Top-left pixel of the plot area of cell (row, column).
        public func origin(row: Int, column: Int) -> (x: Int, y: Int) {
            (left + column * (cell + CornerPlot.gap), top + row * (cell + CornerPlot.gap))
        }
    }

    private struct Metrics {
        var geometry: Geometry
        var ranges: [(lo: Double, hi: Double)]
        var shared: Int, bins: Int, marginalBins: Int
        var xTicks: [[Double]]
        var titleText: String?, titleH: Int, legendH: Int, legendTexts: [String]
        var grid: Int
    }

    private func metrics() -> Metrics {
        let d = Swift.min(dimension, maxColumns)
        let cell = cellSize ?? Swift.min(180, Swift.max(90, 900 / d))
        let r = ranges ?? CornerPlot.ranges(of: lower.points, dimension: dimension)
        let nLower = lower.points.count / dimension
        let nUpper = upper.map { $0.points.count / dimension }
        let shared = Swift.min(nLower, nUpper ?? nLower)
        let asHistogram = shared >= histogramThreshold
        // Same number of points and the same bins for both sets.
        let bins = Swift.max(8, Swift.min(cell / 3, Int((Double(shared).squareRoot() / 2).rounded())))
        let marginalBins = Swift.max(10, Swift.min(60, Int((2 * pow(Double(shared), 1.0 / 3)).rounded())))

        let s = 1
        let glyphH = Font.glyphHeight(scale: s)
        let xTicks = (0..<d).map { Ticks.nice(r[$0].lo, r[$0].hi, maxCount: cell >= 140 ? 4 : 3) }
        let yTickLabelW = (1..<Swift.max(d, 1)).flatMap { Ticks.labels(xTicks[$0]) }.map { textWidth($0, scale: s) }.max() ?? 0
        let left = CornerPlot.pad + glyphH + CornerPlot.tickGap + yTickLabelW + CornerPlot.tickGap + CornerPlot.tick + 1
        let legendH = Font.lineHeight(scale: s) + 4
        let titleText = title.map { dimension > d ? "\($0) (first \(d) of \(dimension) columns)" : $0 }
            ?? (dimension > d ? "first \(d) of \(dimension) columns" : nil)
        let titleH = titleText == nil ? 0 : Font.glyphHeight(scale: 2) + CornerPlot.gap
        let top = CornerPlot.pad + titleH + legendH * (upper == nil ? 1 : 2) + CornerPlot.gap
        let grid = d * cell + (d - 1) * CornerPlot.gap
        let bottom = 1 + CornerPlot.tick + CornerPlot.tickGap + glyphH + CornerPlot.tickGap + glyphH + CornerPlot.pad
        var legendW = 0
        let sets = [lower] + (upper.map { [$0] } ?? [])
        let legendTexts = sets.enumerated().map { k, set -> String in
            let n = set.points.count / dimension
            let shownN = asHistogram ? n : shared
            let place = k == 0 ? (upper == nil ? "below the diagonal" : "below the diagonal, filled marginals")
                               : "above the diagonal, line marginals"
            return "\(set.label): \(place) (\(shownN == n ? "n = \(n)" : "\(shownN) of \(n) shown"))"
        }
        for t in legendTexts { legendW = Swift.max(legendW, 22 + textWidth(t, scale: s)) }
        let width = Swift.max(left + grid + CornerPlot.pad, legendW + 2 * CornerPlot.pad,
                              (titleText.map { textWidth($0, scale: 2) } ?? 0) + 2 * CornerPlot.pad)
        let geometry = Geometry(shown: d, cell: cell, left: left, top: top, width: width, height: top + grid + bottom,
                                histograms: asHistogram)
        return Metrics(geometry: geometry, ranges: r, shared: shared, bins: bins, marginalBins: marginalBins,
                       xTicks: xTicks, titleText: titleText, titleH: titleH, legendH: legendH,
                       legendTexts: legendTexts, grid: grid)
    }

    /// The geometry `render()` uses.
    public func geometry() -> Geometry { metrics().geometry }

    public func render() -> Image {
        let m = metrics()
        let g = m.geometry
        let d = g.shown, cell = g.cell, left = g.left, top = g.top, width = g.width, grid = m.grid
        let r = m.ranges, xTicks = m.xTicks, titleText = m.titleText, titleH = m.titleH, legendH = m.legendH
        let legendTexts = m.legendTexts, shared = m.shared, bins = m.bins, marginalBins = m.marginalBins
        let asHistogram = g.histograms
        let s = 1
        let glyphH = Font.glyphHeight(scale: s), capH = Font.capHeight(scale: s)
        let sets = [lower] + (upper.map { [$0] } ?? [])
        var canvas = Image(width: width, height: g.height, fill: .white)

        if let t = titleText {
            canvas.drawText(t, x: (width - textWidth(t, scale: 2)) / 2, y: CornerPlot.pad, scale: 2)
        }
        for (k, set) in sets.enumerated() {
            let cy = CornerPlot.pad + titleH + k * legendH + capH / 2 + 1
            canvas.fillRect(x: CornerPlot.pad, y: cy - 4, width: 16, height: 9, color: set.color)
            canvas.drawText(legendTexts[k], x: CornerPlot.pad + 22, centerY: cy, align: .left, scale: s)
        }

        func column(_ set: PointSet, _ j: Int, limit: Int) -> [Double] {
            let n = Swift.min(limit, set.points.count / dimension)
            return (0..<n).map { set.points[$0 * dimension + j] }
        }
        let limit = asHistogram ? Int.max : shared

        for i in 0..<d {
            for j in 0..<d {
                let (x0, y0) = g.origin(row: i, column: j)
                var plot = Image(width: cell, height: cell, fill: .white)
                if i == j {
                    drawMarginals(into: &plot, column: j, range: r[j], bins: marginalBins, limit: limit)
                } else if let set = i > j ? lower : upper {
                    let xs = column(set, j, limit: limit), ys = column(set, i, limit: limit)
                    if asHistogram {
                        CornerPlot.shade(into: &plot, xs: xs, ys: ys, x: r[j], y: r[i], bins: bins, color: set.color)
                    } else {
                        CornerPlot.dots(into: &plot, xs: xs, ys: ys, x: r[j], y: r[i], color: set.color)
                    }
                } else {
                    continue   // blank upper triangle: no frame either
                }
                canvas.copy(plot, x: x0, y: y0)
                canvas.strokeRect(x: x0 - 1, y: y0 - 1, width: cell + 2, height: cell + 2, color: .frame)
            }
        }

        // Ticks: x along the bottom row, y along the left column (rows 1…, row 0 is a marginal).
        let labelY = top + grid + 1 + CornerPlot.tick + CornerPlot.tickGap + capH / 2
        for j in 0..<d {
            let x0 = left + j * (cell + CornerPlot.gap)
            let span = r[j].hi - r[j].lo
            for (v, label) in zip(xTicks[j], Ticks.labels(xTicks[j])) {
                let c = x0 + Swift.min(cell - 1, Int(((v - r[j].lo) / span * Double(cell)).rounded(.down)))
                // A label may not reach more than 2 pixels past its cell (into the next one's).
                let half = textWidth(label, scale: s) / 2
                guard c - half >= x0 - 2 && c + half <= x0 + cell + 1 else { continue }
                canvas.fillRect(x: c, y: top + grid + 1, width: 1, height: CornerPlot.tick, color: .frame)
                canvas.drawText(label, x: c + 1, centerY: labelY, align: .center, scale: s)
            }
            let name = names[j]
            canvas.drawText(name, x: x0 + cell / 2, centerY: labelY + glyphH + CornerPlot.tickGap, align: .center, scale: s)
        }
        for i in 0..<d {
            let y0 = top + i * (cell + CornerPlot.gap)
            if i > 0 {
                let span = r[i].hi - r[i].lo
                for (v, label) in zip(xTicks[i], Ticks.labels(xTicks[i])) {
                    let rr = y0 + Swift.min(cell - 1, Int(((r[i].hi - v) / span * Double(cell)).rounded(.down)))
                    guard rr - capH / 2 >= y0 - 2 && rr + capH / 2 <= y0 + cell + 1 else { continue }
                    canvas.fillRect(x: left - 1 - CornerPlot.tick, y: rr, width: CornerPlot.tick, height: 1, color: .frame)
                    canvas.drawText(label, x: left - 1 - CornerPlot.tick - CornerPlot.tickGap, centerY: rr, align: .right, scale: s)
                }
            }
            let name = names[i]
            var strip = Image(width: Swift.max(1, textWidth(name, scale: s)), height: glyphH, fill: .clear)
            strip.drawText(name, x: 0, y: 0, scale: s)
            let turned = strip.rotatedCounterClockwise()
            canvas.draw(turned, x: CornerPlot.pad, y: y0 + cell / 2 - turned.height / 2)
        }
        return canvas
    }

    /// Diagonal cell: density histograms of column j, the lower set filled, the upper a line.
    private func drawMarginals(into plot: inout Image, column j: Int, range: (lo: Double, hi: Double), bins: Int, limit: Int) {
        func density(_ set: PointSet) -> [Double] {
            let n = Swift.min(limit, set.points.count / dimension)
            var counts = [Double](repeating: 0, count: bins)
            let w = (range.hi - range.lo) / Double(bins)
            for k in 0..<n {
                let v = set.points[k * dimension + j]
                guard v >= range.lo && v <= range.hi else { continue }
                counts[Swift.min(bins - 1, Int((v - range.lo) / w))] += 1
            }
            return counts.map { $0 / (Double(n) * w) }
        }
        let a = density(lower), b = upper.map(density)
        let top = Swift.max(a.max() ?? 0, b?.max() ?? 0) * 1.1
        guard top > 0 else { return }
        let cw = Double(plot.width) / Double(bins), h = Double(plot.height)
        for (k, v) in a.enumerated() where v > 0 {
            let x0 = Int((Double(k) * cw).rounded()), x1 = Int((Double(k + 1) * cw).rounded())
            let y0 = Int((h - v / top * h).rounded())
            plot.fillRect(x: x0, y: y0, width: x1 - x0, height: plot.height - y0, color: lower.color.withAlpha(0.45))
        }
        if let b, let up = upper {
            var line: [PixelPoint] = []
            for (k, v) in b.enumerated() {
                let y = h - v / top * h
                line.append((Double(k) * cw, y))
                line.append((Double(k + 1) * cw, y))
            }
            plot.drawPolyline(line, color: up.color, width: 1.5)
        }
    }

    /// A 2-D histogram shaded from white towards `color` by √(count / largest count).
    static func shade(into plot: inout Image, xs: [Double], ys: [Double], x: (lo: Double, hi: Double),
                      y: (lo: Double, hi: Double), bins: Int, color: Color) {
        var flat = [Double]()
        flat.reserveCapacity(2 * xs.count)
        for k in xs.indices { flat.append(xs[k]); flat.append(ys[k]) }
        let counts = histogram2D(flat, bins: bins, extent: Extent(xmin: x.lo, xmax: x.hi, ymin: y.lo, ymax: y.hi))
        let top = counts.max() ?? 0
        guard top > 0 else { return }
        for py in 0..<plot.height {
            let j = Swift.min(bins - 1, (plot.height - 1 - py) * bins / plot.height)
            for px in 0..<plot.width {
                let i = Swift.min(bins - 1, px * bins / plot.width)
                let c = counts[j * bins + i]
                if c > 0 { plot.blend(x: px, y: py, color: color.withAlpha((c / top).squareRoot())) }
            }
        }
    }

    /// Dots, their opacity falling with the count so that dense regions stay readable.
    static func dots(into plot: inout Image, xs: [Double], ys: [Double], x: (lo: Double, hi: Double),
                     y: (lo: Double, hi: Double), color: Color) {
        let alpha = Swift.min(0.8, Swift.max(0.15, 12 / Double(Swift.max(xs.count, 1)).squareRoot()))
        let c = color.withAlpha(alpha)
        let sx = Double(plot.width) / (x.hi - x.lo), sy = Double(plot.height) / (y.hi - y.lo)
        for k in xs.indices where xs[k].isFinite && ys[k].isFinite {
            plot.fillCircle(center: ((xs[k] - x.lo) * sx, (y.hi - ys[k]) * sy), radius: 1.6, color: c)
        }
    }
}
