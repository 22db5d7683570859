#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNFCore

/// One finding about a user's data set: an error (the fit must not start), a warning (it
/// may go wrong; the message says what to do) or a note. Every message is one line.
public struct DataDiagnostic: Equatable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Comparable {
        case error, warning, note
        private var rank: Int { self == .error ? 0 : (self == .warning ? 1 : 2) }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public enum Code: String, Sendable {
        case constantColumn, rawScale, outliers, integerColumns, dequantizing, nothingToDequantize
        case fewRows, duplicates, manyColumns, droppedMissing
    }

    public let severity: Severity
    public let code: Code
    /// The 0-based columns concerned, if any.
    public let columns: [Int]
    public let message: String

    public init(_ severity: Severity, _ code: Code, columns: [Int] = [], _ message: String) {
        self.severity = severity
        self.code = code
        self.columns = columns
        self.message = message
    }

    /// "error: …", "warning: …" or "note: …".
    public var description: String { "\(severity.rawValue): \(message)" }
}

/// Checks of a user's data set before fitting, with what the user can do about each finding.
///
/// - constant column → error naming the column;
/// - `data.standardize` none on values far from unit scale → warning;
/// - heavy tails or outliers (values many robust standard deviations out, or a standard
///   deviation far above IQR/1.349) → warning suggesting `data.standardize` robust;
/// - whole-number columns with repeated values → warning that a continuous density on
///   discrete values can run off towards −∞ (NLL → −∞), suggesting `data.dequantize` uniform;
/// - fewer than max(`fewRows`, `fewRowsPerColumn` · d) training rows → warning about overfitting
///   (iris, 120 training rows in 4-D, overfits the default network badly);
/// - duplicate rows → counted;
/// - more than `manyColumns` columns → a cost-per-iteration estimate.
public struct DataReport: Sendable {
    public struct Options: Sendable {
        public var standardize: Standardizer.Method = .scale
        public var dequantize: Dequantization = .none
        /// Rows the model is trained on (nil: all rows of the set).
        public var trainingRows: Int? = nil
        public var fewRows = 100
        public var fewRowsPerColumn = 50
        public var manyColumns = 20
        /// The network's hidden widths and the batch size, for the cost line.
        public var hidden: [Int] = [64, 64, 64]
        public var batchSize = 100
        public var exactTrace = false
        /// A value this many robust standard deviations from the median counts as an outlier.
        public var outlierSigmas = 10.0
        public init() {}
    }

    public var diagnostics: [DataDiagnostic]

