import XCTest
import CNFCore
@testable import ToyData

/// The baselines `cnf eval` reports beside a flow: the full-covariance Gaussian against its
/// closed form, EM against a mixture it must recover, and the choice of K on validation rows.
final class GaussianBaselinesTests: XCTestCase {
    /// n rows of N(mean, L Lᵀ) for a 2×2 lower factor (l11, l21, l22).
    func gaussian2(_ n: Int, mean: (Double, Double), l: (Double, Double, Double), seed: UInt64) -> [Double] {
        var rng = Xoshiro256(seed: seed, stream: 1)
        var v = [Double]()
        for _ in 0..<n {
            let a = rng.normal(), b = rng.normal()
            v.append(mean.0 + l.0 * a)
            v.append(mean.1 + l.1 * a + l.2 * b)
        }
        return v
    }

    func set(_ v: [Double], cols: Int = 2) -> DataSet { DataSet(rows: v.count / cols, cols: cols, values: v, source: "test") }

    /// The fitted Gaussian's log-density is the closed form written out by hand for 2-D
    /// (inverse and determinant of the sample covariance with divisor n), to 1e-10.
    func testGaussianLogDensityIsTheClosedForm() throws {
        let data = set(gaussian2(500, mean: (3, -7), l: (2, 0.5, 0.3), seed: 1))
        let g = try XCTUnwrap(Gaussian.fit(data))
        let n = Double(data.rows)
        let mx = (0..<data.rows).reduce(0) { $0 + data[$1, 0] } / n
        let my = (0..<data.rows).reduce(0) { $0 + data[$1, 1] } / n
        var sxx = 0.0, sxy = 0.0, syy = 0.0
        for i in 0..<data.rows {
            let u = data[i, 0] - mx, w = data[i, 1] - my
            sxx += u * u / n; sxy += u * w / n; syy += w * w / n
        }
        let det = sxx * syy - sxy * sxy
        let logp = g.logDensities(data)
        for i in 0..<data.rows {
            let u = data[i, 0] - mx, w = data[i, 1] - my
            let q = (syy * u * u - 2 * sxy * u * w + sxx * w * w) / det
            let expected = -0.5 * q - 0.5 * log(det) - log(2 * Double.pi)
            XCTAssertEqual(logp[i], expected, accuracy: 1e-10)
        }
        XCTAssertEqual(g.entropy, 1 + log(2 * Double.pi) + 0.5 * log(det), accuracy: 1e-12)
        // The mean training log-likelihood of an ML Gaussian is exactly −entropy (E q = d).
        XCTAssertEqual(-logp.reduce(0, +) / n, g.entropy, accuracy: 1e-10)
    }

    /// A singular covariance (a constant column) gives no Gaussian.
    func testSingularCovarianceIsRefused() {
        XCTAssertNil(Gaussian.fit(set([1, 5, 2, 5, 3, 5, 4, 5])))
    }

    /// Two well-separated components, weights 0.3 / 0.7: EM recovers weights, means and
    /// covariances within a few standard errors (n = 4000), and its log-likelihood never falls.
    func testEMRecoversTwoComponentsAndNeverDecreases() throws {
        let a = gaussian2(1200, mean: (-6, 1), l: (1, 0.4, 0.5), seed: 2)
        let b = gaussian2(2800, mean: (5, -2), l: (0.7, -0.3, 1.2), seed: 3)
        // Interleave so that the order says nothing.
        var v = [Double]()
        var ia = 0, ib = 0
        var rng = Xoshiro256(seed: 4, stream: 2)
        while ia < a.count || ib < b.count {
            if ib >= b.count || (ia < a.count && rng.uniform() < 0.3) { v += a[ia..<(ia + 2)]; ia += 2 } else { v += b[ib..<(ib + 2)]; ib += 2 }
        }
        let fit = try XCTUnwrap(GaussianMixture.fit(set(v), components: 2, seed: 0))
        let m = fit.mixture
        XCTAssertEqual(m.count, 2)
        let first = m.components[0].mean[0] < 0 ? 0 : 1, second = 1 - first
        XCTAssertEqual(m.weights[first], 0.3, accuracy: 0.03)
        XCTAssertEqual(m.components[first].mean[0], -6, accuracy: 0.1)
        XCTAssertEqual(m.components[first].mean[1], 1, accuracy: 0.1)
        XCTAssertEqual(m.components[second].mean[0], 5, accuracy: 0.1)
        XCTAssertEqual(m.components[second].mean[1], -2, accuracy: 0.1)
        // Σ = L Lᵀ: (1, 0.4; 0.4, 0.41) and (0.49, −0.21; −0.21, 1.53).
        let s1 = m.components[first].covariance, s2 = m.components[second].covariance
        for (got, want) in zip(s1, [1, 0.4, 0.4, 0.41]) { XCTAssertEqual(got, want, accuracy: 0.12) }
        for (got, want) in zip(s2, [0.49, -0.21, -0.21, 1.53]) { XCTAssertEqual(got, want, accuracy: 0.12) }
        XCTAssertGreaterThan(fit.trace.count, 1)
        for (p, q) in zip(fit.trace, fit.trace.dropFirst()) {
            XCTAssertGreaterThanOrEqual(q, p - 1e-12 * abs(p), "EM's log-likelihood fell: \(p) → \(q)")
        }
        // The same seed gives the same fit, bit for bit.
        XCTAssertEqual(GaussianMixture.fit(set(v), components: 2, seed: 0)?.mixture, m)
    }

