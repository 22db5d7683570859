#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An affine map that brings a user's data to roughly unit scale before the flow sees it,
/// and back; part of the model (stored in the checkpoint), fitted on the training rows only.
///
///     z = A (x − c),      x = c + L z,      A = L⁻¹
///
/// with c a centre and L lower triangular: diagonal (per-column scale) for `scale`,
/// `robust` and `none`; the Cholesky factor of the covariance for `whiten` (so z has
/// identity sample covariance on the training rows).
///
/// Densities: if the flow gives log p_z(z) for the standardized point, the density of the
/// data in its own units is
///
///     log p_x(x) = log p_z(A (x − c)) + log |det A|,     log |det A| = −Σ_j log L_jj,
///
/// `logAbsDetJacobian`. So a model's NLL reported in data units moves by exactly
/// d·ln 1000 when every column is multiplied by 1000, and not at all when a constant
/// is added, as a density in those units must.
public struct Standardizer: Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Method: String, Codable, CaseIterable, Sendable {
        /// Per column: subtract the mean, divide by the standard deviation (the default).
        case scale
        /// Per column: subtract the median, divide by IQR / 1.349 (the IQR of N(0, 1)), so a
        /// few huge values do not squeeze the bulk of the data towards 0.
        case robust
        /// Subtract the mean and multiply by L⁻¹, L Lᵀ the sample covariance (Cholesky):
        /// decorrelates the columns as well.
        case whiten
        /// The identity: the flow sees the raw numbers.
        case none

        /// The method called `name`.
        /// - Throws: `DataError` of kind `.badOption` listing the known names.
        public static func named(_ name: String) throws -> Method {
            if let m = Method(rawValue: name.lowercased()) { return m }
            throw DataError(.badOption, value: name,
                            "unknown standardization '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    public let method: Method
    /// c, one per column.
    public let center: [Double]
    /// The diagonal of L: the scale of each column (its standard deviation for `scale`).
    public let scale: [Double]
    /// For `whiten` only: L's rows, `cholesky[i][j]` for j ≤ i (the covariance is L Lᵀ).
    public let cholesky: [[Double]]?

    public var dimension: Int { center.count }

    /// The identity map on `dimension` columns.
    public static func identity(dimension d: Int) -> Standardizer {
        Standardizer(method: .none, center: Array(repeating: 0, count: d), scale: Array(repeating: 1, count: d), cholesky: nil)
    }

    public init(method: Method, center: [Double], scale: [Double], cholesky: [[Double]]? = nil) {
        precondition(center.count == scale.count, "standardizer: \(center.count) centres for \(scale.count) scales")
        precondition(scale.allSatisfy { $0 > 0 && $0.isFinite }, "standardizer scales must be positive and finite: \(scale)")
        if let l = cholesky {
            precondition(l.count == center.count && l.enumerated().allSatisfy { $0.element.count == $0.offset + 1 },
                         "standardizer: the Cholesky factor must have rows of length 1, 2, …, d")
        }
        self.method = method
        self.center = center
        self.scale = scale
        self.cholesky = cholesky
    }

    /// L[i][j] (0 above the diagonal).
    @inline(__always)
    private func l(_ i: Int, _ j: Int) -> Double {
        if let c = cholesky { return j <= i ? c[i][j] : 0 }
        return i == j ? scale[i] : 0
    }

    /// log |det ∂z/∂x| = log |det A| = −Σ_j log L_jj: add it to the flow's log-density of
    /// the standardized point to get the log-density in data units.
    public var logAbsDetJacobian: Double {
        -scale.reduce(0) { $0 + log($1) }
    }

    /// Whether the map is the identity (then the flow sees the raw numbers).
    public var isIdentity: Bool {
        cholesky == nil && center.allSatisfy { $0 == 0 } && scale.allSatisfy { $0 == 1 }
    }

    // MARK: Fitting

    /// Fits the map on `rows` of `data` (all rows if nil): the training rows.
    ///
    /// - Throws: `DataError` of kind `.constantColumn` naming a column that is constant on
    ///   these rows (nothing to scale by; a density over it is a point mass), or
    ///   `.dependentColumns` if `whiten` meets a singular covariance.
    /// - Complexity: O(n·d) for the per-column methods (O(n log n) per column for `robust`),
    ///   O(n·d² + d³) for `whiten`. Sums run in row order, so the result is the same bits on
    ///   every run.
    public static func fit(_ data: DataSet, rows: [Int]? = nil, method: Method) throws -> Standardizer {
        let d = data.cols
        let index = rows ?? Array(0..<data.rows)
        precondition(index.count >= 1, "standardizer needs at least one row")
        if method == .none { return identity(dimension: d) }
        let n = Double(index.count)

        func column(_ j: Int) -> [Double] { index.map { data[$0, j] } }
        func name(_ j: Int) -> String { DataReport.columnName(data, j) }

        var center = [Double](repeating: 0, count: d)
        var scale = [Double](repeating: 1, count: d)
        for j in 0..<d {
            let x = column(j)
            let lo = x.min()!, hi = x.max()!
            if lo == hi || index.count < 2 {
                throw DataError(.constantColumn, path: data.source, column: j + 1, value: "\(lo)",
                                "\(data.source): \(name(j)) is constant (\(lo)) on the \(index.count) training rows; nothing to scale by, and a density over a constant is a point mass: remove the column")
            }
            switch method {
            case .scale, .whiten:
                let mean = x.reduce(0, +) / n
                center[j] = mean
                scale[j] = (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
            case .robust:
                let sorted = x.sorted()
                center[j] = quantile(sorted, 0.5)
                let iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25)
                if iqr > 0 {
                    scale[j] = iqr / normalIQR
                } else {
                    // More than half the rows share one value: fall back to the standard deviation.
                    let mean = x.reduce(0, +) / n
                    scale[j] = (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
                }
            case .none:
                break
            }
            if !(scale[j] > 0 && scale[j].isFinite) {
                throw DataError(.constantColumn, path: data.source, column: j + 1, value: "\(scale[j])",
                                "\(data.source): \(name(j)) has no usable spread (scale \(scale[j])) on the training rows")
            }
        }
        guard method == .whiten else { return Standardizer(method: method, center: center, scale: scale) }

        // Covariance in units of each column's standard deviation (the correlation matrix),
        // for a well-scaled factorization; L = diag(s) · chol(R).
        var r = [Double](repeating: 0, count: d * d)
        for i in index {
            for a in 0..<d {
                let ua = (data[i, a] - center[a]) / scale[a]
                for b in 0...a { r[a * d + b] += ua * (data[i, b] - center[b]) / scale[b] }
            }
        }
        for a in 0..<d { for b in 0...a { r[a * d + b] /= (n - 1) } }
        var chol = [[Double]]()
        var lr = [Double](repeating: 0, count: d * d)   // chol(R), row-major
        for a in 0..<d {
            var row = [Double](repeating: 0, count: a + 1)
            for b in 0...a {
                var s = r[a * d + b]
                for k in 0..<b { s -= lr[a * d + k] * lr[b * d + k] }
                if a == b {
                    // The pivot is the variance of column a left unexplained by the earlier ones.
                    guard s > 1e-10 else {
                        let names = (0...a).map(name).joined(separator: ", ")
                        throw DataError(.dependentColumns, path: data.source, column: a + 1,
                                        "\(data.source): \(name(a)) is (almost) a linear combination of the columns before it (among \(names)); whitening needs an invertible covariance: drop the column or use data.standardize scale")
                    }
                    lr[a * d + a] = s.squareRoot()
                } else {
                    lr[a * d + b] = s / lr[b * d + b]
                }
            }
            for b in 0...a { row[b] = scale[a] * lr[a * d + b] }
            chol.append(row)
        }
        return Standardizer(method: .whiten, center: center, scale: (0..<d).map { chol[$0][$0] }, cholesky: chol)
    }

    /// The interquartile range of N(0, 1): 2 Φ⁻¹(3/4).
    public static let normalIQR = 1.3489795003921634

    /// The q-quantile of sorted values, linearly interpolated between order statistics
    /// (NumPy's default, "type 7").
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty)
        let h = q * Double(sorted.count - 1)
        let i = Int(h.rounded(.down)), f = h - Double(i)
        return i + 1 < sorted.count ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i]
    }

