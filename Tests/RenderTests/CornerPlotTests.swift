import CNFCore
import Foundation
import XCTest
@testable import Render

final class CornerPlotTests: XCTestCase {
    /// n rows in 3-D: column 0 ~ N(m0, 1), column 1 = column 0 + N(0, 0.3²) (correlated),
    /// column 2 ~ N(m2, 0.5²).
    func points(_ n: Int, m0: Double, m2: Double, seed: UInt64) -> [Double] {
        var rng = Xoshiro256(seed: seed)
        var out = [Double]()
        for _ in 0..<n {
            let a = m0 + rng.normal()
            out += [a, a + 0.3 * rng.normal(), m2 + 0.5 * rng.normal()]
        }
        return out
    }

    func demoPath(_ name: String) throws -> String {
        let dir = ProcessInfo.processInfo.environment["CNF_RENDER_DEMO_DIR"]
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("cnf-render-demo")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (dir as NSString).appendingPathComponent(name)
    }

    /// How far a pixel is from white (0 = white).
    func ink(_ c: Color) -> Int { (255 - Int(c.r)) + (255 - Int(c.g)) + (255 - Int(c.b)) }

    /// Mean ink of the plot-area pixels of cell (row, column) whose data point lies in the box.
    func inkIn(_ image: Image, _ g: CornerPlot.Geometry, row: Int, column: Int, ranges: [(lo: Double, hi: Double)],
               x: ClosedRange<Double>, y: ClosedRange<Double>) -> Double {
        let (x0, y0) = g.origin(row: row, column: column)
        var total = 0, count = 0
        for py in 0..<g.cell {
            for px in 0..<g.cell {
                let dx = ranges[column].lo + (Double(px) + 0.5) / Double(g.cell) * (ranges[column].hi - ranges[column].lo)
                let dy = ranges[row].hi - (Double(py) + 0.5) / Double(g.cell) * (ranges[row].hi - ranges[row].lo)
                if x.contains(dx) && y.contains(dy) { total += ink(image[x0 + px, y0 + py]); count += 1 }
            }
        }
        return Double(total) / Double(max(count, 1))
    }

    /// Data below the diagonal, model above: each set's mass shows where it is, in its own
    /// triangle. The model is shifted by +3 in column 2, so the cells pairing column 2
    /// differ between the triangles; the (0, 1) pair is the same in both.
    func testTrianglesShowTheirOwnSet() throws {
        for n in [600, 6000] {   // dots, then histograms
            let data = points(n, m0: 0, m2: 0, seed: 1)
            let model = points(n, m0: 0, m2: 3, seed: 2)
            var plot = CornerPlot(dimension: 3, names: ["alpha", "beta", "gamma"],
                                  lower: .init(points: data, label: "data", color: Color.palette[0]),
                                  upper: .init(points: model, label: "model", color: Color.palette[1]),
                                  title: "corner test")
            plot.ranges = [(-4, 4), (-4, 4), (-3, 6)]
            let image = plot.render()
            let g = plot.geometry()
            XCTAssertEqual(g.histograms, n >= 2000)
            XCTAssertEqual([image.width, image.height], [g.width, g.height])
            try writePNG(image, to: try demoPath("corner-\(n).png"))
            let r = plot.ranges!
            // Cell (2, 0): data, column 2 up: ink near y = 0, none near y = 3.5…5.
            let dataNear = inkIn(image, g, row: 2, column: 0, ranges: r, x: -1...1, y: -0.5...0.5)
            let dataFar = inkIn(image, g, row: 2, column: 0, ranges: r, x: -1...1, y: 3.5...5)
            // Cell (0, 2): model, column 2 across: ink near x = 3, none near x = −1.5…−0.5.
            let modelNear = inkIn(image, g, row: 0, column: 2, ranges: r, x: 2.5...3.5, y: -1...1)
            let modelFar = inkIn(image, g, row: 0, column: 2, ranges: r, x: -1.5 ... -0.5, y: -1...1)
            XCTAssertGreaterThan(dataNear, 60, "n \(n)")
            XCTAssertLessThan(dataFar, 3, "n \(n)")
            XCTAssertGreaterThan(modelNear, 60, "n \(n)")
            XCTAssertLessThan(modelFar, 3, "n \(n)")
            // The correlation of columns 0 and 1 shows on the diagonal x = y, not off it.
            let onLine = inkIn(image, g, row: 1, column: 0, ranges: r, x: 0.5...1, y: 0.5...1)
            let offLine = inkIn(image, g, row: 1, column: 0, ranges: r, x: 0.5...1, y: -2 ... -1.5)
            XCTAssertGreaterThan(onLine, 4 * max(offLine, 1), "n \(n)")
            // The lower set's colour below, the upper set's above.
            let (lx, ly) = g.origin(row: 2, column: 0), (ux, uy) = g.origin(row: 0, column: 2)
            let lowerColours = (0..<g.cell).flatMap { py in (0..<g.cell).map { image[lx + $0, ly + py] } }.filter { ink($0) > 60 }
            let upperColours = (0..<g.cell).flatMap { py in (0..<g.cell).map { image[ux + $0, uy + py] } }.filter { ink($0) > 60 }
            XCTAssert(lowerColours.allSatisfy { $0.b > $0.r }, "data drawn in blue")
            XCTAssert(upperColours.allSatisfy { $0.r > $0.b }, "model drawn in orange")
        }
    }

