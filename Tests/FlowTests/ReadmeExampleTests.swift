import Foundation
import XCTest
import CNFCore
import Flow
import Training
import ToyData

/// README's "Use from Swift" section is this code: the test compiles and runs it, and fails when
/// the README's copy and this one differ.
final class ReadmeExampleTests: XCTestCase {
    func readmeExample() throws -> Double {
        // README:begin
        var config = FitConfig()               // cnf's defaults; change any section
        config.data.dataset = "moons"
        config.training.iters = 300            // a budget: the plateau schedule may stop earlier
        let moons = try ToyDataset.named("moons")
        let trainer = Trainer<Float>(config: config, dimension: 2) { rng, n in moons.sample(n, using: &rng) }
        while !trainer.isFinished { _ = try trainer.step() }

        // Test NLL on fresh points: exact trace, tight tolerance.
        var rng = Xoshiro256(seed: 1, stream: .test)
        let points = moons.sample(1_000, using: &rng)
        var solve = config.solver
        solve.atol = 1e-8
        solve.rtol = 1e-8
        let logp = try trainer.model.logDensity(points: points, divergence: .exact, generator: &rng, solve: solve)
        let nll = -logp.values.reduce(0, +) / Double(logp.values.count)
        print("test NLL \(nll) nats; entropy floor \(moons.entropyFloor)")
        // README:end
        return nll
    }

    func testReadmeExampleRunsAndLearns() throws {
        let nll = try readmeExample()
        let floor = try ToyDataset.named("moons").entropyFloor
        // No model beats the entropy (1 000 points: s.e. ≈ 0.03), and 300 iterations learn a lot
        // (N(0, I) itself, the untrained flow's neighbourhood, is ≈ 0.9 nats above the floor).
        XCTAssertGreaterThan(nll, floor - 0.1)
        XCTAssertLessThan(nll, floor + 0.4)
    }

    func testReadmeShowsThisCode() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)
        func lines(_ s: Substring) -> [String] {
            s.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        guard let b = source.range(of: "// README:begin\n"), let e = source.range(of: "        // README:end") else {
            return XCTFail("markers missing")
        }
        let code = lines(source[b.upperBound..<e.lowerBound])
        guard let s = readme.range(of: "## Use from Swift"),
              let open = readme.range(of: "```swift\n", range: s.upperBound..<readme.endIndex),
              let close = readme.range(of: "```", range: open.upperBound..<readme.endIndex) else {
            return XCTFail("README has no '## Use from Swift' section with a swift code block")
        }
        let shown = lines(readme[open.upperBound..<close.lowerBound]).filter { !$0.hasPrefix("import ") }
        XCTAssertEqual(shown, code)
    }
}
