import XCTest
import CNFCore
@testable import ToyData

final class KNNEntropyTests: XCTestCase {
    func gaussian(_ n: Int, dim: Int, seed: UInt64) -> DataSet {
        var rng = Xoshiro256(seed: seed)
        return DataSet(rows: n, cols: dim, values: (0..<(n * dim)).map { _ in rng.normal() }, source: "N(0, I)")
    }

    func uniform(_ n: Int, dim: Int, seed: UInt64) -> DataSet {
        var rng = Xoshiro256(seed: seed)
        return DataSet(rows: n, cols: dim, values: (0..<(n * dim)).map { _ in rng.uniform() }, source: "U[0,1]^d")
    }

    // MARK: closed forms

    /// N(0, I_d) has H = (d/2)(1 + log 2π); in 2-D that is 1 + log 2π ≈ 2.8379.
    func testStandardNormal2D() {
        let h = knnEntropy(gaussian(100_000, dim: 2, seed: 1))
        XCTAssertEqual(h, 1 + log(2 * Double.pi), accuracy: 0.02)
    }

    /// The uniform density on the unit square has H = 0.
    func testUniformSquare() {
        let h = knnEntropy(uniform(100_000, dim: 2, seed: 2))
        XCTAssertEqual(h, 0, accuracy: 0.02)
    }

    /// Checkerboard is uniform on area 32: H = ln 32 ≈ 3.466 (the table's exact floor).
    func testCheckerboardFloor() {
        var rng = Xoshiro256(seed: 3)
        let h = knnEntropy(ToyDataset.checkerboard.dataSet(100_000, using: &rng))
        XCTAssertEqual(h, log(32), accuracy: 0.02)
        XCTAssertEqual(h, ToyDataset.checkerboard.entropyFloor, accuracy: 0.02)
    }

    /// Every floor of the TOYDATA.md table against the estimator on 10⁵ fresh points.
    /// Tolerance 0.025: the table's ±0.01, about ±0.004 sampling error at 10⁵ points, and
    /// the estimator's small-sample bias (≈ −0.01 for 8gaussians at 10⁵, < 0.002 at 10⁶).
    /// A mistake in a recipe's constants (a scale, a noise level) moves the entropy by more.
    func testToyFloorsMatchTable() {
        for set in ToyDataset.allCases {
            var rng = Xoshiro256(seed: 21)
            let h = knnEntropy(set.dataSet(100_000, using: &rng))
            XCTAssertEqual(h, set.entropyFloor, accuracy: 0.025, "\(set.rawValue) (\(set.entropyFloorMethod))")
        }
    }

    /// Any dimension and any k: N(0, I_d) in 1, 3 and 5 dimensions. Tolerance: 4 standard
    /// errors, se ≈ √((ψ′(k) + Var log p(X)) / n) with Var log p = d/2 for a Gaussian, plus
    /// in 5-D an allowance of 0.05 for the estimator's finite-sample bias, which grows with
    /// dimension (measured ≈ −0.045 at n = 2·10⁴, k = 4, over three seeds).
    func testOtherDimensionsAndK() {
        let n = 20_000
        for (dim, k) in [(1, 1), (3, 1), (3, 4), (5, 4)] {
            let h = knnEntropy(gaussian(n, dim: dim, seed: UInt64(10 + dim)), k: k)
            let trigamma = (k..<100_000).reduce(0.0) { $0 + 1 / (Double($1) * Double($1)) }   // ψ′(k) = Σ_{j≥k} 1/j²
            let se = ((trigamma + Double(dim) / 2) / Double(n)).squareRoot()
            let tolerance = 4 * se + (dim == 5 ? 0.05 : 0)
            XCTAssertEqual(h, Double(dim) / 2 * (1 + log(2 * Double.pi)), accuracy: tolerance, "d = \(dim), k = \(k)")
        }
    }

    /// Scaling every point by s scales every ε_i by s, so Ĥ(sX) = Ĥ(X) + d·log s exactly
    /// (up to rounding); translating changes nothing.
    func testScalingAndTranslationLaw() {
        let data = gaussian(5_000, dim: 3, seed: 4)
        let h = knnEntropy(data, k: 2)
        var scaled = data
        scaled.values = data.values.map { 2.5 * $0 + 7 }
        XCTAssertEqual(knnEntropy(scaled, k: 2), h + 3 * log(2.5), accuracy: 1e-9)
    }

    // MARK: duplicates

    /// Points with ε = 0 are skipped: a few duplicates barely move the estimate, and a set
    /// in which every point has a twin (all ε = 0 for k = 1) has no finite entropy.
    func testDuplicatesAreSkipped() {
        let base = uniform(20_000, dim: 2, seed: 6)
        let h = knnEntropy(base)
        var withDuplicates = base
        withDuplicates.values += Array(base.values[0..<200])   // the first 100 points again
        withDuplicates.rows += 100
        let hd = knnEntropy(withDuplicates)
        XCTAssert(hd.isFinite)
        XCTAssertEqual(hd, h, accuracy: 0.01)

        let twins = DataSet(rows: 2 * base.rows, cols: 2, values: base.values + base.values, source: "twins")
        XCTAssertEqual(knnEntropy(twins), -.infinity)
        // With k = 2 the twin is the first neighbour and the second one is a real distance.
        XCTAssert(knnEntropy(twins, k: 2).isFinite)

        // Heavily discrete data (3 distinct points, 20 000 copies each): −∞, and quickly.
        let discrete = DataSet(rows: 60_000, cols: 2, values: (0..<60_000).flatMap { [Double($0 % 3), 1] }, source: "3 points")
        XCTAssertEqual(knnEntropy(discrete, k: 3), -.infinity)
    }

