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
        // The config records the version.
        let config = try String(contentsOfFile: dir + "/a/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"cnfVersion\""))
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
    /// uninterrupted run's weights.
    func testResumeAfterSIGINTIsBitIdentical() throws {
        let dir = CLI.temporaryFolder()
        let args = ["fit", "--dataset", "checkerboard", "--seed", "5", "--iters", "2000", "--batch-size", "64",
                    "--dims", "16-16", "--eval-every", "500", "--test-size", "200"]
        XCTAssertEqual(try CLI.run(args + ["--out", dir + "/whole"]).status, 0)
        let stopped = try CLI.run(args + ["--out", dir + "/parts"], interruptAfter: 0.8)
        if stopped.status == 0 {
            throw XCTSkip("the run finished before the interrupt arrived")
        }
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        let resumed = try CLI.run(["fit", "--resume", "--out", dir + "/parts"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        try assertSameRun(dir + "/whole", dir + "/parts")
    }
}
