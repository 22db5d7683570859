/// Plot primitives: each paints into the plot area in data coordinates, clipped to it.
extension Panel {
    // MARK: Fields on a grid

    /// A scalar field sampled on an nx × ny grid over `grid` (the panel's extent unless
    /// given): `values[j·nx + i]` is the value at the cell centre
    /// x_i = xmin + (i + ½)·dx, y_j = ymin + (j + ½)·dy, j = 0 the bottom row.
    ///
    /// Each plot pixel shows the value at its centre: the value of the grid cell that
    /// contains it, or with `smooth` the bilinear interpolation between the four
    /// surrounding cell centres (values held constant beyond the outer centres). Pixels
    /// outside the grid are left as they were; NaN values show `colors.badColor`.
    public mutating func heatMap(_ values: [Double], nx: Int, ny: Int, over grid: Extent? = nil,
                                 colors: ColorScale, smooth: Bool = false) {
        precondition(nx > 0 && ny > 0 && values.count == nx * ny,
                     "heat map of \(nx)×\(ny) cells needs \(nx * ny) values, got \(values.count)")
        let g = grid ?? extent
        for py in 0..<plot.height {
            for px in 0..<plot.width {
                let p = dataPoint(pixelX: px, pixelY: py)
                // Continuous cell coordinates: cell i spans [i, i+1).
                let fx = (p.x - g.xmin) / g.width * Double(nx), fy = (p.y - g.ymin) / g.height * Double(ny)
                guard fx >= 0, fx < Double(nx), fy >= 0, fy < Double(ny) else { continue }
                let v: Double
                if smooth {
                    v = Panel.bilinear(values, nx: nx, ny: ny, u: fx - 0.5, w: fy - 0.5)
                } else {
                    v = values[Int(fy) * nx + Int(fx)]
                }
                plot[px, py] = colors.color(v)
            }
        }
    }

    /// `heatMap` with the colour range fitted to the values (`ColorScale.fitting`), and
    /// optionally a colour bar. Returns the scale used.
    @discardableResult
    public mutating func heatMap(_ values: [Double], nx: Int, ny: Int, over grid: Extent? = nil,
                                 colormap: Colormap = .viridis, scale: ValueScale = .linear,
                                 vmin: Double? = nil, vmax: Double? = nil,
                                 smooth: Bool = false, colorBar: Bool = false) -> ColorScale {
        let colors = ColorScale.fitting(values, colormap: colormap, scale: scale, vmin: vmin, vmax: vmax)
        heatMap(values, nx: nx, ny: ny, over: grid, colors: colors, smooth: smooth)
        if colorBar { self.colorBar = colors }
        return colors
    }

    /// Bilinear interpolation at continuous index (u, w), where (i, j) is cell centre (i, j).
    static func bilinear(_ values: [Double], nx: Int, ny: Int, u: Double, w: Double) -> Double {
        func split(_ t: Double, _ n: Int) -> (Int, Int, Double) {
            if n == 1 { return (0, 0, 0) }
            let c = Swift.min(Swift.max(t, 0), Double(n - 1))
            let i = Swift.min(Int(c), n - 2)
            return (i, i + 1, c - Double(i))
        }
        let (i0, i1, a) = split(u, nx), (j0, j1, b) = split(w, ny)
        let v00 = values[j0 * nx + i0], v10 = values[j0 * nx + i1]
        let v01 = values[j1 * nx + i0], v11 = values[j1 * nx + i1]
        return (1 - b) * ((1 - a) * v00 + a * v10) + b * ((1 - a) * v01 + a * v11)
    }

    /// Counts of `points` in a bins × bins histogram over `extent` (the panel's unless
    /// given), drawn through `colormap` from 0 counts (bottom colour) to the largest count
    /// (top colour) — or to `vmax` — on `scale` (`.linear`, `.sqrt`, `.log1p`; `.log`
    /// starts at 1 count). Returns the colour scale used; the counts are `histogram2D`'s.
    @discardableResult
    public mutating func histogram(_ points: [Double], bins: Int, over grid: Extent? = nil,
                                   colormap: Colormap = .viridis, scale: ValueScale = .linear,
                                   vmax: Double? = nil, colorBar: Bool = false) -> ColorScale {
        let g = grid ?? extent
        let counts = histogram2D(points, bins: bins, extent: g)
        let colors = ColorScale.fitting(counts, colormap: colormap, scale: scale,
                                        vmin: scale == .log ? 1 : 0, vmax: vmax)
        heatMap(counts, nx: bins, ny: bins, over: g, colors: colors)
        if colorBar { self.colorBar = colors }
        return colors
    }

    /// `histogram` of (x, y) pairs.
    @discardableResult
    public mutating func histogram(_ points: [(Double, Double)], bins: Int, over grid: Extent? = nil,
                                   colormap: Colormap = .viridis, scale: ValueScale = .linear,
                                   vmax: Double? = nil, colorBar: Bool = false) -> ColorScale {
        histogram(points.flatMap { [$0.0, $0.1] }, bins: bins, over: grid, colormap: colormap,
                  scale: scale, vmax: vmax, colorBar: colorBar)
    }

