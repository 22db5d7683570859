#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNFCore

/// A multivariate normal N(μ, Σ) with a full covariance, by its Cholesky factor Σ = L Lᵀ:
///
///     log N(x; μ, Σ) = −½ ‖L⁻¹ (x − μ)‖² − Σ_j log L_jj − (d/2) log 2π.
///
/// The simplest baseline a flow has to beat on a user's data.
public struct Gaussian: Equatable, Sendable {
    public let mean: [Double]
    /// L, row-major d × d, zero above the diagonal.
    public let cholesky: [Double]
    public var dimension: Int { mean.count }

    /// - Precondition: `cholesky` is d × d with a positive diagonal.
    public init(mean: [Double], cholesky: [Double]) {
        let d = mean.count
        precondition(cholesky.count == d * d, "Gaussian: a \(d)-dimensional mean needs a \(d)×\(d) factor")
        precondition((0..<d).allSatisfy { cholesky[$0 * d + $0] > 0 }, "Gaussian: the factor's diagonal must be positive")
        self.mean = mean
        self.cholesky = cholesky
    }

    /// The covariance L Lᵀ, row-major.
    public var covariance: [Double] {
        let d = dimension
        var s = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d {
            var a = 0.0
            for k in 0...min(i, j) { a += cholesky[i * d + k] * cholesky[j * d + k] }
            s[i * d + j] = a
        } }
        return s
    }

    /// From a mean and a symmetric covariance (row-major); nil if it is not positive definite.
    public static func fromCovariance(mean: [Double], covariance s: [Double]) -> Gaussian? {
        guard let l = choleskyFactor(s, dimension: mean.count) else { return nil }
        return Gaussian(mean: mean, cholesky: l)
    }

    /// The maximum-likelihood fit (mean, covariance with divisor n) to `data`, with `ridge` ×
    /// each column's variance added to its diagonal entry (0 by default); nil if the covariance is singular
    /// (a column constant, or a linear combination of the others, or n ≤ d).
    /// - Complexity: O(n·d² + d³).
    public static func fit(_ data: DataSet, ridge: Double = 0) -> Gaussian? {
        let n = data.rows
        guard n >= 1 else { return nil }
        let weights = [Double](repeating: 1, count: n)
        return weightedFit(data, weights: weights, ridge: ridge)
    }

    /// The weighted ML fit (weights ≥ 0, not all 0): the M-step of EM for one component.
    static func weightedFit(_ data: DataSet, weights w: [Double], ridge: Double, absoluteRidge: [Double]? = nil) -> Gaussian? {
        let n = data.rows, d = data.cols
        let total = w.reduce(0, +)
        guard total > 0 else { return nil }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n where w[i] > 0 { for j in 0..<d { mean[j] += w[i] * data[i, j] } }
        for j in 0..<d { mean[j] /= total }
        var s = [Double](repeating: 0, count: d * d)
        var u = [Double](repeating: 0, count: d)
        for i in 0..<n where w[i] > 0 {
            for j in 0..<d { u[j] = data[i, j] - mean[j] }
            for a in 0..<d { for b in 0...a { s[a * d + b] += w[i] * u[a] * u[b] } }
        }
        for a in 0..<d { for b in 0...a { s[a * d + b] /= total; s[b * d + a] = s[a * d + b] } }
        for a in 0..<d { s[a * d + a] += ridge * s[a * d + a] + (absoluteRidge?[a] ?? 0) }
        return fromCovariance(mean: mean, covariance: s)
    }

    /// log N(x; μ, Σ) of each row.
    /// - Complexity: O(n·d²).
    public func logDensities(_ data: DataSet) -> [Double] {
        precondition(data.cols == dimension, "Gaussian of dimension \(dimension) given \(data.cols) columns")
        let d = dimension
        var logDiag = 0.0
        for j in 0..<d { logDiag += log(cholesky[j * d + j]) }
        let constant = -logDiag - 0.5 * Double(d) * log(2 * Double.pi)
        var z = [Double](repeating: 0, count: d)
        return (0..<data.rows).map { i in
            var q = 0.0
            for a in 0..<d {
                var s = data[i, a] - mean[a]
                for k in 0..<a { s -= cholesky[a * d + k] * z[k] }
                z[a] = s / cholesky[a * d + a]
                q += z[a] * z[a]
            }
            return constant - 0.5 * q
        }
    }

    /// The differential entropy ½ log det(2πe Σ) in nats: the expected NLL of its own samples.
    public var entropy: Double {
        let d = dimension
        var logDiag = 0.0
        for j in 0..<d { logDiag += log(cholesky[j * d + j]) }
        return 0.5 * Double(d) * (1 + log(2 * Double.pi)) + logDiag
    }
}

