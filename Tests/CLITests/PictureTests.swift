import CNFCore
import Foundation
import Networks
import Flow
import ODE
import Render
import XCTest
@testable import cnf

final class PictureTests: XCTestCase {
    func testRenderAndSampleWriteTheirPictures() throws {
        let run = CLI.temporaryFolder() + "/run"
        // Fixed T (0.5 for each of the default two blocks): frame 0 is titled with their sum.
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "8gaussians", "--out", run, "--train-time", "false"] + CLI.tinyFit).status, 0)
        let r = try CLI.run(["render", "--run", run, "--grid", "64", "--samples", "2000"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let density = try readPNG(run + "/density.png")
        XCTAssertGreaterThan(density.width, 400)
        let compare = try readPNG(run + "/compare.png")
        XCTAssertGreaterThan(compare.width, 3 * 400)

        let frames = 4, n = 3000
        let s = try CLI.run(["sample", "--run", run, "--n", "\(n)", "--frames", "\(frames)", "--particles", "20"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: run + "/sequence").sorted()
        XCTAssertEqual(files, (0..<frames).map { String(format: "frame_%03d.png", $0) })
        // The last frame is samples.png.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/sequence/frame_003.png")),
                       try Data(contentsOf: URL(fileURLWithPath: run + "/samples.png")))
        // Frame 0 is the histogram of the Gaussian base draws (stream 8 of the run's seed).
        var g = Xoshiro256(seed: 0, stream: 8)
        let base = (0..<(2 * n)).map { _ in g.normal() }
        let expected = Pictures.histogram(base, extent: .square(4), title: "samples at t = 1.000", colormap: .viridis)
        XCTAssertEqual(try readPNG(run + "/sequence/frame_000.png"), expected)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/sequence.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/trajectories.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/samples.npy"))
    }
}

final class DensityMapTests: XCTestCase {
    /// The density map of a linear flow (f = A z: a Gaussian with covariance
    /// e^{-AT} e^{-AᵀT}) equals the closed form at every cell centre to 1e-6 before
    /// quantisation, and integrates to ≈ 1 over a range covering the mass.
    func testLinearFlowDensityMap() throws {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [], activation: .tanh, layerType: .linear)
        let T = 0.5
        let a = [0.6, -0.2, 0.4, 0.9]
        let model = CNF<Double>(config: ModelConfig(network: net, blocks: 1, time: T), parameters: a + [0, 0])
        let extent = Extent.square(4)
        let grid = 64
        var solve = SolveOptions(method: .dopri5, rtol: 1e-10, atol: 1e-10)
        solve.maxSteps = 100_000
        let density = try Pictures.densityGrid(model, extent: extent, grid: grid, solve: solve, seed: 0)
        let expAT = (T * Matrix<Double>(rows: 2, cols: 2, storage: a)).exponential()
        var maxError = 0.0, mass = 0.0
        for j in 0..<grid {
            for i in 0..<grid {
                let c = extent.cellCenter(i: i, j: j, nx: grid, ny: grid)
                let z = Matrix.product(expAT, Matrix(rows: 2, cols: 1, storage: [c.x, c.y]))
                let p = exp(-0.5 * (z[0, 0] * z[0, 0] + z[1, 0] * z[1, 0]) - log(2 * Double.pi) + T * (a[0] + a[3]))
                maxError = max(maxError, abs(density[j * grid + i] - p))
                mass += density[j * grid + i]
            }
        }
        mass *= extent.width * extent.height / Double(grid * grid)
        XCTAssertLessThan(maxError, 1e-6)
        XCTAssertEqual(mass, 1, accuracy: 0.01)
    }
}