    /// Without an upper set the upper triangle is blank, and the marginals show the data.
    func testSingleSetLeavesUpperTriangleBlank() throws {
        var plot = CornerPlot(dimension: 3, names: ["a", "b", "c"],
                              lower: .init(points: points(3000, m0: 0, m2: 0, seed: 3), label: "samples", color: Color.palette[1]))
        plot.ranges = [(-4, 4), (-4, 4), (-3, 6)]
        let image = plot.render()
        let g = plot.geometry()
        try writePNG(image, to: try demoPath("corner-single.png"))
        for (row, column) in [(0, 1), (0, 2), (1, 2)] {
            let (x0, y0) = g.origin(row: row, column: column)
            for py in -1...g.cell { for px in -1...g.cell { XCTAssertEqual(image[x0 + px, y0 + py], .white) } }
        }
        // Marginal of column 2 (N(0, 0.5²)): its peak bar near 0 is taller than the bar near 2.
        let (x0, y0) = g.origin(row: 2, column: 2)
        func barTop(at v: Double) -> Int {
            let px = x0 + Int((v + 3) / 9 * Double(g.cell))
            return (0..<g.cell).first { ink(image[px, y0 + $0]) > 20 } ?? g.cell
        }
        XCTAssertLessThan(barTop(at: 0), barTop(at: 1.5) - 20)
    }

    /// More columns than `maxColumns`: the first ones are shown, and the title says so;
    /// default ranges cover the data.
    func testManyColumnsAndDefaultRanges() {
        var rng = Xoshiro256(seed: 4)
        let d = 12
        let pts = (0..<(500 * d)).map { k in 100 * Double(k % d) + rng.normal() }
        let plot = CornerPlot(dimension: d, lower: .init(points: pts, label: "data", color: Color.palette[0]))
        XCTAssertEqual(plot.geometry().shown, 8)
        let r = CornerPlot.ranges(of: pts, dimension: d)
        for j in 0..<d {
            XCTAssert(r[j].lo < 100 * Double(j) - 2 && r[j].hi > 100 * Double(j) + 2 && r[j].hi - r[j].lo < 10, "\(r[j])")
        }
        let image = plot.render()
        XCTAssertEqual(image.width, plot.geometry().width)
        XCTAssertEqual(CornerPlot.ranges(of: [1, 1, 1, 1], dimension: 1)[0].lo, 0.5)
    }
}
