import CNFCore
import Foundation
import Render
import XCTest
@testable import cnf

final class PictureTests: XCTestCase {
    func testRenderAndSampleWriteTheirPictures() throws {
        let run = CLI.temporaryFolder() + "/run"
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "8gaussians", "--out", run] + CLI.tinyFit).status, 0)
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
        let expected = Pictures.histogram(base, extent: .square(4), title: "samples at t = 0.500", colormap: .viridis)
        XCTAssertEqual(try readPNG(run + "/sequence/frame_000.png"), expected)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/sequence.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/trajectories.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/samples.npy"))
    }
}
