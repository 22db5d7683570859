import Foundation
import XCTest
import CNFCore
import Flow
import Training
import ToyData
import Persistence

/// README's "Use from Swift" section is this code: the test compiles and runs it, and fails when
/// the README's copy and this one differ.
final class ReadmeExampleTests: XCTestCase {
    func readmeExample() throws -> Double {
        // README:begin
        var config = FitConfig()               // cnf's defaults; change any section
        config.data.dataset = "moons"
        config.training.iters = 300            // a small budget: warm-up, then one cosine anneal
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

    /// Loads a run folder's model, draws samples and computes their log-density.
    func readmeLoadExample(run: String) throws -> (points: [Double], logp: [Double]) {
        // README2:begin
        let path = run + "/model.safetensors"
        let file = try Checkpoint.read(path)
        let config = try Checkpoint.config(of: file, path: path)
        let model = try Checkpoint.model(Float.self, from: file, path: path)

        var rng = Xoshiro256(seed: 7, stream: .sampleBase)
        let base = (0..<(model.dimension * 1_000)).map { _ in rng.normal() }   // z ~ N(0, I)
        let samples = try model.sample(base: base, solve: config.solver)      // t = T → 0
        let logp = try model.logDensity(points: samples.points, generator: &rng, solve: config.solver)
        // README2:end
        return (samples.points, logp.values)
    }

    func testReadmeLoadExampleSamplesAndScores() throws {
        var config = FitConfig()
        config.model.dims = [16, 16]
        let moons = try ToyDataset.named("moons")
        let trainer = Trainer<Float>(config: config, dimension: 2) { rng, n in moons.sample(n, using: &rng) }
        for _ in 0..<20 { _ = try trainer.step() }
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("cnf-readme-\(getpid())").path
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let bytes = try Checkpoint.modelFile(trainer.model, config: config).encoded()
        try Data(bytes).write(to: URL(fileURLWithPath: run + "/model.safetensors"))
        let (points, logp) = try readmeLoadExample(run: run)
        XCTAssertEqual(points.count, 2_000)
        XCTAssertEqual(logp.count, 1_000)
        XCTAssertTrue(logp.allSatisfy { $0.isFinite })
        // The loaded model is the trained one: its log-density of a point equals the trainer's
        // (to the solver's tolerance: a batch of 20 takes other adaptive steps than one of 1 000).
        var g = Xoshiro256(seed: 0)
        let direct = try trainer.model.logDensity(points: Array(points.prefix(40)), generator: &g, solve: config.solver)
        for (a, b) in zip(logp.prefix(20), direct.values) { XCTAssertEqual(a, b, accuracy: 1e-4) }
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
        guard let b2 = source.range(of: "// README2:begin\n"), let e2 = source.range(of: "        // README2:end"),
              let open2 = readme.range(of: "```swift\n", range: close.upperBound..<readme.endIndex),
              let close2 = readme.range(of: "```", range: open2.upperBound..<readme.endIndex) else {
            return XCTFail("README needs a second swift block (loading a run folder)")
        }
        XCTAssertEqual(lines(readme[open2.upperBound..<close2.lowerBound]).filter { !$0.hasPrefix("import ") },
                       lines(source[b2.upperBound..<e2.lowerBound]))
    }
}
