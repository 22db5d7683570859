import XCTest
import Foundation
import CNFCore
@testable import ToyData

final class DataReportTests: XCTestCase {
    func normal(_ n: Int, cols: Int, seed: UInt64, scale: Double = 1, names: [String]? = nil) -> DataSet {
        var rng = Xoshiro256(seed: seed)
        return DataSet(rows: n, cols: cols, values: (0..<(n * cols)).map { _ in scale * rng.normal() },
                       source: "data.csv", columnNames: names)
    }

    func check(_ data: DataSet, _ configure: (inout DataReport.Options) -> Void = { _ in }) -> DataReport {
        var o = DataReport.Options()
        configure(&o)
        let report = DataReport.check(data, options: o)
        for d in report.diagnostics {
            XCTAssertFalse(d.message.contains("\n"), "one line: \(d.message)")
            XCTAssert(d.message.hasPrefix("data.csv: "), "names the file: \(d.message)")
        }
        return report
    }

    /// Clean Gaussian data: nothing to say.
    func testCleanDataGivesNoDiagnostics() {
        XCTAssertEqual(check(normal(1000, cols: 3, seed: 1)).diagnostics, [])
    }

    func testConstantColumnIsAnErrorNamingIt() throws {
        var data = normal(200, cols: 3, seed: 2, names: ["a", "b", "c"])
        for i in 0..<200 { data.values[i * 3 + 1] = 4.5 }
        let report = check(data)
        XCTAssertEqual(report.errors.count, 1)
        XCTAssertEqual(report.errors[0].columns, [1])
        XCTAssert(report.errors[0].message.contains("column 2 'b' is constant (every row is 4.5)"), report.errors[0].message)
        XCTAssertThrowsError(try report.throwIfErrors(path: "data.csv")) { e in
            XCTAssertEqual((e as? DataError)?.kind, .constantColumn)
            XCTAssertEqual((e as? DataError)?.column, 2)
        }
        XCTAssertNoThrow(try check(normal(200, cols: 2, seed: 3)).throwIfErrors())
    }

    /// Raw values far from unit scale with --standardize none: a warning; with the default
    /// scaling, none.
    func testRawScaleWithStandardizeNone() {
        let data = normal(500, cols: 2, seed: 4, scale: 3000, names: ["mm", "g"])
        let report = check(data) { $0.standardize = .none }
        XCTAssertTrue(report.has(.rawScale))
        XCTAssert(report.warnings.first { $0.code == .rawScale }!.message.contains("data.standardize scale"))
        XCTAssertFalse(check(data).has(.rawScale))
        XCTAssertFalse(check(normal(500, cols: 2, seed: 4)) { $0.standardize = .none }.has(.rawScale))
    }

    /// A few huge values among Gaussian ones: warn and suggest robust scaling; not when
    /// robust scaling is already chosen.
    func testOutliersSuggestRobustScaling() {
        var data = normal(1000, cols: 2, seed: 5, names: ["x", "y"])
        data.values[2 * 17 + 1] = 80
        let report = check(data)
        let w = report.warnings.first { $0.code == .outliers }
        XCTAssertEqual(w?.columns, [1])
        XCTAssert(w?.message.contains("column 2 'y'") == true && w?.message.contains("data.standardize robust") == true, w?.message ?? "none")
        XCTAssertFalse(check(data) { $0.standardize = .robust }.has(.outliers))
        // Heavy tails: Cauchy-like values (ratio of normals).
        var rng = Xoshiro256(seed: 6)
        let cauchy = DataSet(rows: 1000, cols: 1, values: (0..<1000).map { _ in rng.normal() / rng.normal() }, source: "data.csv")
        XCTAssertTrue(check(cauchy).has(.outliers))
    }

    /// Whole-number columns with repeats: warn about −∞ and offer dequantization with the
    /// bound stated; with --dequantize uniform a note instead; continuous columns: nothing.
    func testIntegerColumns() {
        var rng = Xoshiro256(seed: 7)
        var v = [Double]()
        for _ in 0..<400 { v += [Double(rng.int(below: 10)), rng.normal(), Double(20 + rng.int(below: 80))] }
        let data = DataSet(rows: 400, cols: 3, values: v, source: "data.csv", columnNames: ["count", "z", "minutes"])
        let report = check(data)
        let w = report.warnings.first { $0.code == .integerColumns }
        XCTAssertEqual(w?.columns, [0, 2])
        for fragment in ["column 1 'count', column 3 'minutes'", "−∞", "data.dequantize uniform", "upper bound on the discrete NLL"] {
            XCTAssert(w?.message.contains(fragment) == true, "\(fragment): \(w?.message ?? "none")")
        }
        let dq = check(data) { $0.dequantize = .uniform }
        XCTAssertFalse(dq.has(.integerColumns))
        XCTAssertTrue(dq.has(.dequantizing))
        XCTAssertTrue(check(normal(400, cols: 2, seed: 8)) { $0.dequantize = .uniform }.has(.nothingToDequantize))
        XCTAssertEqual(Dequantizer.detect(data).columns, [0, 2])
        // Distinct whole numbers (an id-like column) do not pile up: no warning.
        let ids = DataSet(rows: 300, cols: 2, values: (0..<300).flatMap { [Double($0), Double($0 * $0 % 97) + 0.5] }, source: "data.csv")
        XCTAssertFalse(check(ids).has(.integerColumns))
    }