/// Lower Cholesky factor of a symmetric positive-definite d × d matrix (row-major), or nil.
func choleskyFactor(_ s: [Double], dimension d: Int) -> [Double]? {
    var l = [Double](repeating: 0, count: d * d)
    for a in 0..<d {
        for b in 0...a {
            var v = s[a * d + b]
            for k in 0..<b { v -= l[a * d + k] * l[b * d + k] }
            if a == b {
                guard v > 0, v.isFinite else { return nil }
                l[a * d + a] = v.squareRoot()
            } else {
                l[a * d + b] = v / l[b * d + b]
            }
        }
    }
    return l
}

/// A mixture of full-covariance Gaussians, p(x) = Σ_k π_k N(x; μ_k, Σ_k), fitted by EM.
public struct GaussianMixture: Equatable, Sendable {
    public var weights: [Double]
    public var components: [Gaussian]
    public var count: Int { weights.count }

    /// The stream of the seed that k-means++ draws the initial centres from.
    public static let stream: UInt64 = 10

    public init(weights: [Double], components: [Gaussian]) {
        precondition(weights.count == components.count && !weights.isEmpty, "mixture: one weight per component")
        self.weights = weights
        self.components = components
    }

    /// log p(x) of each row (log-sum-exp over the components).
    public func logDensities(_ data: DataSet) -> [Double] {
        let r = responsibilities(data)
        return r.logDensity
    }

