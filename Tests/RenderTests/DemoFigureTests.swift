import CNFCore
import Foundation
import XCTest
@testable import Render

/// Writes the demo figures (to $CNF_RENDER_DEMO_DIR, default <tmp>/cnf-render-demo) so a
/// person can look at them, and checks that each decodes to the size that was rendered.
final class DemoFigureTests: XCTestCase {
    /// Eight unit-weight Gaussians (σ = 0.5) on a circle of radius 2.8 (FFJORD's "8gaussians" look).
    static func mixtureDensity(_ x: Double, _ y: Double) -> Double {
        var p = 0.0
        for k in 0..<8 {
            let a = Double(k) * .pi / 4
            let dx = x - 2.8 * cos(a), dy = y - 2.8 * sin(a)
            p += exp(-(dx * dx + dy * dy) / (2 * 0.25)) / (2 * .pi * 0.25) / 8
        }
        return p
    }

    static func mixtureSamples(_ n: Int, seed: UInt64 = 1) -> [Double] {
        var rng = Xoshiro256(seed: seed)
        var out: [Double] = []
        for _ in 0..<n {
            let a = Double(rng.int(below: 8)) * .pi / 4
            out.append(2.8 * cos(a) + 0.5 * rng.normal())
            out.append(2.8 * sin(a) + 0.5 * rng.normal())
        }
        return out
    }

    func demoFolder() throws -> String {
        let dir = ProcessInfo.processInfo.environment["CNF_RENDER_DEMO_DIR"]
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("cnf-render-demo")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func save(_ image: Image, _ name: String) throws {
        let path = (try demoFolder() as NSString).appendingPathComponent(name)
        try writePNG(image, to: path)
        let back = try readPNG(path)
        XCTAssertEqual(back, image, "\(name) did not decode to the pixels written")
    }

    func densityPanel(scale: ValueScale = .linear, colorBar: Bool = false, n: Int = 200) -> Panel {
        let extent = Extent.square(4)
        var values = [Double](repeating: 0, count: n * n)
        for j in 0..<n { for i in 0..<n {
            let c = extent.cellCenter(i: i, j: j, nx: n, ny: n)
            values[j * n + i] = Self.mixtureDensity(c.x, c.y)
        } }
        var panel = Panel(extent: extent, width: 256)
        panel.heatMap(values, nx: n, ny: n, scale: scale, colorBar: colorBar)
        return panel
    }

    func testDemoFigures() throws {
        // 1. Density with a colour bar.
        var density = densityPanel(colorBar: true)
        density.title = "p(x)"
        try save(density.render(), "density.png")

        // 2. Histogram of samples.
        let samples = Self.mixtureSamples(20_000)
        var hist = Panel(extent: .square(4), width: 256)
        hist.histogram(samples, bins: 128)
        hist.title = "samples"
        try save(hist.render(), "histogram.png")

        // 3. Three panels side by side.
        var logDensity = densityPanel(scale: .log, colorBar: true)
        logDensity.title = nil
        var scatter = Panel(extent: .square(4), width: 256)
        scatter.scatter(Array(samples.prefix(4000)), alpha: 0.3, radius: 1)
        let row = hstack([densityPanel().render(), logDensity.render(), scatter.render()],
                         titles: ["density", "log density", "2000 samples"],
                         title: "8gaussians: CNF, T = 0.5, ε ~ Rademacher")
        try save(row, "hstack.png")

        // 4. Trajectories over a quiver of a rotating, contracting field.
        var traj = Panel(extent: .square(4), width: 320)
        let q = 15
        var u = [Double](), v = [Double]()
        for j in 0..<q { for i in 0..<q {
            let c = Extent.square(4).cellCenter(i: i, j: j, nx: q, ny: q)
            u.append(-c.y - 0.3 * c.x); v.append(c.x - 0.3 * c.y)
        } }
        traj.quiver(u: u, v: v, nx: q, ny: q, color: Color.grey)
        var rng = Xoshiro256(seed: 7)
        var paths: [[(Double, Double)]] = []
        for _ in 0..<40 {
            var p = (rng.uniform(-3.5, 3.5), rng.uniform(-3.5, 3.5))
            var path = [p]
            for _ in 0..<80 {
                let d = (-p.1 - 0.3 * p.0, p.0 - 0.3 * p.1)
                p = (p.0 + 0.03 * d.0, p.1 + 0.03 * d.1)
                path.append(p)
            }
            paths.append(path)
        }
        traj.trajectories(paths, color: Color.palette[0], alpha: 0.6, width: 1.2,
                          startColor: Color.palette[3], endColor: .text)
        traj.title = "trajectories"
        try save(traj.render(), "trajectories.png")

        // 5. Loss curves, linear and log.
        var r2 = Xoshiro256(seed: 3)
        let iters = Array(stride(from: 0.0, through: 2000, by: 10))
        let train = iters.map { 2.9 - 0.35 * log1p($0 / 50) + 0.05 * r2.normal() }
        let test = iters.map { 2.85 - 0.33 * log1p($0 / 50) }
        var plot = LinePlot(series: [Series(name: "train", x: iters, y: train),
                                     Series(name: "test", x: iters, y: test)],
                            title: "loss (nats)", xLabel: "iteration", yLabel: "-log p(x)")
        try save(plot.render(), "loss.png")
        plot.series = [Series(name: "NFE forward", x: iters, y: iters.map { 20 + 200 * exp(-$0 / 400) }),
                       Series(name: "grad norm", x: iters, y: iters.map { 0.05 + 30 * exp(-$0 / 150) })]
        plot.logY = true
        plot.title = "log axis"
        plot.yLabel = "value"
        try save(plot.render(), "loss-log.png")

        // 6. The font and the colormaps.
        let chars = String(BitmapFont.characters)
        let lines = stride(from: 0, to: chars.count, by: 32).map { k in
            String(chars.dropFirst(k).prefix(32))
        }.joined(separator: "\n")
        var font = Image(width: textWidth(lines, scale: 2) + 20, height: textHeight(lines, scale: 1) + textHeight(lines, scale: 2) + 30)
        font.drawText(lines, x: 10, y: 10, scale: 1)
        font.drawText(lines, x: 10, y: 20 + textHeight(lines), scale: 2)
        try save(font, "font.png")
        var strips: [Image] = []
        for map in Colormap.allCases {
            var strip = Panel(extent: Extent(xmin: 0, xmax: 1, ymin: 0, ymax: 1), width: 256, height: 24)
            strip.heatMap((0..<256).map { Double($0) / 255 }, nx: 256, ny: 1, colormap: map)
            strip.title = map.rawValue
            strip.titleScale = 1
            strip.ticks = .none
            strips.append(strip.render())
        }
        try save(vstack(strips, spacing: 4, title: "colormaps"), "colormaps.png")
    }
}