    public var errors: [DataDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [DataDiagnostic] { diagnostics.filter { $0.severity == .warning } }
    public func has(_ code: DataDiagnostic.Code) -> Bool { diagnostics.contains { $0.code == code } }

    /// Throws the first error as a `DataError` (kind `.constantColumn`), if there is one.
    public func throwIfErrors(path: String? = nil) throws {
        if let e = errors.first {
            throw DataError(.constantColumn, path: path, column: e.columns.first.map { $0 + 1 }, e.message)
        }
    }

    /// "column 2 'mass'" (1-based), or "column 2" without a header.
    public static func columnName(_ data: DataSet, _ j: Int) -> String {
        if let names = data.columnNames, !names[j].isEmpty { return "column \(j + 1) '\(names[j])'" }
        return "column \(j + 1)"
    }

    private static func list(_ data: DataSet, _ cols: [Int]) -> String {
        let shown = cols.prefix(6).map { columnName(data, $0) }.joined(separator: ", ")
        return cols.count > 6 ? shown + " and \(cols.count - 6) more" : shown
    }

    /// Runs every check on `data` (the whole file, as loaded).
    /// - Complexity: O(n·d·log n) (sorting each column, hashing the rows).
    public static func check(_ data: DataSet, options o: Options = Options()) -> DataReport {
        var out = [DataDiagnostic]()
        let n = data.rows, d = data.cols
        let src = data.source

        // Per-column summaries.
        struct Column { var min, max, median, robustScale, std: Double; var whole: Bool; var distinct: Int }
        var columns = [Column]()
        for j in 0..<d {
            let x = (0..<n).map { data[$0, j] }
            let sorted = x.sorted()
            let mean = x.reduce(0, +) / Double(n)
            let std = n > 1 ? (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)).squareRoot() : 0
            let iqr = Standardizer.quantile(sorted, 0.75) - Standardizer.quantile(sorted, 0.25)
            var distinct = n > 0 ? 1 : 0
            for i in 1..<max(n, 1) where sorted[i] != sorted[i - 1] { distinct += 1 }
            columns.append(Column(min: sorted.first ?? 0, max: sorted.last ?? 0,
                                  median: Standardizer.quantile(sorted, 0.5),
                                  robustScale: iqr / Standardizer.normalIQR, std: std,
                                  whole: x.allSatisfy { $0 == $0.rounded() && abs($0) < 0x1p53 }, distinct: distinct))
        }

        // Constant columns.
        for (j, c) in columns.enumerated() where c.min == c.max {
            out.append(DataDiagnostic(.error, .constantColumn, columns: [j],
                                      "\(src): \(columnName(data, j)) is constant (every row is \(formatShort(c.min))); a density over a constant is a point mass: remove the column"))
        }
        let live = columns.indices.filter { columns[$0].min != columns[$0].max }

        // Raw values far from unit scale fed straight to the flow.
        if o.standardize == .none {
            let far = live.filter { j in
                let c = columns[j]
                return max(abs(c.min), abs(c.max)) > 20 || c.std > 10 || c.std < 0.05
            }
            if let worst = far.max(by: { max(abs(columns[$0].min), abs(columns[$0].max)) < max(abs(columns[$1].min), abs(columns[$1].max)) }) {
                let c = columns[worst]
                out.append(DataDiagnostic(.warning, .rawScale, columns: far,
                                          "\(src): data.standardize is none, but \(list(data, far)) \(far.count == 1 ? "is" : "are") far from unit scale (\(columnName(data, worst)): \(formatShort(c.min))..\(formatShort(c.max)), std \(formatShort(c.std))); the flow's base is N(0, I), so expect a slow, poor fit: use data.standardize scale (the default)"))
            }
        }

        // Heavy tails and outliers: far from the median in robust units, or a standard
        // deviation inflated well beyond IQR/1.349.
        if o.standardize != .robust {
            var heavy = [Int](), worstSigmas = 0.0, worstColumn = -1
            for j in live {
                let c = columns[j]
                guard c.robustScale > 0 else { continue }
                let sigmas = max(c.max - c.median, c.median - c.min) / c.robustScale
                if sigmas > o.outlierSigmas || c.std > 3 * c.robustScale {
                    heavy.append(j)
                    if sigmas > worstSigmas { worstSigmas = sigmas; worstColumn = j }
                }
            }
            if !heavy.isEmpty {
                out.append(DataDiagnostic(.warning, .outliers, columns: heavy,
                                          "\(src): \(list(data, heavy)) \(heavy.count == 1 ? "has" : "have") heavy tails or outliers (\(columnName(data, worstColumn)) reaches \(formatShort(worstSigmas)) robust standard deviations from its median); scaling by the standard deviation squeezes the bulk of the data: consider data.standardize robust (median/IQR)"))
            }
        }

        // Whole-number columns with repeated values.
        let whole = live.filter { columns[$0].whole && columns[$0].distinct < n }
        switch o.dequantize {
        case .none where !whole.isEmpty:
            out.append(DataDiagnostic(.warning, .integerColumns, columns: whole,
                                      "\(src): \(list(data, whole)) hold\(whole.count == 1 ? "s" : "") only whole numbers, with repeats; a continuous density on discrete values can pile up on them and its NLL run off towards −∞: consider data.dequantize uniform (adds U(0, 1) noise to these columns; its NLL in nats is then an upper bound on the discrete NLL −log P(x))"))
        case .uniform where whole.isEmpty:
            out.append(DataDiagnostic(.note, .nothingToDequantize,
                                      "\(src): data.dequantize is uniform, but no column holds only whole numbers with repeats; nothing is dequantized"))
        case .uniform:
            out.append(DataDiagnostic(.note, .dequantizing, columns: whole,
                                      "\(src): dequantizing \(list(data, whole)) by adding U(0, 1) noise; the reported NLL (nats) upper-bounds the discrete NLL −log P(x) of the whole-number values"))
        default:
            break
        }

        // Few training rows.
        let train = o.trainingRows ?? n
        if train < max(o.fewRows, o.fewRowsPerColumn * d) {
            out.append(DataDiagnostic(.warning, .fewRows,
                                      "\(src): only \(train) training rows; a flow can fit them too closely (training loss falls while the held-out NLL rises): the default schedule stops when the validation NLL keeps rising above its best, and model.safetensors is then the best validation weights (also kept as best.safetensors); a narrower network also helps"))
        }

        // Duplicate rows.
        let dup = duplicateRows(data)
        if dup.duplicates > 0 {
            let fraction = Double(dup.duplicates) / Double(n)
            out.append(DataDiagnostic(fraction >= 0.01 ? .warning : .note, .duplicates,
                                      "\(src): \(dup.duplicates) of \(n) rows repeat an earlier row (\(dup.repeatedValues) distinct rows occur more than once)"
                                      + (fraction >= 0.01 && o.dequantize == .none && !whole.isEmpty ? "; see the whole-number warning" : "")))
        }

        // Many columns: say what an iteration costs.
        if d > o.manyColumns {
            out.append(DataDiagnostic(.note, .manyColumns, "\(src): " + costLine(dimension: d, hidden: o.hidden, batchSize: o.batchSize, exactTrace: o.exactTrace)))
        }
        return DataReport(diagnostics: out.sorted { $0.severity < $1.severity })
    }

