import Foundation
import Render
import XCTest
@testable import cnf

/// The animated sequences `cnf sample` writes and the page `cnf report --html` builds from a run tree.
final class AnimationReportTests: XCTestCase {
    func testAnimationsHoldEveryFrameAndTheReportPageLinksEverything() throws {
        let root = CLI.temporaryFolder() + "/tree"
        let run = root + "/toy-all/8gaussians"
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "8gaussians", "--out", run] + CLI.tinyFit).status, 0)
        let frames = 12
        let s = try CLI.run(["sample", "--run", run, "--n", "2000", "--frames", "\(frames)", "--particles", "10",
                             "--density-grid", "16"])
        XCTAssertEqual(s.status, 0, s.stderr)
        // The animation is the per-frame PNGs, in order, the last one held.
        let apng = try readAPNG(run + "/sequence_animated.png")
        XCTAssertEqual(apng.frames.count, frames)
        for k in 0..<frames {
            XCTAssertEqual(apng.frames[k], try readPNG(run + String(format: "/sequence/frame_%03d.png", k)), "frame \(k)")
        }
        XCTAssertGreaterThan(apng.delays.last!, apng.delays.first!)
        // A viewer without APNG support shows frame 0 (the Gaussian at t = T).
        XCTAssertEqual(try readPNG(run + "/sequence_animated.png"), apng.frames[0])
        XCTAssertEqual(try readAPNG(run + "/density_sequence_animated.png").frames.count, frames)
        // The strip shows at most 9 of the 12 frames.
        XCTAssertEqual(Sequences.stripIndices(frames), [0, 1, 3, 4, 6, 7, 8, 10, 11])

        let before = try CLI.run(["report", "--root", root, "--out", root + "/S.md"])
        XCTAssertEqual(before.status, 0, before.stderr)
        let markdown = try String(contentsOfFile: root + "/S.md", encoding: .utf8)
        let r = try CLI.run(["report", "--root", root, "--out", root + "/S.md", "--html"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: root + "/S.md", encoding: .utf8), markdown, "--html leaves the Markdown as it was")
        let page = try String(contentsOfFile: root + "/S.html", encoding: .utf8)
        // Every picture the page shows exists beside it, the animations included.
        let sources = page.components(separatedBy: "<img src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertTrue(sources.contains("toy-all/8gaussians/sequence_animated.png"))
        XCTAssertTrue(sources.contains("toy-all/8gaussians/density_sequence_animated.png"))
        XCTAssertTrue(sources.contains("toy-all/8gaussians/loss.png"))
        for src in sources {
            XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/" + src.removingPercentEncoding!), src)
        }
        XCTAssertTrue(page.contains("href=\"toy-all/8gaussians/config.json\""))
        // Embedded: every picture is a data: URI that decodes to the file's bytes.
        XCTAssertEqual(try CLI.run(["report", "--root", root, "--out", root + "/E.md", "--html", "--embed"]).status, 0)
        let embedded = try String(contentsOfFile: root + "/E.html", encoding: .utf8)
        let uris = embedded.components(separatedBy: "<img src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(uris.count, sources.count)
        XCTAssertTrue(uris.allSatisfy { $0.hasPrefix("data:image/png;base64,") })
        let loss = uris.first { Data(base64Encoded: String($0.dropFirst("data:image/png;base64,".count))) == FileManager.default.contents(atPath: run + "/loss.png") }
        XCTAssertNotNil(loss, "loss.png inlined byte for byte")
    }
}
