import Foundation
import XCTest

/// scripts/sweep: job lists of `cnf fit` lines, run through GNU parallel, as a Slurm array, and
/// skipped on a rerun once finished.
final class SweepTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var sweep: String { root.appendingPathComponent("scripts/sweep").path }
    /// Tiny fits: a fraction of a second each.
    static let tiny = ["--iters", "20", "--eval-every", "10", "--test-size", "100", "--dims", "16-16", "--batch-size", "64"]

    /// Runs bash with these arguments (CNF set to the built binary), in `cwd` if given.
    @discardableResult
    func bash(_ arguments: [String], env: [String: String] = [:], unset: [String] = [], cwd: String? = nil) throws -> CommandResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["bash"] + arguments
        var e = ProcessInfo.processInfo.environment
        e["CNF"] = CLI.executable.path
        e.removeValue(forKey: "SLURM_ARRAY_TASK_ID")
        for (k, v) in env { e[k] = v }
        for k in unset { e.removeValue(forKey: k) }
        p.environment = e
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CommandResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                             stderr: String(decoding: r, as: UTF8.self))
    }

    func sweep(_ arguments: [String], env: [String: String] = [:]) throws -> CommandResult {
        try bash([Self.sweep] + arguments, env: env)
    }

    func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static var haveParallel: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/parallel")
        }
    }

    /// A safetensors file's tensors (header entries and data bytes) and its run configuration
    /// without the commit it was made at.
    struct Weights: Equatable {
        var tensors: NSDictionary
        var data: Data
        var config: NSDictionary

        init(_ path: String) throws {
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertGreaterThan(file.count, 8, path)
            var length = 0
            for i in 0..<8 { length |= Int(file[file.startIndex + i]) << (8 * i) }
            let headerRange = (file.startIndex + 8)..<(file.startIndex + 8 + length)
            var header = try JSONSerialization.jsonObject(with: file.subdata(in: headerRange)) as! [String: Any]
            let metadata = header.removeValue(forKey: "__metadata__") as? [String: String] ?? [:]
            let config = Self.withoutCommit(try JSONSerialization.jsonObject(with: Data((metadata["cnf.config"] ?? "{}").utf8)))
                as! [String: Any]
            XCTAssertFalse(config.isEmpty, "\(path): no run configuration in the metadata")
            tensors = header as NSDictionary
            data = file.subdata(in: headerRange.upperBound..<file.endIndex)
            self.config = config as NSDictionary
        }

        /// A JSON value without its "gitCommit" keys, at any depth.
        static func withoutCommit(_ value: Any) -> Any {
            guard let d = value as? [String: Any] else { return value }
            return d.filter { $0.key != "gitCommit" }.mapValues(withoutCommit)
        }
    }

    /// metrics.csv without the wall-clock column.
    func metricsWithoutTime(_ run: String) throws -> [String] {
        try lines(run + "/metrics.csv").map { line in
            var f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if f.count >= 6 { f.remove(at: 5) }
            return f.joined(separator: ",")
        }
    }

    static let spec = """
        # three tiny fits
        a-8gaussians --dataset 8gaussians --seed 1
        b-moons --dataset moons --seed 2
        c-rings --dataset rings --seed 3 --trace exact
        """

    /// (a) The job list of a quick sweep, run by GNU parallel two at a time (one thread each),
    /// gives the same bits as the same fits run one by one (two threads each); (4) one tree
    /// gathers the runs for cnf report.
    func testParallelSweepGivesTheSameBitsAsFitsOneByOne() throws {
        guard Self.haveParallel else { throw XCTSkip("GNU parallel is not installed (scripts/install-deps installs it)") }
        let dir = CLI.temporaryFolder()
        try write(Self.spec, to: dir + "/spec.txt")
        let plan = try sweep(["plan", dir + "/tree", dir + "/spec.txt", "--"] + Self.tiny)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        let jobs = try lines(dir + "/tree/jobs.txt")
        XCTAssertEqual(jobs.count, 3, jobs.joined(separator: "\n"))
        for (job, name) in zip(jobs, ["a-8gaussians", "b-moons", "c-rings"]) {
            XCTAssertTrue(job.hasPrefix(CLI.executable.path + " fit --out \(name) --force --threads 1 "), job)
            XCTAssertTrue(job.hasSuffix(" > \(name).log 2>&1"), job)
        }

        let run = try sweep(["run", dir + "/tree", "-j", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("GNU parallel"), run.stderr)
        // parallel's job log: three jobs, all exited 0.
        let log = try lines(dir + "/tree/.sweep/joblog-jobs")
        XCTAssertEqual(log.count, 4, log.joined(separator: "\n"))
        XCTAssertEqual(log.dropFirst().map { $0.split(separator: "\t")[6] }, ["0", "0", "0"])

        let entries = Self.spec.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: " ").map(String.init) }
        for entry in entries {
            let name = entry[0]
            let serial = dir + "/serial/" + name
            let r = try CLI.run(["fit", "--out", serial] + Self.tiny + Array(entry.dropFirst()))
            XCTAssertEqual(r.status, 0, r.stderr)
            let swept = dir + "/tree/" + name
            let a = try Weights(swept + "/model.safetensors"), b = try Weights(serial + "/model.safetensors")
            XCTAssertGreaterThan(a.data.count, 1000)
            XCTAssertEqual(a.tensors, b.tensors, name)
            XCTAssertTrue(a.data == b.data, "\(name): weights differ between the sweep and the fit run by itself")
            XCTAssertEqual(a.config, b.config, name)
            XCTAssertEqual(try metricsWithoutTime(swept), try metricsWithoutTime(serial), name)
        }
        // The runs really differ from one another (the comparison above can fail).
        XCTAssertNotEqual(try Weights(dir + "/tree/a-8gaussians/model.safetensors").data,
                          try Weights(dir + "/tree/b-moons/model.safetensors").data)

        // One tree, one report.
        let report = try CLI.run(["report", "--root", dir + "/tree", "--out", dir + "/tree/SUMMARY.md"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let summary = try String(contentsOfFile: dir + "/tree/SUMMARY.md", encoding: .utf8)
        for name in ["a-8gaussians", "b-moons", "c-rings"] { XCTAssertTrue(summary.contains("| \(name) |"), summary) }
    }

    /// The ssh paths: `scripts/sweep run TREE --sshloginfile hosts.txt` runs the lines on the
    /// listed machines in TREE (a folder they share at the same path); with --transfer each job
    /// runs in a fresh folder there and its run folder and log come back with rsync. Here the
    /// two "machines" are reached through a stand-in for ssh that runs the command on this one,
    /// from its own home folder (so a job there cannot see TREE), with no SHELL in its environment
    /// (as in CI's bare one, where GNU parallel's ssh jobs then ran nothing and reported success).
    func sshSweep(transfer: Bool) throws {
        guard Self.haveParallel else { throw XCTSkip("GNU parallel is not installed (scripts/install-deps installs it)") }
        let dir = CLI.temporaryFolder(transfer ? "sshTransfer" : "sshShared")
        try FileManager.default.createDirectory(atPath: dir + "/home", withIntermediateDirectories: true)
        try write("""
            #!/usr/bin/env bash
            echo "$*" >> "$(dirname "$0")/ssh.log"
            while [ $# -gt 0 ]; do case "$1" in -l|-p|-o) shift 2;; -*) shift;; *) shift; break;; esac; done
            [ "${1:-}" != -- ] || shift
            cd "$HOME"
            exec bash -c "$*"

            """, to: dir + "/fakessh")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/fakessh")
        try write("1/machine-a\n1/machine-b\n", to: dir + "/hosts.txt")
        try write("sub/a --dataset 8gaussians --seed 4\nb --dataset circles\n", to: dir + "/spec.txt")
        XCTAssertEqual(try sweep(["plan", dir + "/tree", dir + "/spec.txt", "--"] + Self.tiny).status, 0)
        let r = try bash([Self.sweep, "run", dir + "/tree", "--sshloginfile", "hosts.txt", "--ssh", dir + "/fakessh"]
                         + (transfer ? ["--transfer"] : []), env: ["HOME": dir + "/home"], unset: ["SHELL"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let hosts = try lines(dir + "/tree/.sweep/joblog-jobs").dropFirst().map { String($0.split(separator: "\t")[1]) }
        XCTAssertEqual(hosts.sorted(), ["machine-a", "machine-b"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ssh.log"))
        for (name, args) in [("sub/a", ["--dataset", "8gaussians", "--seed", "4"]), ("b", ["--dataset", "circles"])] {
            XCTAssertTrue(try String(contentsOfFile: dir + "/tree/\(name).log", encoding: .utf8).contains("test NLL"), name)
            XCTAssertEqual(try CLI.run(["fit", "--out", dir + "/serial/" + name] + Self.tiny + args).status, 0)
            XCTAssertTrue(try Weights(dir + "/tree/\(name)/model.safetensors").data == Weights(dir + "/serial/\(name)/model.safetensors").data, name)
        }
        // Done there: nothing left to run.
        let again = try sweep(["plan", dir + "/tree", dir + "/spec.txt", "--"] + Self.tiny)
        XCTAssertTrue(again.stderr.contains("0 job(s) to run; 2 finished"), again.stderr)
    }

    func testSshLoginFileRunsTheListInTheSharedTree() throws { try sshSweep(transfer: false) }

    func testSshTransferBringsTheRunsBack() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsync") else { throw XCTSkip("rsync is not installed (--transfer needs it)") }
        try sshSweep(transfer: true)
    }

    /// A fit line that exits 0 but leaves no weights (a job that ran nothing, as GNU parallel's
    /// ssh jobs did where SHELL was unset) fails the sweep, naming the run.
    func testJobThatReportsSuccessWithoutWeightsIsAnError() throws {
        let dir = CLI.temporaryFolder()
        try FileManager.default.createDirectory(atPath: dir + "/tree", withIntermediateDirectories: true)
        try write("true --out ghost --force\n", to: dir + "/tree/jobs.txt")
        let r = try sweep(["run", dir + "/tree", "-j", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("1 job(s) reported success but left no") && r.stderr.contains("ghost"), r.stderr)
    }

    /// (c) A rerun skips finished jobs; a job with the configuration of another is copied, not
    /// trained; a changed or unfinished job is planned again.
    func testRerunSkipsFinishedJobsAndCopiesIdenticalConfigurations() throws {
        let dir = CLI.temporaryFolder()
        // c is a's configuration under another name (--seed 0 is the default).
        try write("a --dataset 8gaussians\nb --dataset moons --seed 1\nsub/c --dataset 8gaussians --seed 0\n", to: dir + "/spec.txt")
        let plan = try sweep(["plan", dir + "/tree", dir + "/spec.txt", "--"] + Self.tiny)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stderr.contains("2 job(s) to run; 0 finished already (skipped); 1 to copy"), plan.stderr)
        XCTAssertEqual(try lines(dir + "/tree/jobs.txt").count, 2)
        let run = try sweep(["run", dir + "/tree", "-j", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/tree/a/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/tree/sub/c/model.safetensors")))
        XCTAssertTrue(try String(contentsOfFile: dir + "/tree/sub/c.log", encoding: .utf8)
            .hasPrefix("identical configuration already trained in a: copied"))

        func modified(_ name: String) throws -> Date {
            try FileManager.default.attributesOfItem(atPath: dir + "/tree/\(name)/model.safetensors")[.modificationDate] as! Date
        }
        let before = try ["a", "b", "sub/c"].map(modified)
        Thread.sleep(forTimeInterval: 1.1)

        // Rerun: nothing to do, nothing touched.
        let again = try sweep(["plan", dir + "/tree", dir + "/spec.txt", "--"] + Self.tiny)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("0 job(s) to run; 3 finished already (skipped); 0 to copy"), again.stderr)
        XCTAssertEqual(try lines(dir + "/tree/jobs.txt"), [])
        let rerun = try sweep(["run", dir + "/tree"])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("nothing to run"), rerun.stderr)
        XCTAssertEqual(try ["a", "b", "sub/c"].map(modified), before)
        // Another list (as the experiments' evaluations), named relative to the caller: run in the tree.
        try write("echo extra > extra.txt\n", to: dir + "/tree/extra-jobs.txt")
        let extra = try bash([Self.sweep, "run", "tree", "--list", "tree/extra-jobs.txt"], cwd: dir)
        XCTAssertEqual(extra.status, 0, extra.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/tree/extra.txt", encoding: .utf8), "extra\n")

        // A changed job, and one whose weights are gone (an interrupted run), are planned again.
        try FileManager.default.removeItem(atPath: dir + "/tree/a/model.safetensors")
        try write("a --dataset 8gaussians\nb --dataset moons --seed 1 --lr 0.002\nsub/c --dataset 8gaussians --seed 0\n",
                  to: dir + "/spec.txt")
        let changed = try sweep(["plan", dir + "/tree", dir + "/spec.txt", "--"] + Self.tiny)
        XCTAssertEqual(changed.status, 0, changed.stderr)
        let jobs = try lines(dir + "/tree/jobs.txt")
        XCTAssertEqual(jobs.count, 2, jobs.joined(separator: "\n"))
        XCTAssertTrue(jobs[0].contains("--out a "), jobs[0])
        XCTAssertTrue(jobs[1].contains("--out b ") && jobs[1].contains("--lr 0.002"), jobs[1])
        XCTAssertTrue(changed.stderr.contains("1 finished already"), changed.stderr)
    }

    /// (b) The Slurm array script parses, and task i runs line i of the job list (a frozen copy:
    /// planning again cannot shift the lines of a pending array).
    func testSlurmArrayScriptPicksTheLineOfItsTaskIndex() throws {
        let dir = CLI.temporaryFolder()
        let tree = dir + "/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try write((1...3).map { "echo job-\($0) > picked.txt" }.joined(separator: "\n") + "\n", to: tree + "/jobs.txt")
        let gen = try sweep(["slurm", tree, "--time=00:10:00", "--array-limit", "2"])
        XCTAssertEqual(gen.status, 0, gen.stderr)
        let script = tree + "/sweep.sbatch"
        XCTAssertEqual(try bash(["-n", script]).status, 0)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(text.contains("\n#SBATCH --array=1-3%2\n"), text)
        XCTAssertTrue(text.contains("\n#SBATCH --time=00:10:00\n"), text)
        // Every #SBATCH line comes before the first command (sbatch stops reading them there).
        let body = text.split(separator: "\n").drop { $0.hasPrefix("#") }
        XCTAssertFalse(body.contains { $0.hasPrefix("#SBATCH") }, text)

        try write("echo replanned > picked.txt\n", to: tree + "/jobs.txt")
        for i in [2, 1, 3] {
            let r = try bash([script], env: ["SLURM_ARRAY_TASK_ID": "\(i)"], cwd: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try String(contentsOfFile: tree + "/picked.txt", encoding: .utf8), "job-\(i)\n")
        }
        let past = try bash([script], env: ["SLURM_ARRAY_TASK_ID": "4"])
        XCTAssertNotEqual(past.status, 0)
        XCTAssertTrue(past.stderr.contains("no line 4"), past.stderr)
        XCTAssertNotEqual(try bash([script]).status, 0, "without a task index the script must fail")

        // A real plan: task 2 trains the second job, and only it.
        try write("first --dataset 8gaussians\nsecond --dataset rings\n", to: dir + "/spec.txt")
        XCTAssertEqual(try sweep(["plan", tree, dir + "/spec.txt", "--"] + Self.tiny).status, 0)
        let real = try sweep(["slurm", tree])
        XCTAssertEqual(real.status, 0, real.stderr)
        XCTAssertTrue(try String(contentsOfFile: script, encoding: .utf8).contains("\n#SBATCH --array=1-2\n"))
        XCTAssertEqual(try bash(["-n", script]).status, 0)
        let task = try bash([script], env: ["SLURM_ARRAY_TASK_ID": "2"])
        XCTAssertEqual(task.status, 0, task.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tree + "/second/model.safetensors"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tree + "/first"))
        let config = try String(contentsOfFile: tree + "/second/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"rings\""), config)
    }

    /// A bad job: one error line naming the line and the problem, and the old job list kept.
    func testBadSpecIsOneClearErrorAndKeepsTheJobList() throws {
        let dir = CLI.temporaryFolder()
        try FileManager.default.createDirectory(atPath: dir + "/tree", withIntermediateDirectories: true)
        try write("kept\n", to: dir + "/tree/jobs.txt")
        let cases: [(String, [String])] = [
            ("ok --dataset 8gaussians\nbad --dataset nosuchset\n", ["line 2", "bad", "nosuchset"]),
            ("x --dataset moons --out elsewhere\n", ["line 1", "--out"]),
            ("../up --dataset moons\n", ["line 1", "../up"]),
            ("y --dataset moons\ny --dataset rings\n", ["line 2", "'y' used twice"]),
        ]
        for (spec, fragments) in cases {
            try write(spec, to: dir + "/spec.txt")
            let r = try sweep(["plan", dir + "/tree", dir + "/spec.txt"])
            XCTAssertNotEqual(r.status, 0, spec)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("sweep: error:") }
            XCTAssertEqual(errors.count, 1, r.stderr)
            for f in fragments { XCTAssertTrue(r.stderr.contains(f), "'\(f)' not in: \(r.stderr)") }
            XCTAssertEqual(try String(contentsOfFile: dir + "/tree/jobs.txt", encoding: .utf8), "kept\n")
        }
        let slurm = try sweep(["slurm", dir + "/tree", "--array=1-5"])
        XCTAssertNotEqual(slurm.status, 0)
        XCTAssertTrue(slurm.stderr.contains("--array-limit"), slurm.stderr)
    }

    /// The grid writes every combination as a job line.
    func testGridWritesEveryCombination() throws {
        let r = try sweep(["grid", "dataset=moons,rings", "seed=0,1,2", "--", "--iters", "50"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(out.count, 6)
        XCTAssertEqual(out.first, "dataset-moons_seed-0 --dataset moons --seed 0 --iters 50")
        XCTAssertEqual(out.last, "dataset-rings_seed-2 --dataset rings --seed 2 --iters 50")
        XCTAssertEqual(Set(out).count, 6)
    }
}
