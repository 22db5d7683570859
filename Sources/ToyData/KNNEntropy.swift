#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import CNFCore

/// The Kozachenko–Leonenko k-nearest-neighbour estimate of the differential entropy
/// H = −E log p(x), in nats, of the density that `data` (n points in R^d) was drawn from:
///
///     Ĥ = ψ(n) − ψ(k) + log V_d + (d/m) Σ_{i: ε_i > 0} log ε_i
///
/// where ε_i is the Euclidean distance from point i to its k-th nearest other point,
/// V_d = π^{d/2} / Γ(d/2 + 1) the volume of the unit ball in R^d and ψ the digamma
/// function: ψ(k) − ψ(n) is the exact mean of log P_i, P_i ~ Beta(k, n − k) being the
/// probability mass of the ball of radius ε_i; log(k/n) would leave an O(1/k) bias.
///
/// Duplicates: a point with k or more exact duplicates has ε_i = 0 and log ε_i = −∞,
/// which no continuous density produces. Such points are *skipped*: the sum runs over
/// the m points with ε_i > 0 and is averaged over m (n in ψ(n) stays the full count).
/// A few duplicates thus barely move the estimate; if every point is duplicated the
/// data are discrete, there is no finite differential entropy, and the result is −∞.
/// (Jitter would be the alternative, but it adds entropy of its own choosing.)
///
/// Accuracy: the standard error is roughly √((ψ′(k) + Var log p(X)) / n), about 0.005 for
/// 10⁵ points of a 2-D Gaussian with k = 1; the bias (from boundaries and curvature of
/// the density) shrinks with n and grows with the dimension. It gives a floor for a
/// model's test NLL on the same data.
///
/// - Precondition: `data.cols ≥ 1`, `k ≥ 1`, `data.rows > k`.
/// - Complexity: a k-d tree, O(n log n) for low dimension; queries split over the cores
///   in fixed chunks and summed in a fixed order, so the result does not depend on the
///   number of threads.
public func knnEntropy(_ data: DataSet, k: Int = 1) -> Double {
    knnLogDistances(data, k: k).entropy
}

/// The per-point terms of the Kozachenko–Leonenko estimate: d·log ε_i for the points with
/// ε_i > 0 (in row order), and the constant ψ(n) − ψ(k) + log V_d.
struct KNNTerms {
    var terms: [Double]
    var constant: Double

    /// Ĥ = constant + mean of the terms; −∞ if every point has k or more duplicates.
    var entropy: Double {
        terms.isEmpty ? -.infinity : constant + terms.reduce(0, +) / Double(terms.count)
    }
}

func knnLogDistances(_ data: DataSet, k: Int) -> KNNTerms {
    let n = data.rows, d = data.cols
    precondition(d >= 1, "knnEntropy: data set \(data.source) has no columns")
    precondition(k >= 1, "knnEntropy: k must be ≥ 1, got \(k)")
    precondition(n > k, "knnEntropy: need more than k = \(k) points, \(data.source) has \(n)")

    let tree = KDTree(values: data.values, dim: d)
    let chunk = 4096
    let chunks = (n + chunk - 1) / chunk
    var parts = [[Double]](repeating: [], count: chunks)
    parts.withMutableBufferView { parts in
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let range = (c * chunk)..<min(n, (c + 1) * chunk)
            var out = [Double]()
            out.reserveCapacity(range.count)
            for e2 in tree.kthNeighbourDistancesSquared(k: k, positions: range) where e2 > 0 {
                out.append(Double(d) * 0.5 * log(e2))   // d·log ε from ε²
            }
            parts[c] = out
        }
    }
    // Joined in row order, so the sums over the terms are the same bits for any number of threads.
    var terms = [Double]()
    terms.reserveCapacity(n)
    for p in parts { terms.append(contentsOf: p) }
    return KNNTerms(terms: terms, constant: digamma(Double(n)) - digamma(Double(k)) + logUnitBallVolume(dimension: d))
}

/// A k-NN entropy estimate with its uncertainty, or the reason it is withheld.
public struct EntropyEstimate: Equatable, Sendable, Codable {
    /// Ĥ in nats (nil when withheld).
    public var value: Double?
    /// The bootstrap standard error of Ĥ (nil when withheld).
    public var standardError: Double?
    public var rows: Int
    public var dimension: Int
    public var k: Int
    /// Why there is no estimate ("too few points for d = 4: 270 < 400"), or nil.
    public var withheld: String?

    /// "k-NN (Kozachenko–Leonenko) estimate, k = 1, on 1000 rows: 2.84 ± 0.03 nats" or the reason.
    public var label: String {
        if let v = value, let se = standardError {
            return "k-NN (Kozachenko–Leonenko, k = \(k)) estimate on \(rows) rows: \(formatShort(v)) ± \(formatShort(se)) nats (bootstrap standard error; the estimator is also biased on few points)"
        }
        return "no k-NN entropy estimate: \(withheld ?? "withheld")"
    }
}