    func testFewTrainingRows() {
        let report = check(normal(120, cols: 2, seed: 9)) { $0.trainingRows = 96 }
        let w = report.warnings.first { $0.code == .fewRows }
        XCTAssert(w?.message.contains("only 96 training rows") == true, w?.message ?? "none")
        XCTAssertFalse(check(normal(120, cols: 2, seed: 9)) { $0.trainingRows = 100 }.has(.fewRows))
        // The bar grows with the dimension (50 rows a column): 150 rows are few in 4-D, not in 2-D.
        XCTAssertTrue(check(normal(150, cols: 4, seed: 9)) { $0.trainingRows = 150 }.has(.fewRows))
        XCTAssertFalse(check(normal(200, cols: 4, seed: 9)) { $0.trainingRows = 200 }.has(.fewRows))
    }

    func testDuplicateRowsAreCounted() {
        var data = normal(200, cols: 2, seed: 10)
        // Rows 1, 2, 3 copy row 0; row 5 copies row 4; −0.0 equals +0.0.
        for r in 1...3 { data.values[2 * r] = data.values[0]; data.values[2 * r + 1] = data.values[1] }
        data.values[10] = data.values[8]; data.values[11] = data.values[9]
        data.values[12] = 0; data.values[13] = 1; data.values[14] = -0.0; data.values[15] = 1
        let dup = DataReport.duplicateRows(data)
        XCTAssertEqual(dup.duplicates, 5)
        XCTAssertEqual(dup.repeatedValues, 3)
        let w = check(data).diagnostics.first { $0.code == .duplicates }
        XCTAssertEqual(w?.severity, .warning)
        XCTAssert(w?.message.contains("5 of 200 rows repeat an earlier row (3 distinct rows") == true, w?.message ?? "none")
    }

    func testManyColumnsGetACostLine() {
        let report = check(normal(300, cols: 25, seed: 11))
        let note = report.diagnostics.first { $0.code == .manyColumns }
        XCTAssert(note?.message.contains("25 columns") == true && note?.message.contains("MFLOP") == true, note?.message ?? "none")
        XCTAssertFalse(check(normal(300, cols: 20, seed: 11)).has(.manyColumns))
        // The multiply-adds of 25 → 64 → 64 → 64 → 25 with biases, value + one tangent, batch 100.
        let line = DataReport.costLine(dimension: 25, hidden: [64, 64, 64], batchSize: 100, exactTrace: false)
        let macs = Double(26 * 64 + 65 * 64 + 65 * 64 + 65 * 25)
        XCTAssert(line.contains(formatShort(2 * macs * 100 * 2 / 1e6) + " MFLOP"), line)
    }

    func testErrorsComeFirst() {
        var data = normal(50, cols: 2, seed: 12)
        for i in 0..<50 { data.values[2 * i] = 1 }
        let report = check(data)
        XCTAssertEqual(report.diagnostics.first?.severity, .error)
        XCTAssertEqual(report.diagnostics.map(\.severity), report.diagnostics.map(\.severity).sorted())
        XCTAssertEqual(report.diagnostics.first?.description.hasPrefix("error: data.csv: column 1 is constant"), true)
    }

    // MARK: dequantization

    func testDequantizerAddsUniformNoiseToItsColumnsOnly() {
        let q = Dequantizer(columns: [1], dimension: 2)
        var values = (0..<2000).map { Double($0 % 7) }
        let before = values
        var rng = Xoshiro256(seed: 13)
        q.apply(&values, using: &rng)
        var noise = [Double]()
        for i in 0..<1000 {
            XCTAssertEqual(values[2 * i], before[2 * i])
            let u = values[2 * i + 1] - before[2 * i + 1]
            XCTAssert(u >= 0 && u < 1)
            noise.append(u)
        }
        assertMean(noise, 0.5, "U(0, 1) noise")
        var again = before
        var rng2 = Xoshiro256(seed: 13)
        q.apply(&again, using: &rng2)
        XCTAssertEqual(again, values, "same seed, same noise")
    }

