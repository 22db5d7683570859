import CNFCore
import XCTest
@testable import Render

final class HeatMapTests: XCTestCase {
    func brightness(_ c: Color) -> Double { lightness(Double(c.r) / 255, Double(c.g) / 255, Double(c.b) / 255) }

    /// Mean L* of the plot pixels in rows (or columns) of the given range.
    func meanBrightness(_ img: Image, rows: Range<Int>? = nil, columns: Range<Int>? = nil) -> Double {
        var s = 0.0, n = 0.0
        for y in rows ?? 0..<img.height { for x in columns ?? 0..<img.width { s += brightness(img[x, y]); n += 1 } }
        return s / n
    }

    /// A field that depends on one coordinate only, sampled at the cell centres.
    func field(nx: Int, ny: Int, extent: Extent, _ f: (Double, Double) -> Double) -> [Double] {
        var v = [Double](repeating: 0, count: nx * ny)
        for j in 0..<ny { for i in 0..<nx {
            let c = extent.cellCenter(i: i, j: j, nx: nx, ny: ny)
            v[j * nx + i] = f(c.x, c.y)
        } }
        return v
    }

    func testLargeAtHighYIsBrightAtTheTop() {
        let e = Extent(xmin: -2, xmax: 2, ymin: -1, ymax: 3)
        var panel = Panel(extent: e, width: 60, height: 40)
        panel.heatMap(field(nx: 17, ny: 13, extent: e) { _, y in exp(-(y - 2.5) * (y - 2.5)) }, nx: 17, ny: 13)
        let top = meanBrightness(panel.plot, rows: 0..<8), bottom = meanBrightness(panel.plot, rows: 32..<40)
        XCTAssertGreaterThan(top, bottom + 30, "bright rows must be at the top (y up)")
        // And the rendered picture keeps that orientation.
        let layout = panel.layout(), img = panel.render()
        XCTAssertEqual(img[layout.plotX + 30, layout.plotY + 2], panel.plot[30, 2])
    }

    func testLargeAtHighXIsBrightAtTheRight() {
        let e = Extent.square(4)
        var panel = Panel(extent: e, width: 50)
        panel.heatMap(field(nx: 20, ny: 20, extent: e) { x, _ in x }, nx: 20, ny: 20, colormap: .magma)
        XCTAssertGreaterThan(meanBrightness(panel.plot, columns: 40..<50),
                             meanBrightness(panel.plot, columns: 0..<10) + 30)
    }

    /// One cell per pixel: pixel (i, H−1−j) shows exactly colormap((v_ij − lo)/(hi − lo)).
    func testPixelColourIsTheColormapOfTheValue() {
        var rng = Xoshiro256(seed: 11)
        let nx = 23, ny = 17
        let values = (0..<(nx * ny)).map { _ in rng.normal() }
        for map in Colormap.allCases {
            var panel = Panel(extent: Extent(xmin: 0, xmax: 2.3, ymin: 5, ymax: 6.7), width: nx, height: ny)
            panel.heatMap(values, nx: nx, ny: ny, colormap: map, vmin: -1.5, vmax: 2)
            var auto = Panel(extent: panel.extent, width: nx, height: ny)
            auto.heatMap(values, nx: nx, ny: ny, colormap: map)
            let lo = values.min()!, hi = values.max()!
            for py in 0..<ny { for px in 0..<nx {
                let v = values[(ny - 1 - py) * nx + px]
                XCTAssertEqual(panel.plot[px, py], map.rgb(at: (v + 1.5) / 3.5), "\(map) pixel (\(px), \(py))")
                XCTAssertEqual(auto.plot[px, py], map.rgb(at: (v - lo) / (hi - lo)), "\(map) pixel (\(px), \(py))")
            } }
        }
    }

    /// Coarse grid: each pixel shows the cell containing its centre; with `smooth`, a
    /// pixel whose centre is a cell centre shows exactly that cell's value.
    func testCellsAndSmoothing() {
        let nx = 5, ny = 3, w = 55, h = 33  // 11 × 11 pixels per cell; centres at pixel 5 + 11k
        var rng = Xoshiro256(seed: 12)
        let values = (0..<(nx * ny)).map { _ in rng.uniform() }
        let colors = ColorScale(colormap: .viridis, scale: .linear, lo: 0, hi: 1)
        var nearest = Panel(extent: Extent(xmin: 0, xmax: 5, ymin: 0, ymax: 3), width: w, height: h)
        nearest.heatMap(values, nx: nx, ny: ny, colors: colors)
        var smooth = nearest
        smooth.heatMap(values, nx: nx, ny: ny, colors: colors, smooth: true)
        for py in 0..<h { for px in 0..<w {
            let i = px / 11, j = ny - 1 - py / 11
            XCTAssertEqual(nearest.plot[px, py], colors.color(values[j * nx + i]))
            if px % 11 == 5 && py % 11 == 5 {
                XCTAssertEqual(smooth.plot[px, py], colors.color(values[j * nx + i]))
            }
        } }
        // Halfway between two cell centres (pixel 11 spans [11, 12), centre 11.5 = 5.5 + 6):
        // the smooth value is the blend 6/11 of the way.
        let t = 6.0 / 11
        XCTAssertEqual(smooth.plot[11, 5], colors.color(values[2 * nx] * (1 - t) + values[2 * nx + 1] * t))
    }