    // MARK: Maps

    /// z = A (x − c) for each row of a row-major n × d array.
    public func standardize(_ x: [Double]) -> [Double] {
        let d = dimension
        precondition(d > 0 && x.count % d == 0, "standardize: \(x.count) numbers are not rows of \(d)")
        var z = [Double](repeating: 0, count: x.count)
        for base in stride(from: 0, to: x.count, by: d) {
            // Forward substitution L z = x − c (one division per column when L is diagonal).
            for i in 0..<d {
                var s = x[base + i] - center[i]
                if let c = cholesky { for k in 0..<i { s -= c[i][k] * z[base + k] } }
                z[base + i] = s / scale[i]
            }
        }
        return z
    }

    /// x = c + L z for each row: the inverse of `standardize`.
    public func unstandardize(_ z: [Double]) -> [Double] {
        let d = dimension
        precondition(d > 0 && z.count % d == 0, "unstandardize: \(z.count) numbers are not rows of \(d)")
        var x = [Double](repeating: 0, count: z.count)
        for base in stride(from: 0, to: z.count, by: d) {
            for i in 0..<d {
                var s = center[i]
                if let c = cholesky {
                    for k in 0...i { s += c[i][k] * z[base + k] }
                } else {
                    s += scale[i] * z[base + i]
                }
                x[base + i] = s
            }
        }
        return x
    }

    /// Log-densities of the standardized points → log-densities in data units.
    public func dataLogDensity(_ standardizedLogDensity: [Double]) -> [Double] {
        let shift = logAbsDetJacobian
        return standardizedLogDensity.map { $0 + shift }
    }

    public var description: String {
        func list(_ v: [Double]) -> String { "(" + v.map { formatShort($0) }.joined(separator: ", ") + ")" }
        switch method {
        case .none: return "none (the flow sees the raw values)"
        case .scale: return "scale: x → (x − mean) / std, mean \(list(center)), std \(list(scale))"
        case .robust: return "robust: x → (x − median) / (IQR/1.349), median \(list(center)), IQR/1.349 \(list(scale))"
        case .whiten: return "whiten: x → L⁻¹ (x − mean), covariance L Lᵀ, mean \(list(center)), diag L \(list(scale))"
        }
    }
}

/// A number in at most 4 significant digits, for messages.
func formatShort(_ v: Double) -> String {
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 {
        var e = Int(log10(a).rounded(.down))
        var m = v / pow(10, Double(e))
        m = (m * 1000).rounded() / 1000
        if abs(m) >= 10 { m /= 10; e += 1 }
        return "\(trimZeros(m))e\(e)"
    }
    let digits = max(0, 3 - Int(log10(a).rounded(.down)))
    let f = pow(10, Double(digits))
    return trimZeros((v * f).rounded() / f)
}

private func trimZeros(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
    return "\(v)"
}
