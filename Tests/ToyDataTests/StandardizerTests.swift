import XCTest
import Foundation
import CNFCore
@testable import ToyData

final class StandardizerTests: XCTestCase {
    /// n rows of x = offset + scale · (μ + C ε), ε ~ N(0, I), C lower triangular (row-major).
    func gaussian(_ n: Int, mean: [Double], c: [Double], offset: Double = 0, scale: Double = 1,
                  seed: UInt64) -> DataSet {
        let d = mean.count
        var rng = Xoshiro256(seed: seed)
        var v = [Double]()
        for _ in 0..<n {
            let e = (0..<d).map { _ in rng.normal() }
            for i in 0..<d {
                var x = mean[i]
                for k in 0...i { x += c[i * d + k] * e[k] }
                v.append(offset + scale * x)
            }
        }
        return DataSet(rows: n, cols: d, values: v, source: "gauss", columnNames: (0..<d).map { "c\($0)" })
    }

    /// The per-point NLL in data units of the ideal flow on standardized data, the
    /// standard normal: −log N(z; 0, I) − log|det A|.
    func nlls(_ s: Standardizer, _ data: DataSet) -> [Double] {
        let z = s.standardize(data.values)
        let d = data.cols
        let logN = (0..<data.rows).map { i -> Double in
            var q = 0.0
            for j in 0..<d { q += z[i * d + j] * z[i * d + j] }
            return -0.5 * q - 0.5 * Double(d) * log(2 * Double.pi)
        }
        return s.dataLogDensity(logN).map { -$0 }
    }

    func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

    let diagC: [Double] = [2, 0, 0,
                           0, 0.5, 0,
                           0, 0, 7]
    let corrC: [Double] = [2, 0, 0,
                           1.5, 0.5, 0,
                           -3, 2, 7]

    /// Closed form: the expected NLL of N(μ, s² C Cᵀ) under its own density is its entropy,
    /// (d/2)(1 + ln 2π) + Σ ln|C_jj| + d ln s. Standardizing and scoring with N(0, I)
    /// recovers it in data units, within 4 standard errors, for any offset and scale; per-column
    /// scaling on independent columns, whitening on correlated ones. (Robust scaling on a
    /// Gaussian gets an estimate of σ from the IQR, off by ~1 % at n = 20 000, which costs
    /// ~10⁻⁴ nats; allowed for.)
    func testGaussianNLLMatchesClosedFormInRawUnits() throws {
        let mu = [3.0, -1.0, 10.0]
        for (method, c) in [(Standardizer.Method.scale, diagC), (.robust, diagC), (.whiten, corrC)] {
            for (offset, scale) in [(0.0, 1.0), (1e4, 1.0), (0.0, 1e-3), (-500.0, 1000.0)] {
                let train = gaussian(20_000, mean: mu, c: c, offset: offset, scale: scale, seed: 1)
                let test = gaussian(20_000, mean: mu, c: c, offset: offset, scale: scale, seed: 2)
                let s = try Standardizer.fit(train, method: method)
                let values = nlls(s, test)
                let e = MeanEstimate(values)
                let h = 1.5 * (1 + log(2 * Double.pi)) + log(2.0) + log(0.5) + log(7.0) + 3 * log(scale)
                let allowance = method == .robust ? 0.002 : 0
                XCTAssertLessThan(abs(e.mean - h), 4 * e.standardError + allowance,
                                  "\(method) offset \(offset) scale \(scale): NLL \(e.mean) ± \(e.standardError), closed form \(h)")
            }
        }
    }

    /// Multiplying every column by 1000 shifts the NLL by exactly d·ln 1000; adding a constant
    /// leaves it unchanged (to rounding), for every method.
    func testScaleShiftsNLLByDLn1000AndOffsetsDoNothing() throws {
        let base = gaussian(5000, mean: [1, 2, 3], c: corrC, seed: 3)
        let scaled = DataSet(rows: base.rows, cols: 3, values: base.values.map { $0 * 1000 }, source: "x1000")
        let shifted = DataSet(rows: base.rows, cols: 3, values: base.values.map { $0 + 250 }, source: "+250")
        for method in [Standardizer.Method.scale, .robust, .whiten] {
            let nll = mean(nlls(try Standardizer.fit(base, method: method), base))
            let nllScaled = mean(nlls(try Standardizer.fit(scaled, method: method), scaled))
            let nllShifted = mean(nlls(try Standardizer.fit(shifted, method: method), shifted))
            XCTAssertEqual(nllScaled - nll, 3 * log(1000.0), accuracy: 1e-9, "\(method)")
            XCTAssertEqual(nllShifted, nll, accuracy: 1e-9, "\(method)")
        }
        // `none` is the identity: the NLL of N(0, I) on raw numbers moves by the data, not the map.
        let none = try Standardizer.fit(base, method: .none)
        XCTAssertTrue(none.isIdentity)
        XCTAssertEqual(none.logAbsDetJacobian, 0)
        XCTAssertEqual(none.standardize(base.values), base.values)
    }