    /// The stated correction: with unit bins, the dequantized NLL −E_u log p(k + u)
    /// upper-bounds the discrete NLL −log ∫₀¹ p(k + u) du, for any density p (Jensen); here
    /// for Gaussians of several widths, by quadrature.
    func testDequantizedNLLBoundsTheDiscreteNLL() {
        for sigma in [0.3, 1.0, 4.0] {
            for k in -3...3 {
                let m = 2000
                var mass = 0.0, meanLog = 0.0
                for q in 0..<m {
                    let x = Double(k) + (Double(q) + 0.5) / Double(m)
                    let logp = -0.5 * x * x / (sigma * sigma) - log(sigma * (2 * Double.pi).squareRoot())
                    mass += exp(logp) / Double(m)
                    meanLog += logp / Double(m)
                }
                XCTAssertLessThanOrEqual(-log(mass), -meanLog + 1e-12, "σ \(sigma), k \(k)")
            }
        }
    }

    func testOptionNames() throws {
        XCTAssertEqual(try Dequantization.named("uniform"), .uniform)
        XCTAssertThrowsError(try Dequantization.named("gauss")) { e in
            XCTAssertEqual("\(e)", "unknown dequantization 'gauss'; known: none, uniform")
        }
    }
}

final class DataSplitTests: XCTestCase {
    func testFractionsDisjointAndComplete() throws {
        let s = try DataSplit(rows: 1000, validationFraction: 0.1, testFraction: 0.1, seed: 3)
        XCTAssertEqual([s.train.count, s.validation.count, s.test.count], [800, 100, 100])
        XCTAssertEqual(Set(s.train + s.validation + s.test), Set(0..<1000))
        XCTAssertEqual((s.train + s.validation + s.test).count, 1000)
        XCTAssertEqual(s.summary(seed: 3), "train 800, validation 100, test 100 rows (shuffled by seed 3)")
        let small = try DataSplit(rows: 7, validationFraction: 0.05, testFraction: 0.05, seed: 0)
        XCTAssertEqual([small.validation.count, small.test.count], [1, 1], "a positive fraction holds out at least one row")
    }

    func testReproducibleFromTheSeed() throws {
        let a = try DataSplit(rows: 500, validationFraction: 0.2, testFraction: 0.1, seed: 42)
        XCTAssertEqual(a, try DataSplit(rows: 500, validationFraction: 0.2, testFraction: 0.1, seed: 42))
        XCTAssertNotEqual(a.test, try DataSplit(rows: 500, validationFraction: 0.2, testFraction: 0.1, seed: 43).test)
    }

    /// Without validation rows the test rows are those of cnf's earlier train/test split
    /// (Fisher–Yates on stream 4, the first round(n·f) held out), and adding validation
    /// rows keeps the test rows.
    func testLegacyTestRowsKept() throws {
        let n = 321, seed: UInt64 = 9
        var order = Array(0..<n)
        var rng = Xoshiro256(seed: seed, stream: 4)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.int(below: i + 1)) }
        let nTest = Int((Double(n) * 0.1).rounded())
        let plain = try DataSplit(rows: n, validationFraction: 0, testFraction: 0.1, seed: seed)
        XCTAssertEqual(plain.test, Array(order[..<nTest]))
        XCTAssertEqual(plain.train, Array(order[nTest...]))
        XCTAssertEqual(plain.validation, [])
        XCTAssertEqual(try DataSplit(rows: n, validationFraction: 0.15, testFraction: 0.1, seed: seed).test, plain.test)
    }

    func testBadFractions() {
        for (v, t, fragment) in [(-0.1, 0.1, "data.validationFraction must be in [0, 1), got -0.1"),
                                 (0.1, 1.0, "data.testFraction must be in [0, 1), got 1.0"),
                                 (0.5, 0.5, "must be below 1"),
                                 (0.3, 0.3, "too few")] {
            let rows = fragment == "too few" ? 2 : 100
            XCTAssertThrowsError(try DataSplit(rows: rows, validationFraction: v, testFraction: t, seed: 0)) { e in
                XCTAssertEqual((e as? DataError)?.kind, .badSplit)
                XCTAssert("\(e)".contains(fragment), "\(e)")
            }
        }
    }

    func testSubsetKeepsNames() {
        let data = DataSet(rows: 3, cols: 2, values: [1, 2, 3, 4, 5, 6], source: "f.csv", columnNames: ["a", "b"])
        let sub = DataSplit.subset(data, [2, 0])
        XCTAssertEqual(sub.values, [5, 6, 1, 2])
        XCTAssertEqual(sub.columnNames, ["a", "b"])
    }
}
