import Foundation
import XCTest

/// Malformed input: one clear error line naming the problem (file, line, value), exit ≠ 0,
/// and no run folder left behind.
final class BadInputTests: XCTestCase {
    func write(_ text: String, _ name: String, in dir: String) -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func testMalformedDataFiles() throws {
        let dir = CLI.temporaryFolder()
        let cases: [(String, String, [String])] = [
            ("x,y\n1,2\n3,abc\n", "nonnumeric.csv", ["nonnumeric.csv", "line 3", "abc"]),
            ("1,2\n3,4,5\n6,7\n", "ragged.csv", ["ragged.csv", "line 2", "3 columns"]),
            ("1,2\nnan,4\n5,6\n", "nan.csv", ["nan.csv", "line 2", "nan"]),
            ("1,2\ninf,4\n", "inf.csv", ["inf.csv", "line 2"]),
            ("", "empty.csv", ["empty.csv"]),
            ("1,2\n", "onerow.csv", ["onerow.csv"]),
            ("1 2\n3 4\n", "points.txt2", ["points.txt2"]),
        ]
        for (text, name, fragments) in cases {
            let path = write(text, name, in: dir)
            let out = dir + "/run-" + name
            let r = try CLI.run(["fit", "--data", path, "--out", out, "--iters", "1"])
            assertOneErrorLine(r, contains: fragments)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(name): a run folder was left behind")
        }
        let missing = try CLI.run(["fit", "--data", dir + "/nope.csv", "--out", dir + "/r"])
        assertOneErrorLine(missing, contains: ["nope.csv"])
    }

    func testUnknownDatasetListsTheKnownOnes() throws {
        let r = try CLI.run(["fit", "--dataset", "spiralz", "--out", CLI.temporaryFolder() + "/r"])
        assertOneErrorLine(r, contains: ["spiralz", "8gaussians", "checkerboard", "swissroll"])
        let d = try CLI.run(["data", "--dataset", "spiralz", "--out", "/tmp/x.csv"])
        assertOneErrorLine(d, contains: ["spiralz", "2spirals"])
    }

    func testBadOptionValues() throws {
        let out = CLI.temporaryFolder() + "/r"
        assertOneErrorLine(try CLI.run(["fit", "--dataset", "moons", "--out", out, "--dims", "64-x"]), contains: ["64-x"])
        assertOneErrorLine(try CLI.run(["fit", "--dataset", "moons", "--out", out, "--rtol=-1"]), contains: ["rtol", "-1"])
        assertOneErrorLine(try CLI.run(["fit", "--dataset", "moons", "--out", out, "--solver", "rk4"]), contains: ["step"])
        assertOneErrorLine(try CLI.run(["fit", "--dataset", "moons", "--out", out, "--batch-size", "0"]), contains: ["batch-size"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testBadRunFolders() throws {
        let dir = CLI.temporaryFolder()
        assertOneErrorLine(try CLI.run(["eval", "--run", dir + "/missing"]), contains: ["missing", "does not exist"])
        assertOneErrorLine(try CLI.run(["render", "--run", dir + "/missing"]), contains: ["does not exist"])
        assertOneErrorLine(try CLI.run(["sample", "--run", dir + "/missing"]), contains: ["does not exist"])

        // A corrupt (truncated) checkpoint is refused with the file's name.
        let run = dir + "/run"
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "rings", "--out", run] + CLI.tinyFit).status, 0)
        let model = run + "/model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: model))
        assertOneErrorLine(try CLI.run(["eval", "--run", run]), contains: ["model.safetensors"])
        assertOneErrorLine(try CLI.run(["sample", "--run", run, "--n", "10"]), contains: ["model.safetensors"])
        // Garbage instead of a header.
        try Data(repeating: 0xFF, count: 64).write(to: URL(fileURLWithPath: model))
        assertOneErrorLine(try CLI.run(["render", "--run", run, "--grid", "16"]), contains: ["model.safetensors"])
    }

    func testUnwritableOutputPath() throws {
        let run = CLI.temporaryFolder() + "/run"
        XCTAssertEqual(try CLI.run(["fit", "--dataset", "circles", "--out", run] + CLI.tinyFit).status, 0)
        let r = try CLI.run(["sample", "--run", run, "--n", "100", "--out", "/nonexistent-folder/s.npy"])
        assertOneErrorLine(r, contains: ["/nonexistent-folder/s.npy"])
    }
}

final class TrainingFailureTests: XCTestCase {
    /// A solver failure mid-training stops the run with the iteration and what to try, and
    /// leaves the last good state as a readable checkpoint.
    func testSolverFailureStopsWithACheckpoint() throws {
        let run = CLI.temporaryFolder() + "/run"
        let r = try CLI.run(["fit", "--dataset", "8gaussians", "--out", run, "--max-steps", "1"] + CLI.tinyFit)
        assertOneErrorLine(r, contains: ["iteration 1", "max steps (1) reached at t=", "checkpoint.safetensors"])
        let resume = try CLI.run(["fit", "--resume", "--out", run])
        // The checkpoint is readable (the resumed run fails the same way, at the same place).
        assertOneErrorLine(resume, contains: ["iteration 1", "max steps (1)"])
    }
}