    /// Per-column maps give each column mean 0 / std 1 (scale) or median 0 / IQR 1.349
    /// (robust) on the training rows; whitening gives the identity covariance.
    func testStandardizedMoments() throws {
        let data = gaussian(4000, mean: [5, -7, 100], c: corrC, offset: 0, scale: 30, seed: 4)
        let d = 3, n = Double(data.rows)
        let zs = try Standardizer.fit(data, method: .scale).standardize(data.values)
        for j in 0..<d {
            let col = stride(from: j, to: zs.count, by: d).map { zs[$0] }
            XCTAssertEqual(mean(col), 0, accuracy: 1e-12)
            XCTAssertEqual(col.reduce(0) { $0 + $1 * $1 } / (n - 1), 1, accuracy: 1e-12)
        }
        let zr = try Standardizer.fit(data, method: .robust).standardize(data.values)
        for j in 0..<d {
            let col = stride(from: j, to: zr.count, by: d).map { zr[$0] }.sorted()
            XCTAssertEqual(Standardizer.quantile(col, 0.5), 0, accuracy: 1e-12)
            XCTAssertEqual(Standardizer.quantile(col, 0.75) - Standardizer.quantile(col, 0.25), Standardizer.normalIQR, accuracy: 1e-12)
        }
        let w = try Standardizer.fit(data, method: .whiten)
        let zw = w.standardize(data.values)
        for a in 0..<d {
            for b in 0..<d {
                var s = 0.0
                for i in 0..<data.rows { s += zw[i * d + a] * zw[i * d + b] }
                XCTAssertEqual(s / (n - 1), a == b ? 1 : 0, accuracy: 1e-10, "covariance[\(a), \(b)]")
            }
        }
        // log|det A| of whitening is −½ log det(sample covariance).
        XCTAssertEqual(w.logAbsDetJacobian, -(w.cholesky!.indices.reduce(0) { $0 + log(w.cholesky![$1][$1]) }), accuracy: 1e-12)
    }

    /// The inverse map undoes the forward map.
    func testInverse() throws {
        let data = gaussian(500, mean: [1e3, -2, 0.01], c: corrC, seed: 5)
        for method in Standardizer.Method.allCases {
            let s = try Standardizer.fit(data, method: method)
            let back = s.unstandardize(s.standardize(data.values))
            for (a, b) in zip(back, data.values) { XCTAssertEqual(a, b, accuracy: 1e-12 * max(1, abs(b)), "\(method)") }
        }
    }

    /// Fitted on the rows given (the training rows), not on the whole set.
    func testFitsOnTheGivenRowsOnly() throws {
        let data = DataSet(rows: 4, cols: 1, values: [1, 3, 100, 200], source: "t")
        let s = try Standardizer.fit(data, rows: [0, 1], method: .scale)
        XCTAssertEqual(s.center, [2])
        XCTAssertEqual(s.scale[0], 2.0.squareRoot(), accuracy: 1e-15)
    }

    /// Stored as JSON in the checkpoint: the round trip is exact.
    func testCodableRoundTripIsExact() throws {
        let data = gaussian(300, mean: [0.1, 1e5, -3], c: corrC, seed: 6)
        for method in Standardizer.Method.allCases {
            let s = try Standardizer.fit(data, method: method)
            let json = try JSONEncoder().encode(s)
            let back = try JSONDecoder().decode(Standardizer.self, from: json)
            XCTAssertEqual(back, s, "\(method): \(String(decoding: json, as: UTF8.self))")
            XCTAssertEqual(back.standardize(data.values), s.standardize(data.values))
        }
    }

    /// A constant column is refused by name; whitening refuses linearly dependent columns.
    func testConstantAndDependentColumns() {
        let constant = DataSet(rows: 3, cols: 2, values: [1, 5, 2, 5, 3, 5], source: "c.csv", columnNames: ["a", "b"])
        for method in [Standardizer.Method.scale, .robust, .whiten] {
            XCTAssertThrowsError(try Standardizer.fit(constant, method: method)) { e in
                let e = e as? DataError
                XCTAssertEqual(e?.kind, .constantColumn)
                XCTAssertEqual(e?.column, 2)
                XCTAssert(e?.description.contains("column 2 'b' is constant (5.0)") == true, e?.description ?? "")
            }
        }
        XCTAssertNoThrow(try Standardizer.fit(constant, method: .none))
        // c = a + 2b exactly.
        var v = [Double]()
        var rng = Xoshiro256(seed: 7)
        for _ in 0..<100 { let a = rng.normal(), b = rng.normal(); v += [a, b, a + 2 * b] }
        let dependent = DataSet(rows: 100, cols: 3, values: v, source: "dep.csv")
        XCTAssertThrowsError(try Standardizer.fit(dependent, method: .whiten)) { e in
            XCTAssertEqual((e as? DataError)?.kind, .dependentColumns)
            XCTAssert("\(e)".contains("column 3") && "\(e)".contains("data.standardize scale"), "\(e)")
        }
        XCTAssertNoThrow(try Standardizer.fit(dependent, method: .scale))
    }

    /// Robust scaling: a few huge outliers barely move it, unlike the standard deviation.
    func testRobustIgnoresOutliers() throws {
        var rng = Xoshiro256(seed: 8)
        var v = (0..<1000).map { _ in rng.normal() }
        v[0] = 1e6; v[1] = -1e6
        let data = DataSet(rows: 1000, cols: 1, values: v, source: "t")
        XCTAssertEqual(try Standardizer.fit(data, method: .robust).scale[0], 1, accuracy: 0.1)
        XCTAssertGreaterThan(try Standardizer.fit(data, method: .scale).scale[0], 1000)
    }

    func testMethodNames() throws {
        XCTAssertEqual(try Standardizer.Method.named("Robust"), .robust)
        XCTAssertThrowsError(try Standardizer.Method.named("zscore")) { e in
            XCTAssertEqual("\(e)", "unknown standardization 'zscore'; known: scale, robust, whiten, none")
        }
    }
}