    // MARK: the k-d tree against brute force

    func testKDTreeMatchesBruteForce() {
        var rng = Xoshiro256(seed: 8)
        for dim in [1, 2, 3, 5] {
            for grid in [false, true] {
                let n = 300
                // Grid coordinates make many ties and duplicates.
                let values = (0..<(n * dim)).map { _ in grid ? Double(rng.int(below: 4)) : rng.normal() }
                let tree = KDTree(values: values, dim: dim)
                let ks = [1, 2, 5]
                let got = ks.map { tree.kthNeighbourDistancesSquared(k: $0, positions: 0..<n) }
                for p in 0..<n {
                    let i = tree.order[p]
                    var d2 = [Double]()
                    for j in 0..<n where j != i {
                        var s = 0.0
                        for c in 0..<dim { let t = values[i * dim + c] - values[j * dim + c]; s += t * t }
                        d2.append(s)
                    }
                    d2.sort()
                    for (m, k) in ks.enumerated() {
                        XCTAssertEqual(got[m][p], d2[k - 1], "dim \(dim), grid \(grid), k \(k), point \(i)")
                    }
                }
            }
        }
    }

    // MARK: special functions

    func testDigamma() {
        let gamma = 0.57721566490153286
        XCTAssertEqual(digamma(1), -gamma, accuracy: 1e-12)
        XCTAssertEqual(digamma(0.5), -gamma - 2 * log(2), accuracy: 1e-12)
        for x in [0.3, 1, 2.5, 5.5, 9.5, 9.99, 10, 17, 1e3] {
            XCTAssertEqual(digamma(x + 1) - digamma(x), 1 / x, accuracy: 1e-12, "ψ(x+1) − ψ(x) = 1/x at x = \(x)")
        }
        // ψ(n) = −γ + Σ_{j<n} 1/j
        XCTAssertEqual(digamma(50), -gamma + (1..<50).reduce(0.0) { $0 + 1 / Double($1) }, accuracy: 1e-12)
    }

    func testUnitBallVolume() {
        let pi = Double.pi
        for (d, v) in [(1, 2.0), (2, pi), (3, 4 * pi / 3), (4, pi * pi / 2), (5, 8 * pi * pi / 15)] {
            XCTAssertEqual(logUnitBallVolume(dimension: d), log(v), accuracy: 1e-12, "V_\(d)")
        }
    }

    // MARK: the estimate with its uncertainty

    /// The bootstrap standard error agrees with the theory, √((ψ′(k) + Var log p)/n) with
    /// Var log p = d/2 for a Gaussian, and with the spread of the estimate over independent
    /// samples; the value is `knnEntropy`'s.
    func testBootstrapStandardError() {
        let n = 2000
        var estimates = [Double](), errors = [Double]()
        for seed in 0..<30 {
            let data = gaussian(n, dim: 2, seed: 100 + UInt64(seed))
            let e = knnEntropyEstimate(data, seed: 1)
            XCTAssertNil(e.withheld)
            XCTAssertEqual(e.value, knnEntropy(data))
            estimates.append(e.value!)
            errors.append(e.standardError!)
        }
        let theory = ((Double.pi * Double.pi / 6 + 1) / Double(n)).squareRoot()
        let meanSE = errors.reduce(0, +) / 30
        XCTAssertEqual(meanSE / theory, 1, accuracy: 0.15, "bootstrap SE \(meanSE) vs theory \(theory)")
        let m = estimates.reduce(0, +) / 30
        let spread = (estimates.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 29).squareRoot()
        // The spread of 30 values is itself uncertain by ~13 %; allow a factor 1.6 either way.
        XCTAssert(spread / meanSE > 1 / 1.6 && spread / meanSE < 1.6, "spread \(spread) vs bootstrap SE \(meanSE)")
        XCTAssertEqual(m, 1 + log(2 * Double.pi), accuracy: 4 * spread / 30.0.squareRoot() + 0.01)
    }

    /// Same seed, same numbers; the label says it is an estimate.
    func testEstimateIsReproducibleAndLabelled() {
        let data = gaussian(1000, dim: 3, seed: 5)
        let a = knnEntropyEstimate(data, seed: 7), b = knnEntropyEstimate(data, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.standardError, knnEntropyEstimate(data, seed: 8).standardError)
        XCTAssert(a.label.contains("estimate") && a.label.contains("±") && a.label.contains("1000 rows"), a.label)
    }

    /// Withheld with a reason on too few rows for the dimension, and on discrete data.
    func testWithheldWhereUntrustworthy() {
        XCTAssertEqual(knnMinimumRows(dimension: 2), 200)
        XCTAssertEqual(knnMinimumRows(dimension: 4), 400)
        let few = knnEntropyEstimate(gaussian(270, dim: 4, seed: 6))
        XCTAssertNil(few.value)
        XCTAssertEqual(few.withheld, "too few rows for a k-NN estimate in 4 dimensions (270 < 400)")
        XCTAssert(few.label.hasPrefix("no k-NN entropy estimate: too few rows"), few.label)
        XCTAssertNotNil(knnEntropyEstimate(gaussian(400, dim: 4, seed: 6)).value)
        var rng = Xoshiro256(seed: 7)
        let discrete = DataSet(rows: 500, cols: 2, values: (0..<1000).map { _ in Double(rng.int(below: 5)) }, source: "ints")
        let e = knnEntropyEstimate(discrete)
        XCTAssertNil(e.value)
        XCTAssert(e.withheld?.contains("discrete") == true, e.withheld ?? "")
    }
}
