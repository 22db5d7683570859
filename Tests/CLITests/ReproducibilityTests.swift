import Foundation
import XCTest

/// Same configuration and seed → the same bits: across runs, thread counts, re-runs from
/// config.json, and interrupted-then-resumed runs.
final class ReproducibilityTests: XCTestCase {
    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// metrics.csv without the wall-clock column.
    func metricsWithoutTime(_ run: String) throws -> [String] {
        try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n").map { line in
            var f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if f.count >= 6 { f.remove(at: 5) }
            return f.joined(separator: ",")
        }
    }

    func assertSameRun(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try bytes(a + "/model.safetensors"), try bytes(b + "/model.safetensors"), "weights differ", file: file, line: line)
        XCTAssertEqual(try metricsWithoutTime(a), try metricsWithoutTime(b), "metrics differ", file: file, line: line)
    }

    func testBitIdenticalAcrossRunsThreadsAndConfigReplay() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "2spirals", "--seed", "7"] + CLI.tinyFit
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/a"]).status, 0)
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/b"]).status, 0)
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/c", "--threads", "1"]).status, 0)
        XCTAssertEqual(try CLI.run(["fit", "--config", dir + "/a/config.json", "--out", dir + "/d"]).status, 0)
        try assertSameRun(dir + "/a", dir + "/b")
        try assertSameRun(dir + "/a", dir + "/c")
        try assertSameRun(dir + "/a", dir + "/d")
        XCTAssertEqual(try bytes(dir + "/a/loss.png").count > 0, true)
        // A different seed really changes the result (the comparison can fail).
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "2spirals", "--seed", "8", "--out", dir + "/e"] + CLI.tinyFit).status, 0)
        XCTAssertNotEqual(try bytes(dir + "/a/model.safetensors"), try bytes(dir + "/e/model.safetensors"))
        // The config records the version, the one `cnf --version` prints.
        let config = try JSONSerialization.jsonObject(with: bytes(dir + "/a/config.json")) as! [String: Any]
        let recorded = (config["provenance"] as? [String: Any])?["cnfVersion"] as? String
        XCTAssertNotNil(recorded)
        let printed = try CLI.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(printed, "cnf " + (recorded ?? "?"))
    }

    /// CNF_KERNELS=blas (all products through OpenBLAS, as before cnf's own kernels): its runs
    /// are as reproducible across thread counts, and it really takes another path (the kernels
    /// sum in another order, so the weights differ in low bits).
    func testBLASPathIsReproducibleAndDistinct() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "moons", "--seed", "2"] + CLI.tinyFit
        let blas = ["CNF_KERNELS": "blas"]
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/b2"], environment: blas).status, 0)
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/b1", "--threads", "1"], environment: blas).status, 0)
        XCTAssertEqual(try CLI.run(["fit", "--config", dir + "/b2/config.json", "--out", dir + "/b3"], environment: blas).status, 0)
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/k"]).status, 0)
        try assertSameRun(dir + "/b2", dir + "/b1")
        try assertSameRun(dir + "/b2", dir + "/b3")
        XCTAssertNotEqual(try bytes(dir + "/b2/model.safetensors"), try bytes(dir + "/k/model.safetensors"))
    }

    /// Interrupted at a fixed iteration (the same path as Ctrl-C), then resumed: the final
    /// weights equal those of an uninterrupted run, bit for bit.
    func testResumeAfterStopIsBitIdentical() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "pinwheel", "--seed", "3"] + CLI.tinyFit
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/whole"]).status, 0)
        let stopped = try CLI.run(args + ["--out", dir + "/parts", "--stop-after", "17"])
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("--resume"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/parts/model.safetensors"))
        let resumed = try CLI.run(["fit", "--resume", "--out", dir + "/parts"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        try assertSameRun(dir + "/whole", dir + "/parts")
    }

    /// A real SIGINT at an arbitrary moment: whatever iteration it lands on, resuming gives the
    /// uninterrupted run's weights. The signal is sent at a fraction of the uninterrupted run's
    /// own wall time (so it lands mid-training on a fast machine as on a slow one), earlier on
    /// each retry if the run still finished first.
    func testResumeAfterSIGINTIsBitIdentical() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "checkerboard", "--seed", "5", "--iters", "2000", "--batch-size", "64",
                    "--dims", "16-16", "--eval-every", "500", "--test-size", "200"]
        let start = Date()
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/whole"]).status, 0)
        let whole = Date().timeIntervalSince(start)
        var stopped = CommandResult(status: 0, stdout: "", stderr: "")
        for fraction in [0.5, 0.3, 0.15] where stopped.status == 0 {
            try? FileManager.default.removeItem(atPath: dir + "/parts")
            stopped = try CLI.run(args + ["--out", dir + "/parts"], interruptAfter: whole * fraction)
        }
        XCTAssertEqual(stopped.status, 130, "the interrupt never landed before the end: " + stopped.stderr)
        let resumed = try CLI.run(["fit", "--resume", "--out", dir + "/parts"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        try assertSameRun(dir + "/whole", dir + "/parts")
    }
}

/// The redesign's promises: an old flat config.json replays as the same run, and the new
/// stateful parts (plateau schedule, weight average, validation) resume bit for bit.
final class ConfigReplayTests: XCTestCase {
    /// The run of `args` stopped after `stopAfter` iterations into DIR/parts and resumed ends
    /// with the weights of the uninterrupted run in DIR/whole (final, EMA and best).
    func stopResumeAndCompare(_ args: [String], dir: String, stopAfter: Int,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let stopped = try CLI.run(args + ["--out", dir + "/parts", "--stop-after", "\(stopAfter)"])
        XCTAssertEqual(stopped.status, 130, stopped.stderr, file: file, line: line)
        let resumed = try CLI.run(["fit", "--resume", "--out", dir + "/parts"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr, file: file, line: line)
        for f in ["model", "ema", "best"] {
            XCTAssertEqual(try CLI.weights(dir + "/whole/\(f).safetensors"), try CLI.weights(dir + "/parts/\(f).safetensors"), f,
                           file: file, line: line)
        }
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testFlatConfigOfVersion01ReplaysAsTheSameRun() throws {
        let dir = CLI.temporaryFolder()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let flat = """
        {"activation":"tanh","atol":1e-05,"batchSize":64,"blocks":1,"chunks":2,"cnfVersion":"0.1.0",
         "dataset":"moons","dims":[16,16],"evalEvery":10,"gradient":"adjoint","iters":30,"jacobian":0,
         "kinetic":0,"layer":"concatsquash","lr":0.001,"lrSchedule":"cosine","maxSteps":10000,
         "noise":"rademacher","precision":"float","rtol":1e-05,"seed":4,"seminorm":true,"solver":"dopri5",
         "testFraction":0.1,"testSize":200,"time":0.5,"trace":"hutchinson","trainTime":false,"weightDecay":1e-05}
        """
        try flat.write(toFile: dir + "/old.json", atomically: true, encoding: .utf8)
        let a = try CLI.run(["fit", "--config", dir + "/old.json", "--out", dir + "/a"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try CLI.run(["fit", "--dataset", "moons", "--seed", "4", "--iters", "30", "--batch-size", "64",
                             "--dims", "16-16", "--blocks", "1", "--atol", "1e-5", "--rtol", "1e-5", "--lr", "0.001",
                             "--lr-schedule", "cosine", "--warmup", "0", "--trace", "hutchinson", "--train-time", "false", "--ema", "0",
                             "--eval-every", "10", "--validation-size", "200", "--validation-fraction", "0", "--out", dir + "/b"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(try bytes(dir + "/a/model.safetensors").count, try bytes(dir + "/b/model.safetensors").count)
        let wa = try CLI.weights(dir + "/a/model.safetensors"), wb = try CLI.weights(dir + "/b/model.safetensors")
        XCTAssertEqual(wa, wb)
        // The migrated run's config.json is in today's layout and loads again.
        let c = try String(contentsOfFile: dir + "/a/config.json", encoding: .utf8)
        XCTAssertTrue(c.contains("\"format\" : 5"), c)
        XCTAssertEqual(try CLI.run(["fit", "--config", dir + "/a/config.json", "--out", dir + "/c"]).status, 0)
        XCTAssertEqual(try CLI.weights(dir + "/c/model.safetensors"), wa)
    }

    /// Plateau schedule (anneal started before the interruption), weight average and best
    /// checkpoint: stopping and resuming gives the uninterrupted run's files.
    func testPlateauAndAverageResumeBitIdentical() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "circles", "--seed", "2", "--iters", "1000", "--batch-size", "64",
                    "--dims", "16-16", "--eval-every", "5", "--validation-size", "100", "--lr", "0.01",
                    "--lr-schedule", "plateau", "--patience", "1", "--min-delta", "10", "--warmup", "3",
                    "--ema", "0.9", "--atol", "1e-3", "--rtol", "1e-3", "--decay", "0", "--min-anneal", "300"]
        // min-delta 10 nats: no validation after the first counts as an improvement, so with
        // patience 1 the anneal starts at the second validation (iteration 10), lasts
        // max(minAnneal 300, ½ · 10) iterations, and — its length fixed (--extend-rate 0) —
        // the run stops at 310 of its 1000.
        let fixed = try CLI.run(args + ["--extend-rate", "0", "--out", dir + "/fixed"])
        XCTAssertEqual(fixed.status, 0, fixed.stderr)
        XCTAssertTrue(fixed.stderr.contains("310 iterations (stopped"), fixed.stderr)
        let rows = try String(contentsOfFile: dir + "/fixed/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 311)
        // With the default extension the anneal is held while validation still falls: the run
        // goes on past 310, and its hold state must survive the interruption below.
        let whole = try CLI.run(args + ["--out", dir + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertTrue(whole.stderr.contains("rate held"), whole.stderr)
        XCTAssertFalse(whole.stderr.contains("310 iterations (stopped"), whole.stderr)
        try stopResumeAndCompare(args, dir: dir, stopAfter: 137)
        XCTAssertNotEqual(try CLI.weights(dir + "/whole/model.safetensors"), try CLI.weights(dir + "/whole/ema.safetensors"))
        // eval can use the average; its report goes beside the final weights' eval.json, which
        // stays as fit wrote it.
        let finalReport = try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/eval.json"))
        let e = try CLI.run(["eval", "--run", dir + "/whole", "--checkpoint", "ema", "--n", "500"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("test NLL"), e.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/eval.json")), finalReport)
        let ema = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/whole/eval-ema.json"))) as! [String: Any]
        XCTAssertEqual(ema["checkpoint"] as? String, "ema")
        XCTAssertEqual(ema["n"] as? Int, 500)
    }

    /// The default schedule (the trend rule ends each rate's phase, the step anneal lowers the
    /// rate): a run interrupted during a lower step resumes to the uninterrupted run's bits.
    func testStepAnnealResumeBitIdentical() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "circles", "--seed", "3", "--iters", "2000", "--batch-size", "64",
                    "--dims", "16-16", "--eval-every", "10", "--validation-size", "100", "--lr", "0.01",
                    "--warmup", "3", "--min-peak", "40", "--min-gain", "0.5", "--window", "3", "--decay", "0.3",
                    "--atol", "1e-3", "--rtol", "1e-3"]
        // min-gain 0.5 nats: each phase ends after its 3 validations (30 iterations) at the latest.
        let whole = try CLI.run(args + ["--out", dir + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let rates = try String(contentsOfFile: dir + "/whole/metrics.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst().map { Double($0.split(separator: ",").last!)! }
        // Four rates (peak and three steps of × 0.3), in order, and the run ended by itself.
        let distinct = rates.reduce(into: [Double]()) { if $0.last != $1 { $0.append($1) } }
        XCTAssertEqual(distinct.suffix(4).map { ($0 / 0.01 * 1000).rounded() / 1000 }, [1, 0.3, 0.09, 0.027])
        XCTAssertLessThan(rates.count, 2000)
        XCTAssertTrue(whole.stderr.contains("step 3 of 3"), whole.stderr)
        let stopAt = rates.count - 20
        try stopResumeAndCompare(args, dir: dir, stopAfter: stopAt)
    }
}

extension CLI {
    /// The tensors of a safetensors file (name → raw bytes), without the metadata (which holds
    /// the configuration, provenance and iteration).
    static func weights(_ path: String) throws -> [String: Data] {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(d.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) })
        let header = try JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as! [String: Any]
        var out: [String: Data] = [:]
        for (name, value) in header where name != "__metadata__" {
            let offsets = (value as! [String: Any])["data_offsets"] as! [Int]
            out[name] = d.subdata(in: (8 + n + offsets[0])..<(8 + n + offsets[1]))
        }
        return out
    }
}