    func testGridOverASubregionLeavesTheRestAlone() {
        var panel = Panel(extent: .square(4), width: 80)
        panel.heatMap([1, 1, 1, 1], nx: 2, ny: 2, over: Extent(xmin: 0, xmax: 4, ymin: 0, ymax: 4),
                      colors: ColorScale(lo: 0, hi: 1))
        XCTAssertEqual(panel.plot[60, 20], Colormap.viridis.rgb(at: 1), "upper right quadrant painted")
        XCTAssertEqual(panel.plot[20, 20], .white); XCTAssertEqual(panel.plot[60, 60], .white)
    }

    func testNaNShowsTheBadColour() {
        var panel = Panel(extent: .square(1), width: 2)
        panel.heatMap([.nan, 0, 1, 2], nx: 2, ny: 2)
        XCTAssertEqual(panel.plot[0, 1], Color.lightGrey)
        XCTAssertEqual(panel.plot[1, 1], Colormap.viridis.rgb(at: 0), "range fitted to the finite values")
        XCTAssertEqual(panel.plot[1, 0], Colormap.viridis.rgb(at: 1))
    }

    func testScalePositions() {
        let log = ColorScale(scale: .log, lo: 1e-4, hi: 1)
        XCTAssertEqual(log.position(1e-4), 0); XCTAssertEqual(log.position(1), 1)
        XCTAssertEqual(log.position(1e-2), 0.5, accuracy: 1e-12)
        XCTAssertEqual(log.position(1e-9), 0); XCTAssertEqual(log.position(0), 0); XCTAssertEqual(log.position(-3), 0)
        let fitted = ColorScale.fitting([0, 1e-9, 0.5, 2], scale: .log)
        XCTAssertEqual(fitted.hi, 2); XCTAssertEqual(fitted.lo, 2e-4, "floor at max·1e-4")
        XCTAssertEqual(ColorScale.fitting([0.3, 0.5, 2], scale: .log).lo, 0.3, "smallest positive above the floor")
        let sq = ColorScale(scale: .sqrt, lo: 0, hi: 4)
        XCTAssertEqual(sq.position(1), 0.5, accuracy: 1e-12)
        let l1 = ColorScale(scale: .log1p, lo: 0, hi: 99)
        XCTAssertEqual(l1.position(0), 0); XCTAssertEqual(l1.position(9), 0.5, accuracy: 1e-12)
        XCTAssertEqual(ColorScale(lo: 3, hi: 3).position(5), 0, "degenerate range")
        XCTAssertTrue(ColorScale(lo: 0, hi: 1).position(.nan).isNaN)
    }

    /// Log scale on a field spanning decades: equal ratios get equal colour steps.
    func testLogHeatMap() {
        let values = [1e-6, 1e-4, 1e-2, 1]  // 4 × 1 grid
        var panel = Panel(extent: Extent(xmin: 0, xmax: 4, ymin: 0, ymax: 1), width: 4, height: 1)
        let scale = panel.heatMap(values, nx: 4, ny: 1, scale: .log, vmin: 1e-6)
        for i in 0..<4 { XCTAssertEqual(panel.plot[i, 0], Colormap.viridis.rgb(at: Double(i) / 3)) }
        XCTAssertEqual(scale.lo, 1e-6)
    }

    // MARK: Histograms

    func testHistogramCounts() {
        let e = Extent.square(4)  // 8 bins: edges at -4, -3, …, 4
        let pts: [Double] = [-3.5, -3.5, -3.5, -3.9, 4, 4, -4, 0, 0.0, -0.0, 5, 0, 0, -4.01, .nan, 1]
        let c = histogram2D(pts, bins: 8, extent: e)
        XCTAssertEqual(c[0 * 8 + 0], 2, "two points in the bottom-left bin")
        XCTAssertEqual(c[7 * 8 + 7], 1, "x = xmax, y = ymax falls in the last bin")
        XCTAssertEqual(c[4 * 8 + 0], 1, "(-4, 0): left edge, row of y ∈ [0, 1)")
        XCTAssertEqual(c[4 * 8 + 4], 1, "(0, -0): the bin right of and above the centre")
        XCTAssertEqual(c.reduce(0, +), 5, "points outside or with NaN are ignored")
    }

    /// All points in bin (2, 5): that bin's pixels show the top colour, every other pixel
    /// the zero colour.
    func testHistogramPaintsTheBinOfThePoints() {
        let bins = 8, e = Extent.square(4)
        var rng = Xoshiro256(seed: 13)
        var pts: [Double] = []
        for _ in 0..<100 { pts += [-2 + rng.uniform(), 1 + rng.uniform()] }  // x ∈ [-2, -1), y ∈ [1, 2)
        for scale in [ValueScale.linear, .sqrt, .log1p, .log] {
            var panel = Panel(extent: e, width: 80)
            panel.histogram(pts, bins: bins, colormap: .inferno, scale: scale)
            for py in 0..<80 { for px in 0..<80 {
                let inBin = px / 10 == 2 && (bins - 1 - py / 10) == 5
                XCTAssertEqual(panel.plot[px, py], Colormap.inferno.rgb(at: inBin ? 1 : 0), "\(scale) (\(px), \(py))")
            } }
        }
    }

    func testHistogramOfPairsEqualsFlat() {
        let pairs = [(0.5, 0.5), (-1.0, 2.0), (3.0, -3.0)]
        var a = Panel(extent: .square(4), width: 40), b = a
        a.histogram(pairs, bins: 4, scale: .sqrt)
        b.histogram(pairs.flatMap { [$0.0, $0.1] }, bins: 4, scale: .sqrt)
        XCTAssertEqual(a.plot, b.plot)
    }
}