    /// Arrows of the vector field (u, v) at the centres of an nx × ny grid over `grid`
    /// (the panel's extent unless given); `u[j·nx + i]` as in `heatMap`. A vector of data
    /// length L is drawn `scale`·L data units long; by default the longest arrow spans
    /// 90 % of a grid cell.
    public mutating func quiver(u: [Double], v: [Double], nx: Int, ny: Int, over grid: Extent? = nil,
                                color: Color = .text, scale: Double? = nil, width: Double = 1) {
        precondition(nx > 0 && ny > 0 && u.count == nx * ny && v.count == nx * ny,
                     "quiver on \(nx)×\(ny) cells needs \(nx * ny) u and v values, got \(u.count) and \(v.count)")
        let g = grid ?? extent
        let sx = Double(plot.width) / extent.width, sy = Double(plot.height) / extent.height
        var longest = 0.0
        for k in u.indices where u[k].isFinite && v[k].isFinite {
            longest = Swift.max(longest, ((u[k] * sx) * (u[k] * sx) + (v[k] * sy) * (v[k] * sy)).squareRoot())
        }
        let cell = Swift.min(g.width / Double(nx) * sx, g.height / Double(ny) * sy)
        let k = scale ?? (longest > 0 ? 0.9 * cell / longest : 0)
        for j in 0..<ny {
            for i in 0..<nx {
                let c = g.cellCenter(i: i, j: j, nx: nx, ny: ny)
                let tail = map(x: c.x, y: c.y)
                let du = u[j * nx + i] * k * sx, dv = v[j * nx + i] * k * sy
                plot.drawArrow(from: tail, to: (tail.x + du, tail.y - dv), color: color, width: width,
                               headLength: Swift.min(3 * width + 3, 0.35 * cell))
            }
        }
    }

    // MARK: Points and lines

    /// Dots at `points` (flat x0, y0, x1, y1, …), each of `radius` pixels in `color` at
    /// opacity `alpha`; overlapping dots darken, so density shows.
    public mutating func scatter(_ points: [Double], color: Color = Color.palette[0],
                                 alpha: Double = 0.5, radius: Double = 1.5) {
        precondition(points.count % 2 == 0, "scatter needs x, y pairs; got \(points.count) numbers")
        let c = color.withAlpha(alpha)
        for k in stride(from: 0, to: points.count, by: 2) {
            plot.fillCircle(center: map(x: points[k], y: points[k + 1]), radius: radius, color: c)
        }
    }

    /// `scatter` of (x, y) pairs.
    public mutating func scatter(_ points: [(Double, Double)], color: Color = Color.palette[0],
                                 alpha: Double = 0.5, radius: Double = 1.5) {
        scatter(points.flatMap { [$0.0, $0.1] }, color: color, alpha: alpha, radius: radius)
    }

    /// A line through `points` in data coordinates, blended once (see `drawPolyline`);
    /// non-finite points break it.
    public mutating func polyline(_ points: [(Double, Double)], color: Color = .text,
                                  alpha: Double = 1, width: Double = 1.5) {
        plot.drawPolyline(points.map { map(x: $0.0, y: $0.1) }, color: color.withAlpha(alpha), width: width)
    }

    /// A line through (x[k], y[k]); non-finite values break it (and, with `logY`, y ≤ 0).
    public mutating func series(x: [Double], y: [Double], color: Color, width: Double = 1.5) {
        precondition(x.count == y.count, "series has \(x.count) x values and \(y.count) y values")
        let pts = zip(x, y).map { p -> PixelPoint in
            let q = map(x: p.0, y: p.1)
            return q.x.isFinite && q.y.isFinite ? q : (.nan, .nan)
        }
        plot.drawPolyline(pts, color: color, width: width)
    }

    /// Trajectories (e.g. ODE paths of samples), each a polyline; optional dots mark
    /// where each starts and ends.
    public mutating func trajectories(_ paths: [[(Double, Double)]], color: Color = .text, alpha: Double = 0.4,
                                      width: Double = 1, startColor: Color? = nil, endColor: Color? = nil,
                                      markerRadius: Double = 2) {
        for path in paths { polyline(path, color: color, alpha: alpha, width: width) }
        for path in paths {
            if let c = startColor, let p = path.first { plot.fillCircle(center: map(x: p.0, y: p.1), radius: markerRadius, color: c) }
            if let c = endColor, let p = path.last { plot.fillCircle(center: map(x: p.0, y: p.1), radius: markerRadius, color: c) }
        }
    }
}

/// Counts of points in a bins × bins grid over `extent`: `counts[j·bins + i]` counts the
/// points with xmin + i·dx ≤ x < xmin + (i+1)·dx and likewise for y (j = 0 at the bottom),
/// the last bin closed on the right as in numpy's `histogram2d`. Points outside the
/// closed extent, or with a NaN coordinate, are ignored. `points` is flat: x0, y0, x1, y1, ….
/// - Complexity: O(points + bins²).
public func histogram2D(_ points: [Double], bins: Int, extent: Extent) -> [Double] {
    precondition(bins > 0, "histogram needs at least one bin, got \(bins)")
    precondition(points.count % 2 == 0, "histogram needs x, y pairs; got \(points.count) numbers")
    var counts = [Double](repeating: 0, count: bins * bins)
    let n = Double(bins)
    for k in stride(from: 0, to: points.count, by: 2) {
        let x = points[k], y = points[k + 1]
        guard extent.contains(x: x, y: y) else { continue }
        let i = Swift.min(Int((x - extent.xmin) / extent.width * n), bins - 1)
        let j = Swift.min(Int((y - extent.ymin) / extent.height * n), bins - 1)
        counts[j * bins + i] += 1
    }
    return counts
}