    /// How many rows repeat an earlier row exactly, and how many distinct rows are repeated.
    public static func duplicateRows(_ data: DataSet) -> (duplicates: Int, repeatedValues: Int) {
        var seen = [[UInt64]: Int]()
        seen.reserveCapacity(data.rows)
        for i in 0..<data.rows {
            // +0.0 and −0.0 are the same value.
            seen[data.row(i).map { ($0 == 0 ? 0.0 : $0).bitPattern }, default: 0] += 1
        }
        var duplicates = 0, repeated = 0
        for count in seen.values where count > 1 { duplicates += count - 1; repeated += 1 }
        return (duplicates, repeated)
    }

    /// The expected cost of one function evaluation of the dynamics network, and of an
    /// iteration, for d columns: multiply-adds of the layers d → hidden… → d for the value
    /// and one tangent (Hutchinson) or d tangents (exact trace), about twice that again
    /// per evaluation of the adjoint's backward solve.
    public static func costLine(dimension d: Int, hidden: [Int], batchSize: Int, exactTrace: Bool) -> String {
        let widths = [d] + hidden + [d]
        var macs = 0.0
        for k in 0..<(widths.count - 1) { macs += Double((widths[k] + 1) * widths[k + 1]) }
        let tangents = exactTrace ? Double(d) : 1
        let flop = 2 * macs * Double(batchSize) * (1 + tangents)
        let mflop = flop / 1e6
        let trace = exactTrace ? "exact trace (\(d) tangents per evaluation)" : "Hutchinson trace (1 tangent)"
        return "\(d) columns: one evaluation of the \(hidden.map(String.init).joined(separator: "-")) network on a batch of \(batchSize) with the \(trace) is about \(formatShort(mflop)) MFLOP forward and twice that backward; an iteration takes tens to hundreds of evaluations, and the solver's step count grows with d\(exactTrace ? "" : "; the exact trace (eval, render) costs about \(formatShort((1 + Double(d)) / 2))× more per evaluation")"
    }
}

/// Dequantization of whole-number columns: a continuous density on discrete values can
/// concentrate its mass on them without bound; adding u ~ U(0, 1) to each such value makes
/// the data continuous. With unit bins, P(k) = ∫₀¹ p(k + u) du ≥ exp E_u log p(k + u)
/// (Jensen), so the dequantized NLL, −E log p(k + u), upper-bounds the discrete NLL −log P(k),
/// in nats, for the same model.
public enum Dequantization: String, Codable, CaseIterable, Sendable {
    case none, uniform

    /// The method called `name`.
    /// - Throws: `DataError` of kind `.badOption` listing the known names.
    public static func named(_ name: String) throws -> Dequantization {
        if let m = Dequantization(rawValue: name.lowercased()) { return m }
        throw DataError(.badOption, value: name,
                        "unknown dequantization '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
    }
}

/// Which columns get U(0, 1) noise; stored with the model so that evaluation adds the
/// same kind of noise to the test rows.
public struct Dequantizer: Codable, Equatable, Sendable {
    /// 0-based columns.
    public let columns: [Int]
    public let dimension: Int

    public init(columns: [Int], dimension: Int) {
        precondition(columns.allSatisfy { (0..<dimension).contains($0) }, "dequantizer columns \(columns) out of 0..<\(dimension)")
        self.columns = columns
        self.dimension = dimension
    }

    /// The whole-number columns of `data` with repeated values (those the report warns about).
    public static func detect(_ data: DataSet) -> Dequantizer {
        var cols = [Int]()
        for j in 0..<data.cols {
            var whole = true
            var values = Set<Double>()
            for i in 0..<data.rows {
                let v = data[i, j]
                if v != v.rounded() || abs(v) >= 0x1p53 { whole = false; break }
                values.insert(v)
            }
            if whole && values.count > 1 && values.count < data.rows { cols.append(j) }
        }
        return Dequantizer(columns: cols, dimension: data.cols)
    }

    public var isEmpty: Bool { columns.isEmpty }

    /// Adds u ~ U(0, 1) to the dequantized columns of each row of a row-major n × d array,
    /// drawing from `rng` row by row, column by column.
    public func apply(_ values: inout [Double], using rng: inout Xoshiro256) {
        guard !columns.isEmpty else { return }
        let d = dimension
        precondition(values.count % d == 0, "dequantize: \(values.count) numbers are not rows of \(d)")
        for base in stride(from: 0, to: values.count, by: d) {
            for j in columns { values[base + j] += rng.uniform() }
        }
    }
}