/// The fewest rows for which the k-NN estimate is reported in dimension d: 100·2^{d/2}
/// (200 in 2-D, 400 in 4-D, 3 200 in 10-D). Its bias grows with d and shrinks with n; on
/// fewer rows it can sit well above what a simple model achieves (27 rows in 4-D gave
/// 20.9 nats where a Gaussian mixture reached 15.2), which is not a floor at all.
public func knnMinimumRows(dimension d: Int) -> Int {
    Int((100 * pow(2, Double(d) / 2)).rounded(.up))
}

/// `knnEntropy` with a bootstrap standard error, withheld where it cannot be trusted.
///
/// The standard error: the estimate is a constant plus the mean of n per-point terms
/// d·log ε_i; `bootstrap` resamples of those terms (with replacement, drawn from
/// `Xoshiro256(seed: seed, stream: 9)`) give the spread of that mean. It ignores the weak
/// dependence between neighbouring ε_i and says nothing of the estimator's bias, so it is
/// a lower bound on the real uncertainty on few points.
///
/// Withheld: fewer than `knnMinimumRows(dimension:)` rows, or more than half the rows
/// with k or more exact duplicates (discrete data have no differential entropy).
public func knnEntropyEstimate(_ data: DataSet, k: Int = 1, bootstrap: Int = 200, seed: UInt64 = 0) -> EntropyEstimate {
    let n = data.rows, d = data.cols
    var result = EntropyEstimate(value: nil, standardError: nil, rows: n, dimension: d, k: k, withheld: nil)
    let minimum = knnMinimumRows(dimension: d)
    if n < minimum {
        result.withheld = "too few rows for a k-NN estimate in \(d) dimensions (\(n) < \(minimum))"
        return result
    }
    let t = knnLogDistances(data, k: k)
    if t.terms.count * 2 < n {
        result.withheld = "\(n - t.terms.count) of \(n) rows have \(k) or more exact duplicates: the data look discrete (try data.dequantize uniform)"
        return result
    }
    let m = t.terms.count
    var rng = Xoshiro256(seed: seed, stream: 9)
    var means = [Double]()
    means.reserveCapacity(bootstrap)
    for _ in 0..<max(2, bootstrap) {
        var s = 0.0
        for _ in 0..<m { s += t.terms[rng.int(below: m)] }
        means.append(s / Double(m))
    }
    let mean = means.reduce(0, +) / Double(means.count)
    let variance = means.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(means.count - 1)
    result.value = t.entropy
    result.standardError = variance.squareRoot()
    return result
}

/// log V_d, the log-volume of the Euclidean unit ball in R^d: (d/2) log π − log Γ(d/2 + 1).
func logUnitBallVolume(dimension d: Int) -> Double {
    Double(d) / 2 * log(Double.pi) - lgamma(Double(d) / 2 + 1)
}

/// The digamma function ψ(x) = Γ′(x)/Γ(x) for x > 0: the recurrence ψ(x) = ψ(x+1) − 1/x
/// up to x ≥ 10, then the asymptotic series
/// ψ(x) ≈ ln x − 1/(2x) − 1/(12x²) + 1/(120x⁴) − 1/(252x⁶) + 1/(240x⁸) − 1/(132x¹⁰),
/// whose truncation error at x ≥ 10 is below 691/(32760·10¹²) ≈ 2·10⁻¹⁴.
func digamma(_ x: Double) -> Double {
    precondition(x > 0, "digamma is defined here for x > 0, got \(x)")
    var x = x, shift = 0.0
    while x < 10 { shift -= 1 / x; x += 1 }
    let f = 1 / (x * x)
    let series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    return shift + log(x) - 0.5 / x - series
}

/// `knnEntropyEstimate` computed on whitened data and mapped back to the data's units.
///
/// The Kozachenko–Leonenko estimator uses Euclidean distances, so on columns of very
/// different scales (grams beside metres) or strongly correlated ones its bias is large: the
/// neighbours are found along the widest column only. Differential entropy moves exactly under
/// an affine map z = A (x − c): H(x) = H(z) − log |det A|. So the estimate is taken on the
/// rows whitened by their own mean and covariance (`Standardizer` `whiten`; per-column `scale`
/// if the covariance is singular) and shifted by −log |det A|; the bootstrap standard error is
/// unchanged by the shift.
public func knnEntropyEstimateWhitened(_ data: DataSet, k: Int = 1, bootstrap: Int = 200, seed: UInt64 = 0) -> EntropyEstimate {
    let map = (try? Standardizer.fit(data, method: .whiten)) ?? (try? Standardizer.fit(data, method: .scale))
        ?? .identity(dimension: data.cols)
    let z = DataSet(rows: data.rows, cols: data.cols, values: map.standardize(data.values), source: data.source)
    var e = knnEntropyEstimate(z, k: k, bootstrap: bootstrap, seed: seed)
    if let v = e.value { e.value = v - map.logAbsDetJacobian }
    return e
}