    /// K chosen on validation rows: 2 for two clear components, 1 for one Gaussian; and the
    /// baselines move by exactly d·ln 1000 when every column is multiplied by 1000.
    func testBaselinesChooseKOnValidationAndScaleExactly() throws {
        let a = gaussian2(600, mean: (-6, 1), l: (1, 0.4, 0.5), seed: 5)
        let b = gaussian2(600, mean: (5, -2), l: (0.7, -0.3, 1.2), seed: 6)
        var v = [Double]()
        for i in 0..<600 { v += a[(2 * i)..<(2 * i + 2)]; v += b[(2 * i)..<(2 * i + 2)] }
        let all = set(v)
        let train = DataSplit.subset(all, Array(0..<800)), val = DataSplit.subset(all, Array(800..<1000))
        let test = DataSplit.subset(all, Array(1000..<1200))
        let two = Baselines.fit(train: train, validation: val, test: test, seed: 0)
        XCTAssertEqual(two.mixtureComponents, 2, "validation NLL by K: \(two.validationNLLByComponents)")
        XCTAssertLessThan(try XCTUnwrap(two.mixture?.nll), try XCTUnwrap(two.gaussian?.nll) - 0.5)

        let one = set(gaussian2(1200, mean: (100, 0.1), l: (10, 0.01, 0.02), seed: 7))
        let single = Baselines.fit(train: DataSplit.subset(one, Array(0..<800)), validation: DataSplit.subset(one, Array(800..<1000)),
                                   test: DataSplit.subset(one, Array(1000..<1200)), seed: 0)
        XCTAssertEqual(single.mixtureComponents, 1, "validation NLL by K: \(single.validationNLLByComponents)")

        func times1000(_ s: DataSet) -> DataSet { DataSet(rows: s.rows, cols: s.cols, values: s.values.map { $0 * 1000 }, source: s.source) }
        let big = Baselines.fit(train: times1000(train), validation: times1000(val), test: times1000(test), seed: 0)
        XCTAssertEqual(big.mixtureComponents, 2)
        XCTAssertEqual(try XCTUnwrap(big.gaussian?.nll) - two.gaussian!.nll, 2 * log(1000.0), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(big.mixture?.nll) - two.mixture!.nll, 2 * log(1000.0), accuracy: 1e-6)
    }

    /// Columns of very different scales, strongly correlated: the whitened k-NN estimate is
    /// within 0.1 nats of the closed form ½ log det(2πeΣ); plain Euclidean k-NN is far off.
    func testWhitenedKNNEstimateIsAffineInvariant() throws {
        // x = 300 a, y = 0.01 (a + b): Σ = (9e4, 3; 3, 2e-4), det Σ = 9.
        var rng = Xoshiro256(seed: 8, stream: 1)
        var v = [Double]()
        for _ in 0..<2000 { let a = rng.normal(), b = rng.normal(); v += [1000 + 300 * a, 5 + 0.01 * (a + b)] }
        let truth = 1 + log(2 * Double.pi) + 0.5 * log(9.0)
        let e = knnEntropyEstimateWhitened(set(v))
        XCTAssertEqual(try XCTUnwrap(e.value), truth, accuracy: 0.1)
        XCTAssertGreaterThan(try XCTUnwrap(e.standardError), 0)
        XCTAssertGreaterThan(abs(knnEntropy(set(v)) - truth), 1, "plain k-NN should be fooled by the scales here")
    }
}
