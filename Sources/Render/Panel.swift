import Foundation

// The Render module draws cnf's pictures without a plotting library: an RGBA `Image`,
// anti-aliased shapes, a bitmap font, matplotlib's colormaps, and PNG files via libpng.
// A figure is built from panels:
//
//     var density = Panel(extent: .square(4), width: 320)        // plot area 320×320 px
//     density.heatMap(values, nx: 200, ny: 200, colorBar: true)   // values[j*nx + i], j = 0 at the bottom
//     density.title = "model density"
//     var samples = Panel(extent: .square(4), width: 320)
//     samples.histogram(xy, bins: 128)                            // xy = [x0, y0, x1, y1, …]
//     let figure = hstack([density.render(), samples.render()], title: "8gaussians")
//     try writePNG(figure, to: "outputs/8gaussians/density.png")
//
// Training curves: `LinePlot(series: [Series(name: "train", x: it, y: loss)], title: …).render()`.

/// Which values get a tick mark and a label on a panel's axes.
public enum AxisTicks: Equatable, Sendable {
    /// Only the two ends of the extent ("-4" and "4"): enough for square toy-data panels.
    case ends
    /// Nice round values (`Ticks.nice`, about this many), or decades on a log axis.
    case nice(Int)
    case none
}

/// One plot: a data extent shown in a pixel rectangle, plus its decorations.
///
/// Coordinates. `plot` holds the plot area's pixels only (row 0 at the top). Data point
/// (x, y) maps to continuous plot-pixel coordinates
///     px = (x − xmin)/(xmax − xmin) · plotWidth,
///     py = (ymax − y)/(ymax − ymin) · plotHeight        (y up: larger y is higher),
/// so the extent's corners are the corners of the plot area, and pixel (i, j) covers
/// the data cell whose centre is `dataPoint(pixelX: i, pixelY: j)`. With `logY`, y is
/// replaced by log₁₀ y in both formulas.
///
/// Paint with the plotting methods (`heatMap`, `histogram`, `scatter`, `polyline`,
/// `trajectories`, `quiver`, `series`), which clip to the plot area; then `render()`
/// adds margins, a frame, tick labels at the axes, optional axis labels, a legend, a
/// colour bar and a title, and returns the finished picture.
public struct Panel {
    public var extent: Extent
    /// The plot area's pixels.
    public var plot: Image
    /// Centred above the plot area.
    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    /// Drawn to the right of the plot area when set (`heatMap(…, colorBar: true)` sets it).
    public var colorBar: ColorScale?
    /// Names and colours shown in a box at the top right of the plot area.
    public var legend: [(name: String, color: Color)] = []
    public var ticks: AxisTicks = .nice(5)
    /// Map y through log₁₀ (the extent's ymin must then be positive).
    public var logY = false
    /// Scale of the tick labels, axis labels and legend (1 = 5×7-pixel capitals).
    public var labelScale = 1
    /// Scale of the title.
    public var titleScale = 2

    /// A blank panel of `width` × `height` plot pixels over `extent`. Without a height, the
    /// height keeps one data unit the same size along x and y (square pixels in data space),
    /// so circles in the data stay circles.
    public init(extent: Extent, width: Int = 320, height: Int? = nil, background: Color = .white) {
        precondition(width > 0, "panel width must be positive, got \(width)")
        let h = height ?? Swift.max(1, Int((Double(width) * extent.height / extent.width).rounded()))
        precondition(h > 0, "panel height must be positive, got \(h)")
        self.extent = extent
        self.plot = Image(width: width, height: h, fill: background)
    }

    public var plotWidth: Int { plot.width }
    public var plotHeight: Int { plot.height }

    private var yRange: (lo: Double, hi: Double) {
        logY ? (log10(extent.ymin), log10(extent.ymax)) : (extent.ymin, extent.ymax)
    }

    /// Data (x, y) → continuous plot-pixel coordinates (see the type's documentation).
    public func map(x: Double, y: Double) -> PixelPoint {
        let (lo, hi) = yRange
        let yy = logY ? (y > 0 ? log10(y) : -Double.infinity) : y
        return ((x - extent.xmin) / extent.width * Double(plot.width),
                (hi - yy) / (hi - lo) * Double(plot.height))
    }

    /// The data point at the centre of plot pixel (pixelX, pixelY): the inverse of `map`
    /// at (pixelX + ½, pixelY + ½).
    public func dataPoint(pixelX: Int, pixelY: Int) -> (x: Double, y: Double) {
        let (lo, hi) = yRange
        let x = extent.xmin + (Double(pixelX) + 0.5) / Double(plot.width) * extent.width
        let yy = hi - (Double(pixelY) + 0.5) / Double(plot.height) * (hi - lo)
        return (x, logY ? pow(10, yy) : yy)
    }

    // MARK: Tick values

    func xTickValues() -> [Double] {
        switch ticks {
        case .ends: return [extent.xmin, extent.xmax]
        case .nice(let n): return Ticks.nice(extent.xmin, extent.xmax, maxCount: n)
        case .none: return []
        }
    }

    func yTickValues() -> [Double] {
        switch ticks {
        case .ends: return [extent.ymin, extent.ymax]
        case .nice(let n): return logY ? Ticks.log(extent.ymin, extent.ymax)
                                       : Ticks.nice(extent.ymin, extent.ymax, maxCount: n)
        case .none: return []
        }
    }

    func xTickLabels(_ values: [Double]) -> [String] {
        ticks == .ends ? values.map(Ticks.format) : Ticks.labels(values)
    }

    func yTickLabels(_ values: [Double]) -> [String] {
        ticks == .ends ? values.map(Ticks.format) : (logY ? Ticks.logLabels(values) : Ticks.labels(values))
    }
}
