import Foundation
import XCTest

/// A user's data in its own units, through the built `cnf`: standardization inside the model
/// (closed form, exact shifts, agreement with pre-standardized data), the split, the data
/// checks' messages, baselines and the entropy estimate in eval.json, corner plots for d > 2.
final class RealDataTests: XCTestCase {
    // MARK: Helpers

    /// A seeded normal generator (Box–Muller on a 64-bit LCG), independent of cnf's own.
    struct Normals {
        var state: UInt64
        mutating func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) * 0x1p-53
        }
        mutating func next() -> Double {
            (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        }
    }

    /// n rows of (offset + scale ⊙ L u), u ~ N(0, I₂), L = (1, 0; 0.6, 0.8): correlation 0.6.
    func gaussianRows(_ n: Int, offset: (Double, Double) = (0, 0), scale: (Double, Double) = (1, 1), seed: UInt64 = 1) -> [[Double]] {
        var g = Normals(state: seed)
        return (0..<n).map { _ in
            let a = g.next(), b = g.next()
            return [offset.0 + scale.0 * a, offset.1 + scale.1 * (0.6 * a + 0.8 * b)]
        }
    }

    @discardableResult
    func writeCSV(_ rows: [[Double]], header: [String]? = nil, to path: String) -> String {
        var text = header.map { $0.joined(separator: ",") + "\n" } ?? ""
        for r in rows { text += r.map { "\($0)" }.joined(separator: ",") + "\n" }
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func evalJSON(_ run: String) throws -> [String: Any] {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: run + "/eval.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A safetensors file's metadata and its tensor bytes (everything after the header).
    func safetensors(_ path: String) throws -> (metadata: [String: String], tensorBytes: Data) {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let n = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
        return ((header["__metadata__"] as? [String: String]) ?? [:], data.subdata(in: (8 + n)..<data.count))
    }

    @discardableResult
    func fit(_ data: String, _ out: String, _ extra: [String] = []) throws -> CommandResult {
        let r = try CLI.run(["fit", "--data", data, "--out", out] + CLI.tinyFit + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r
    }

    /// d·ln… closed form of N(μ, Σ): ½ log det(2πe Σ), for the rows above.
    func entropy(scale: (Double, Double)) -> Double {
        // det Σ = (s₁ s₂ · 0.8)²
        1 + log(2 * Double.pi) + log(abs(scale.0 * scale.1) * 0.8)
    }

    // MARK: 1. Standardization inside the model

    /// With T = 10⁻⁶ the flow is the identity (to ~10⁻⁶ nats), so `--standardize whiten` makes
    /// the model the Gaussian fitted on the training rows: its test NLL in raw units must match
    /// the true Gaussian's closed-form entropy within 3 standard errors, whatever the offset
    /// and scale; and the eval's Gaussian baseline (same fit, divisor n instead of n − 1)
    /// within 0.01 nats of it.
    func testGaussianNLLMatchesClosedFormInRawUnits() throws {
        let dir = CLI.temporaryFolder()
        for (k, (offset, scale)) in [((0.0, 0.0), (1.0, 1.0)), ((1e4, -3.0), (1000.0, 0.01))].enumerated() {
            let path = writeCSV(gaussianRows(4000, offset: offset, scale: scale), to: dir + "/g\(k).csv")
            let run = dir + "/run\(k)"
            let r = try CLI.run(["fit", "--data", path, "--out", run, "--iters", "0", "--time", "1e-6", "--standardize", "whiten"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let e = try evalJSON(run)
            let nll = try XCTUnwrap(e["nll"] as? Double), se = try XCTUnwrap(e["nll_stderr"] as? Double)
            let truth = entropy(scale: scale)
            XCTAssertLessThan(abs(nll - truth), 3 * se, "offset \(offset) scale \(scale): NLL \(nll) ± \(se), closed form \(truth)")
            XCTAssertEqual(try XCTUnwrap(e["gaussian_nll"] as? Double), nll, accuracy: 0.01)
            XCTAssertEqual(e["n"] as? Int, 400)
        }
    }

    /// Multiplying every column by 1000 shifts the reported NLL (eval and validation) by
    /// d·ln 1000: standardization hands the flow the same numbers, so the same fit follows.
    func testTimes1000ShiftsNLLByDLn1000() throws {
        let dir = CLI.temporaryFolder()
        let rows = gaussianRows(600, offset: (3, -1), scale: (2, 0.5))
        let a = writeCSV(rows, to: dir + "/a.csv")
        let b = writeCSV(rows.map { $0.map { $0 * 1000 } }, to: dir + "/b.csv")
        try fit(a, dir + "/ra")
        try fit(b, dir + "/rb")
        let na = try XCTUnwrap(try evalJSON(dir + "/ra")["nll"] as? Double)
        let nb = try XCTUnwrap(try evalJSON(dir + "/rb")["nll"] as? Double)
        XCTAssertEqual(nb - na, 2 * log(1000.0), accuracy: 1e-9, "NLL \(na) → \(nb)")   // measured: 3e-14
        let ga = try XCTUnwrap(try evalJSON(dir + "/ra")["mixture_nll"] as? Double)
        let gb = try XCTUnwrap(try evalJSON(dir + "/rb")["mixture_nll"] as? Double)
        XCTAssertEqual(gb - ga, 2 * log(1000.0), accuracy: 1e-9)
    }

    /// A fit on raw data with `--standardize scale` and a fit with `--standardize none` on the
    /// same rows standardized by the map the first run stored: identical weights, and NLLs
    /// that differ by exactly log|det A|.
    func testPreStandardizedAndStandardizedFitsAgree() throws {
        let dir = CLI.temporaryFolder()
        let rows = gaussianRows(500, offset: (50, 7), scale: (20, 3))
        let raw = writeCSV(rows, to: dir + "/raw.csv")
        try fit(raw, dir + "/raw", ["--standardize", "scale"])
        let (meta, rawTensors) = try safetensors(dir + "/raw/model.safetensors")
        let json = try XCTUnwrap(meta["cnf.standardizer"])
        let map = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let centre = try XCTUnwrap(map["center"] as? [Double]), scale = try XCTUnwrap(map["scale"] as? [Double])
        XCTAssertEqual(map["method"] as? String, "scale")
        // The same arithmetic as the standardizer: (x − c) / s.
        let pre = writeCSV(rows.map { r in (0..<2).map { (r[$0] - centre[$0]) / scale[$0] } }, to: dir + "/pre.csv")
        try fit(pre, dir + "/pre", ["--standardize", "none"])
        let (preMeta, preTensors) = try safetensors(dir + "/pre/model.safetensors")
        XCTAssertNil(preMeta["cnf.standardizer"])
        XCTAssertEqual(rawTensors, preTensors, "the two fits saw different numbers")
        let logDet = -log(scale[0]) - log(scale[1])
        let nRaw = try XCTUnwrap(try evalJSON(dir + "/raw")["nll"] as? Double)
        let nPre = try XCTUnwrap(try evalJSON(dir + "/pre")["nll"] as? Double)
        XCTAssertEqual(nRaw, nPre - logDet, accuracy: 1e-9)
        // The config records the choice; a file run without --standardize gets scale.
        let config = try String(contentsOfFile: dir + "/raw/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"standardize\" : \"scale\""), config)
        let dry = try CLI.run(["fit", "--data", raw, "--out", dir + "/x", "--dry-run"])
        XCTAssertTrue(dry.stdout.contains("\"standardize\" : \"scale\""), dry.stdout)
        // Samples come out in the data's units.
        let s = try CLI.run(["sample", "--run", dir + "/raw", "--n", "2000", "--frames", "2", "--out", dir + "/s.csv"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let lines = try String(contentsOfFile: dir + "/s.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let first = lines.compactMap { Double($0.split(separator: ",")[0]) }
        let mean = first.reduce(0, +) / Double(first.count)
        XCTAssertEqual(mean, 50, accuracy: 5, "samples are not in the data's units")
    }

    /// Toy sets are never standardized: asking is an error.
    func testStandardizeIsRefusedForToySets() throws {
        let r = try CLI.run(["fit", "--dataset", "moons", "--out", CLI.temporaryFolder() + "/r", "--standardize", "scale"])
        assertOneErrorLine(r, contains: ["--standardize", "--data"])
    }

    // MARK: 2. Splits

    /// The test rows never reach training or checkpoint choice: two files that differ only
    /// in their test rows give bit-identical weights, best checkpoints and metrics; only the
    /// eval differs. The fractions are recorded in config.json.
    func testTestRowsOnlyReachEval() throws {
        let dir = CLI.temporaryFolder()
        let rows = gaussianRows(300, offset: (1, 2), scale: (1, 1))
        let a = writeCSV(rows, to: dir + "/a.csv")
        try fit(a, dir + "/ra", ["--test-fraction", "0.2", "--validation-fraction", "0.15"])
        let config = try String(contentsOfFile: dir + "/ra/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"testFraction\" : 0.2") && config.contains("\"validationFraction\" : 0.15"), config)
        // Which rows are the test rows: eval's per-point file lists them in order.
        let pp = try CLI.run(["eval", "--run", dir + "/ra", "--per-point", dir + "/pp.csv"])
        XCTAssertEqual(pp.status, 0, pp.stderr)
        let testRows = try String(contentsOfFile: dir + "/pp.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").prefix(2).map { Double($0)! } }
        XCTAssertEqual(testRows.count, 60)
        let testSet = Set(testRows.map { "\($0)" })
        let changed = rows.map { testSet.contains("\($0)") ? [$0[0] + 5, $0[1] - 5] : $0 }
        XCTAssertEqual(zip(rows, changed).filter { $0.0 != $0.1 }.count, 60)
        let b = writeCSV(changed, to: dir + "/b.csv")
        try fit(b, dir + "/rb", ["--test-fraction", "0.2", "--validation-fraction", "0.15"])
        for file in ["model", "best"] {
            XCTAssertEqual(try safetensors(dir + "/ra/\(file).safetensors").tensorBytes,
                           try safetensors(dir + "/rb/\(file).safetensors").tensorBytes, file)
        }
        func metrics(_ run: String) throws -> [String] {
            try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != 5 }.map { String($0.element) }.joined(separator: ",") }
        }
        XCTAssertEqual(try metrics(dir + "/ra"), try metrics(dir + "/rb"))
        XCTAssertNotEqual(try evalJSON(dir + "/ra")["nll"] as? Double, try evalJSON(dir + "/rb")["nll"] as? Double)
    }

    // MARK: 3. Data a user has

    func lines(_ r: CommandResult, _ prefix: String) -> [String] {
        r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    func testConstantColumnIsRefusedByName() throws {
        let dir = CLI.temporaryFolder()
        let path = writeCSV(gaussianRows(200).map { [$0[0], 4, $0[1]] }, header: ["a", "b", "c"], to: dir + "/c.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--iters", "1"])
        assertOneErrorLine(r, contains: ["column 2 'b'", "constant"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r"), "a run folder was left behind")
    }

    func testOutliersWarnAndOfferRobustScaling() throws {
        let dir = CLI.temporaryFolder()
        var rows = gaussianRows(300)
        rows[7][1] = 1e6
        let path = writeCSV(rows, to: dir + "/o.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let w = lines(r, "cnf: warning:").filter { $0.contains("outliers") }
        XCTAssertEqual(w.count, 1, r.stderr)
        XCTAssertTrue(w.first?.contains("--standardize robust") == true, r.stderr)
        let robust = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run", "--standardize", "robust"])
        XCTAssertTrue(lines(robust, "cnf: warning:").filter { $0.contains("outliers") }.isEmpty, robust.stderr)
        XCTAssertTrue(robust.stderr.contains("standardize robust: x → (x − median)"), robust.stderr)
    }

    func testRawScaleWithoutStandardizationWarns() throws {
        let dir = CLI.temporaryFolder()
        let path = writeCSV(gaussianRows(300, offset: (5000, 0), scale: (800, 1)), to: dir + "/raw.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run", "--standardize", "none"])
        XCTAssertEqual(lines(r, "cnf: warning:").filter { $0.contains("far from unit scale") && $0.contains("--standardize scale") }.count, 1, r.stderr)
    }

    /// Whole-number columns: a warning offering --dequantize uniform; with it, the column is
    /// dequantized in fit and eval and the eval states what the NLL then means.
    func testIntegerColumnsWarnAndDequantize() throws {
        let dir = CLI.temporaryFolder()
        var g = Normals(state: 3)
        let rows = gaussianRows(400).map { [$0[0], Double(Int(3 + 2 * g.uniform() * 4))] }
        let path = writeCSV(rows, header: ["x", "count"], to: dir + "/i.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run"])
        let w = lines(r, "cnf: warning:").filter { $0.contains("whole numbers") }
        XCTAssertEqual(w.count, 1, r.stderr)
        XCTAssertTrue(w[0].contains("column 2 'count'") && w[0].contains("--dequantize uniform"), w[0])
        let f = try fit(path, dir + "/dq", ["--dequantize", "uniform"])
        XCTAssertTrue(f.stderr.contains("dequantizing columns 2 by U(0, 1)"), f.stderr)
        let config = try String(contentsOfFile: dir + "/dq/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"dequantize\" : \"uniform\""), config)
        let e = try CLI.run(["eval", "--run", dir + "/dq"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("dequantized: columns 2") && e.stdout.contains("upper bound on the discrete NLL"), e.stdout)
        XCTAssertEqual(try evalJSON(dir + "/dq")["dequantized_columns"] as? [Int], [2])
    }

    func testFewRowsWarnAndSayWhatTheDefaultsDo() throws {
        let dir = CLI.temporaryFolder()
        let path = writeCSV(gaussianRows(60), to: dir + "/few.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run"])
        let w = lines(r, "cnf: warning:").filter { $0.contains("only 48 training rows") }
        XCTAssertEqual(w.count, 1, r.stderr)
        XCTAssertTrue(w[0].contains("best.safetensors") && w[0].contains("stops"), w[0])
    }

    func testDuplicatesAreCounted() throws {
        let dir = CLI.temporaryFolder()
        var rows = gaussianRows(300)
        for i in 0..<12 { rows[100 + i] = rows[i] }
        let path = writeCSV(rows, to: dir + "/dup.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run"])
        XCTAssertTrue(r.stderr.contains("12 of 300 rows repeat an earlier row"), r.stderr)
    }

    func testMissingValuesRefusedWithLineAndColumnOrDropped() throws {
        let dir = CLI.temporaryFolder()
        var text = "a,b\n"
        for (i, r) in gaussianRows(200).enumerated() { text += i == 2 ? "\(r[0]),NA\n" : "\(r[0]),\(r[1])\n" }
        let path = dir + "/m.csv"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--iters", "1"])
        assertOneErrorLine(r, contains: ["m.csv line 4", "column 2", "NA", "--drop-missing"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r"))
        let d = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run", "--drop-missing"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stderr.contains("cnf: note: \(path): left out 1 of 200 rows with missing values (first at line 4)"), d.stderr)
        XCTAssertTrue(d.stdout.contains("\"dropMissing\" : true"), d.stdout)
    }

    func testManyColumnsStateTheCostFirst() throws {
        let dir = CLI.temporaryFolder()
        var g = Normals(state: 5)
        let rows = (0..<300).map { _ in (0..<25).map { _ in g.next() } }
        let path = writeCSV(rows, to: dir + "/wide.csv")
        let r = try CLI.run(["fit", "--data", path, "--out", dir + "/r", "--dry-run"])
        let notes = lines(r, "cnf: note:").filter { $0.contains("25 columns") && $0.contains("MFLOP") }
        XCTAssertEqual(notes.count, 1, r.stderr)
    }

    // MARK: 4, 5. Pictures for d > 2; baselines and the estimate

    /// A 3-column run: eval.json holds both baselines and the estimate in snake_case, in data
    /// units; render and sample write corner plots.
    func testThreeColumnRunGetsBaselinesAndCornerPlots() throws {
        let dir = CLI.temporaryFolder()
        var g = Normals(state: 9)
        let rows = gaussianRows(500, offset: (100, 0), scale: (10, 1)).map { $0 + [g.next() * 0.1 + $0[1]] }
        let path = writeCSV(rows, header: ["mass", "length", "width"], to: dir + "/three.csv")
        try fit(path, dir + "/r")
        let e = try evalJSON(dir + "/r")
        for key in ["gaussian_nll", "gaussian_nll_stderr", "mixture_nll", "mixture_nll_stderr", "mixture_components",
                    "entropy_floor_stderr", "entropy_floor_rows", "log_abs_det_standardize"] {
            XCTAssertNotNil(e[key], "eval.json lacks \(key): \(e.keys.sorted())")
        }
        XCTAssertEqual(e["entropy_floor_rows"] as? Int, 500)
        XCTAssertEqual(e["standardize"] as? String, "scale")
        let ev = try CLI.run(["eval", "--run", dir + "/r"])
        XCTAssertTrue(ev.stdout.contains("baseline: full-covariance Gaussian") && ev.stdout.contains("baseline: Gaussian mixture")
                      && ev.stdout.contains("an estimate"), ev.stdout)
        let rr = try CLI.run(["render", "--run", dir + "/r", "--samples", "3000"])
        XCTAssertEqual(rr.status, 0, rr.stderr)
        let s = try CLI.run(["sample", "--run", dir + "/r", "--n", "3000", "--frames", "3"])
        XCTAssertEqual(s.status, 0, s.stderr)
        for png in ["compare.png", "samples.png", "sequence.png", "sequence/frame_000.png", "sequence/frame_002.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/r/" + png)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 1000, png)
        }
        XCTAssertTrue(try String(contentsOfFile: dir + "/r/samples.npy", encoding: .isoLatin1).hasPrefix("\u{93}NUMPY"))
    }

    /// Too few rows for d: the estimate is withheld with the reason, in eval.json and the report.
    func testEstimateWithheldOnFewRows() throws {
        let dir = CLI.temporaryFolder()
        var g = Normals(state: 11)
        let rows = (0..<150).map { _ in (0..<4).map { _ in g.next() } }
        try fit(writeCSV(rows, to: dir + "/small.csv"), dir + "/r")
        let e = try evalJSON(dir + "/r")
        XCTAssertNil(e["entropy_floor"])
        XCTAssertTrue((e["entropy_floor_withheld"] as? String)?.contains("too few rows") == true, "\(e)")
        XCTAssertNotNil(e["mixture_nll"])
    }
}
