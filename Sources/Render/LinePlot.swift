import Foundation

/// A named curve for `LinePlot`.
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// nil: the next colour of `Color.palette`.
    public var color: Color?

    public init(name: String, x: [Double], y: [Double], color: Color? = nil) {
        precondition(x.count == y.count, "series '\(name)' has \(x.count) x values and \(y.count) y values")
        self.name = name; self.x = x; self.y = y; self.color = color
    }

    /// y against 0, 1, 2, … (e.g. a value per training iteration).
    public init(name: String, y: [Double], color: Color? = nil) {
        self.init(name: name, x: y.indices.map(Double.init), y: y, color: color)
    }
}

/// A line plot for training curves: several series, nice ticks on both axes (decades
/// when `logY`), a legend with the series names, axis labels and a title.
///
/// Ranges default to the data's (finite values; positive ones when `logY`) with 5 %
/// headroom on y (on log₁₀ y when `logY`), so no curve touches the frame.
public struct LinePlot {
    public var series: [Series]
    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    public var logY = false
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Plot-area size in pixels.
    public var width = 480
    public var height = 300
    public var lineWidth = 1.5
    public var labelScale = 1

    public init(series: [Series], title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
                logY: Bool = false) {
        self.series = series; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logY = logY
    }

    /// The data ranges the plot will show.
    public func ranges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        var xlo = Double.infinity, xhi = -Double.infinity, ylo = Double.infinity, yhi = -Double.infinity
        for s in series {
            for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite && (!logY || y > 0) {
                xlo = min(xlo, x); xhi = max(xhi, x); ylo = min(ylo, y); yhi = max(yhi, y)
            }
        }
        if !xlo.isFinite { xlo = 0; xhi = 1 }
        if !ylo.isFinite { ylo = logY ? 0.1 : 0; yhi = logY ? 10 : 1 }
        if xhi <= xlo { xlo -= 0.5; xhi += 0.5 }
        var yr: ClosedRange<Double>
        if logY {
            var a = log10(ylo), b = log10(yhi)
            if b <= a { a -= 0.5; b += 0.5 }
            let m = 0.05 * (b - a)
            yr = pow(10, a - m)...pow(10, b + m)
        } else {
            var a = ylo, b = yhi
            if b <= a { let d = a == 0 ? 0.5 : abs(a) * 0.1; a -= d; b += d }
            let m = 0.05 * (b - a)
            yr = (a - m)...(b + m)
        }
        return (xRange ?? xlo...xhi, yRange ?? yr)
    }

    /// The finished picture.
    public func render() -> Image { panel().render() }

    /// The configured panel before rendering, to add to it or to locate data in the picture
    /// (`panel().layout()` and `map`).
    public func panel() -> Panel {
        let (xr, yr) = ranges()
        var panel = Panel(extent: Extent(xmin: xr.lowerBound, xmax: xr.upperBound,
                                         ymin: yr.lowerBound, ymax: yr.upperBound),
                          width: width, height: height)
        panel.logY = logY
        panel.ticks = .nice(6)
        panel.title = title
        panel.xLabel = xLabel
        panel.yLabel = yLabel
        panel.labelScale = labelScale
        for (k, s) in series.enumerated() {
            let color = s.color ?? Color.palette[k % Color.palette.count]
            panel.series(x: s.x, y: s.y, color: color, width: lineWidth)
            panel.legend.append((s.name, color))
        }
        return panel
    }
}
