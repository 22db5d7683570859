import Foundation
import XCTest
@testable import cnf

final class FitCommandTests: XCTestCase {
    func testDataThenFitOnCSVWritesTheRunFolder() throws {
        let dir = CLI.temporaryFolder()
        let csv = dir + "/moons.csv"
        let d = try CLI.run(["data", "--dataset", "moons", "--n", "600", "--seed", "3", "--out", csv])
        XCTAssertEqual(d.status, 0, d.stderr)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 601)
        XCTAssertEqual(lines.first, "x,y")

        let run = dir + "/run"
        let r = try CLI.run(["fit", "--data", csv, "--out", run] + CLI.tinyFit)
        XCTAssertEqual(r.status, 0, r.stderr)
        for f in ["config.json", "model.safetensors", "best.safetensors", "checkpoint.safetensors", "metrics.csv", "eval.json", "loss.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + f), "missing \(f)")
        }
        let metrics = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 31)
        XCTAssertEqual(metrics[0], "iteration,loss,nll,nfe_forward,nfe_backward,seconds,val_nll,lr")
        let eval = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/eval.json"))) as! [String: Any]
        for key in ["nll", "nll_stderr", "bits_per_dim", "n", "nfe"] { XCTAssertNotNil(eval[key], key) }
        XCTAssertEqual(eval["n"] as? Int, 60, "a file run is evaluated on its held-out 10 %")
        // Refuses to overwrite a run without --force.
        let again = try CLI.run(["fit", "--data", csv, "--out", run] + CLI.tinyFit)
        assertOneErrorLine(again, contains: ["already holds a run"])
    }

    func testEvalReportsNatsBitsAndFloor() throws {
        let run = CLI.temporaryFolder() + "/run"
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "8gaussians", "--out", run] + CLI.tinyFit).status, 0)
        let r = try CLI.run(["eval", "--run", run, "--n", "500", "--json", "--per-point", run + "/pp.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let nll = j["nll"] as! Double, bits = j["bits_per_dim"] as! Double
        XCTAssertEqual(bits, nll / (2 * log(2.0)), accuracy: 1e-12)
        XCTAssertEqual(j["entropy_floor"] as! Double, 2.831, accuracy: 1e-9)
        XCTAssertEqual(j["gap"] as! Double, nll - 2.831, accuracy: 1e-9)
        XCTAssertEqual(j["n"] as? Int, 500)
        XCTAssertGreaterThan(j["nll_stderr"] as! Double, 0)
        // Per-point log p averages to −NLL.
        let rows = try String(contentsOfFile: run + "/pp.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let logp = rows.map { Double($0.split(separator: ",").last!)! }
        XCTAssertEqual(logp.count, 500)
        XCTAssertEqual(-logp.reduce(0, +) / 500, nll, accuracy: 1e-9)
        // eval.json on disk matches.
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/eval.json"))
    }

    func testEveryCommandHasHelpWithAnExample() throws {
        for command in ["fit", "eval", "sample", "render", "data"] {
            let r = try CLI.run([command, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.contains("xample"), "\(command) --help has no example")
        }
    }
}

/// The end-of-fit overfitting warning: a real rise of the validation NLL, not noise.
final class OverfittingWarningTests: XCTestCase {
    /// iris (120 training rows in 4-D) overfits within a few hundred iterations: the default
    /// schedule stops on it, says so, and model.safetensors is the validation-chosen weights;
    /// with --overfit-rise 0 the run goes on past that point.
    func testOverfittingStopKeepsTheBestWeights() throws {
        let iris = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("toy-data/real/iris.csv").path
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--data", iris, "--blocks", "1", "--dims", "32-32"]
        let r = try CLI.run(args + ["--out", dir + "/stop"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("stopped: overfitting"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/stop/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/stop/best.safetensors")))
        let stopped = try String(contentsOfFile: dir + "/stop/metrics.csv", encoding: .utf8).split(separator: "\n").count - 1
        let o = try CLI.run(args + ["--out", dir + "/on", "--overfit-rise", "0"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertFalse(o.stderr.contains("stopped: overfitting"), o.stderr)
        let ran = try String(contentsOfFile: dir + "/on/metrics.csv", encoding: .utf8).split(separator: "\n").count - 1
        XCTAssertGreaterThan(ran, stopped)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/on/model.safetensors")),
                          try Data(contentsOf: URL(fileURLWithPath: dir + "/on/best.safetensors")))
    }

    func testWarnsOnARiseAboveNoiseOnly() {
        // iris with the default recipe: best 2.59, final 5.15.
        XCTAssertEqual(try XCTUnwrap(FitRun<Float>.overfitting(last: 5.15, best: 2.59)), 2.56, accuracy: 1e-12)
        XCTAssertNil(FitRun<Float>.overfitting(last: 2.8394, best: 2.8390))   // the toy sets' wobble
        XCTAssertNil(FitRun<Float>.overfitting(last: 30.2, best: 29.9))       // 0.3 nats of 30: 1 %
        XCTAssertNotNil(FitRun<Float>.overfitting(last: 31, best: 29.9))
        XCTAssertNil(FitRun<Float>.overfitting(last: .nan, best: 2.5))
        XCTAssertNil(FitRun<Float>.overfitting(last: 2.5, best: .infinity))   // no validation set
    }
}