    /// Per row: log p(x), and the posterior of each component (row-major n × K).
    func responsibilities(_ data: DataSet) -> (logDensity: [Double], posterior: [Double]) {
        let n = data.rows, k = count
        var logs = [[Double]]()
        for (w, g) in zip(weights, components) { logs.append(g.logDensities(data).map { $0 + log(w) }) }
        var out = [Double](repeating: 0, count: n)
        var post = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            var m = -Double.infinity
            for c in 0..<k { m = max(m, logs[c][i]) }
            var s = 0.0
            for c in 0..<k { s += exp(logs[c][i] - m) }
            let l = m + log(s)
            out[i] = l
            for c in 0..<k { post[i * k + c] = exp(logs[c][i] - l) }
        }
        return (out, post)
    }

    /// The result of EM: the mixture and the mean log-likelihood on the training rows after
    /// each iteration (non-decreasing up to rounding and the tiny ridge: EM's property).
    public struct Fit: Sendable {
        public var mixture: GaussianMixture
        public var trace: [Double]
    }

    /// EM from a k-means++ start (seeded), until the mean log-likelihood improves by less than
    /// `tolerance` or `maxIterations`. Each covariance gets `ridge` × the data's variance of
    /// each column on its diagonal so that a component on few points stays invertible. Components whose
    /// weight falls below 1e-8 are dropped. Nil if even the start is singular.
    /// - Complexity: O(iterations · n · K · d²).
    public static func fit(_ data: DataSet, components k: Int, seed: UInt64, maxIterations: Int = 300,
                           tolerance: Double = 1e-9, ridge: Double = 1e-6) -> Fit? {
        let n = data.rows, d = data.cols
        precondition(k >= 1 && n >= k, "mixture: \(k) components for \(n) rows")
        // Each column's variance, the scale of its ridge.
        let absoluteRidge = (0..<d).map { j -> Double in
            let m = (0..<n).reduce(0) { $0 + data[$1, j] } / Double(n)
            return ridge * (0..<n).reduce(0) { $0 + (data[$1, j] - m) * (data[$1, j] - m) } / Double(n)
        }

        // k-means++ centres, then hard assignment to start EM.
        var rng = Xoshiro256(seed: seed, stream: stream)
        func dist2(_ i: Int, _ c: [Double]) -> Double {
            var s = 0.0
            for j in 0..<d { let u = data[i, j] - c[j]; s += u * u }
            return s
        }
        var centres = [data.row(rng.int(below: n))]
        var nearest = (0..<n).map { dist2($0, centres[0]) }
        while centres.count < k {
            let total = nearest.reduce(0, +)
            var pick = 0
            if total > 0 {
                var u = rng.uniform() * total
                for i in 0..<n { u -= nearest[i]; if u <= 0 { pick = i; break }; pick = i }
            } else {
                pick = rng.int(below: n)
            }
            centres.append(data.row(pick))
            for i in 0..<n { nearest[i] = min(nearest[i], dist2(i, centres.last!)) }
        }
        for _ in 0..<10 {   // a few Lloyd iterations
            var sums = [[Double]](repeating: [Double](repeating: 0, count: d), count: k)
            var counts = [Int](repeating: 0, count: k)
            for i in 0..<n {
                var best = 0, bd = Double.infinity
                for c in 0..<k { let v = dist2(i, centres[c]); if v < bd { bd = v; best = c } }
                counts[best] += 1
                for j in 0..<d { sums[best][j] += data[i, j] }
            }
            for c in 0..<k where counts[c] > 0 { centres[c] = sums[c].map { $0 / Double(counts[c]) } }
        }
        var post = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            var best = 0, bd = Double.infinity
            for c in 0..<k { let v = dist2(i, centres[c]); if v < bd { bd = v; best = c } }
            post[i * k + best] = 1
        }

        var mixture: GaussianMixture? = nil
        var trace = [Double]()
        var kk = k
        for _ in 0..<maxIterations {
            // M-step.
            var weights = [Double](), comps = [Gaussian]()
            for c in 0..<kk {
                let w = (0..<n).map { post[$0 * kk + c] }
                let total = w.reduce(0, +)
                guard total / Double(n) > 1e-8,
                      let g = Gaussian.weightedFit(data, weights: w, ridge: 0, absoluteRidge: absoluteRidge) else { continue }
                weights.append(total / Double(n))
                comps.append(g)
            }
            guard !comps.isEmpty else { return mixture.map { Fit(mixture: $0, trace: trace) } }
            let s = weights.reduce(0, +)
            let m = GaussianMixture(weights: weights.map { $0 / s }, components: comps)
            // E-step (and the log-likelihood of the parameters just fitted).
            let r = m.responsibilities(data)
            let ll = r.logDensity.reduce(0, +) / Double(n)
            mixture = m
            post = r.posterior
            kk = m.count
            let previous = trace.last
            trace.append(ll)
            if let p = previous, abs(ll - p) < tolerance * max(1, abs(ll)) { break }
        }
        return mixture.map { Fit(mixture: $0, trace: trace) }
    }
}

/// A baseline's held-out score: mean NLL in nats and its standard error (std/√n).
public struct BaselineScore: Equatable, Sendable {
    public var nll: Double
    public var standardError: Double
    public var rows: Int

    /// From per-row log-densities.
    public init(logDensities l: [Double]) {
        let n = Double(l.count)
        let mean = -l.reduce(0, +) / n
        let variance = l.count > 1 ? l.reduce(0) { $0 + (-$1 - mean) * (-$1 - mean) } / (n - 1) : 0
        nll = mean
        standardError = (variance / n).squareRoot()
        rows = l.count
    }
}

/// The two baselines `cnf eval` reports beside a flow, fitted on the training rows and scored
/// on the test rows, in the data's units.
public struct Baselines: Sendable {
    /// The full-covariance Gaussian (ML fit, a 1e-9 relative ridge), or nil if its covariance is singular.
    public var gaussian: BaselineScore?
    /// The Gaussian mixture with the number of components chosen on the validation rows.
    public var mixture: BaselineScore?
    public var mixtureComponents: Int?
    /// Mean validation NLL per number of components tried (1…), for the record.
    public var validationNLLByComponents: [Double]
    /// How K was chosen: "validation NLL (one-s.e. rule)" or "BIC on the training rows" (no validation rows).
    public var selection: String

    /// Fits both on `train`, chooses the mixture's K in `components` on `validation` (the
    /// smallest K whose mean NLL is within one standard error of the lowest; BIC on `train`
    /// when there are no validation rows), scores on `test`.
    /// Both are fitted on the columns scaled to unit variance on `train` (so k-means++ and the
    /// ridge see every column alike) and scored back in the data's units:
    /// log p_x = log p_z + log |det A|, exactly as for the flow.
    /// K stops growing where the training rows are too few: K · (d + d(d+1)/2 + 1) parameters
    /// must stay below the number of training values.
    public static func fit(train: DataSet, validation: DataSet?, test: DataSet,
                           components: ClosedRange<Int> = 1...8, seed: UInt64) -> Baselines {
        let d = train.cols
        let map = (try? Standardizer.fit(train, method: .scale)) ?? .identity(dimension: d)
        func scaled(_ s: DataSet) -> DataSet {
            DataSet(rows: s.rows, cols: d, values: s.rows > 0 ? map.standardize(s.values) : [], source: s.source)
        }
        let shift = map.logAbsDetJacobian
        let train = scaled(train), test = scaled(test), validation = validation.map(scaled)
        func score(_ l: [Double]) -> BaselineScore { BaselineScore(logDensities: l.map { $0 + shift }) }
        var out = Baselines(gaussian: nil, mixture: nil, mixtureComponents: nil, validationNLLByComponents: [],
                            selection: validation.map { $0.rows > 0 ? "validation NLL, one-s.e. rule" : "BIC on the training rows" } ?? "BIC on the training rows")
        if let g = Gaussian.fit(train, ridge: 1e-9) { out.gaussian = score(g.logDensities(test)) }
        let perComponent = Double(d + d * (d + 1) / 2 + 1)
        // Validation: the smallest K within one standard error of the best mean NLL (the
        // "one-standard-error rule": beyond the K the data support, the validation NLL is flat
        // up to noise, and the minimum would pick a noise-driven, over-sized K).
        var fits = [(value: Double, standardError: Double, mixture: GaussianMixture)]()
        let useValidation = (validation?.rows ?? 0) > 0
        for k in components where Double(k) * perComponent < Double(train.rows * d) && k <= train.rows {
            guard let f = GaussianMixture.fit(train, components: k, seed: seed) else { continue }
            if useValidation {
                let v = BaselineScore(logDensities: f.mixture.logDensities(validation!).map { $0 + shift })
                out.validationNLLByComponents.append(v.nll)
                fits.append((v.nll, v.standardError, f.mixture))
            } else {
                let ll = f.trace.last! * Double(train.rows)
                fits.append((-2 * ll + Double(f.mixture.count) * perComponent * log(Double(train.rows)), 0, f.mixture))
            }
        }
        var best: (score: Double, mixture: GaussianMixture)? = nil
        if let top = fits.min(by: { $0.value < $1.value }) {
            let chosen = fits.first { $0.value <= top.value + top.standardError }!
            best = (chosen.value, chosen.mixture)
        }
        if let b = best {
            out.mixture = score(b.mixture.logDensities(test))
            out.mixtureComponents = b.mixture.count
        }
        return out
    }
}
