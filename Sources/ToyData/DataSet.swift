import CNFCore

/// A table of points: `rows` points of dimension `cols`, row-major
/// (`values[i * cols + j]` is coordinate j of point i).
public struct DataSet: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    public var values: [Double]
    /// Where the data came from: a file path or a toy data set name.
    public var source: String
    /// Column names from a CSV header, if the file had one.
    public var columnNames: [String]?

    /// - Precondition: `values.count == rows * cols`, and `columnNames`, if given, has `cols` names.
    public init(rows: Int, cols: Int, values: [Double], source: String, columnNames: [String]? = nil) {
        precondition(rows >= 0 && cols >= 0, "DataSet shape must be non-negative, got \(rows) × \(cols)")
        precondition(values.count == rows * cols,
                     "DataSet \(source): \(values.count) values do not fill \(rows) × \(cols)")
        precondition(columnNames == nil || columnNames!.count == cols,
                     "DataSet \(source): \(columnNames?.count ?? 0) column names for \(cols) columns")
        self.rows = rows
        self.cols = cols
        self.values = values
        self.source = source
        self.columnNames = columnNames
    }

    /// Coordinate `col` of point `row`.
    @inlinable public subscript(row: Int, col: Int) -> Double {
        values[row * cols + col]
    }

    /// Point `i` as an array of `cols` numbers.
    public func row(_ i: Int) -> [Double] { Array(values[(i * cols)..<((i + 1) * cols)]) }

    /// The same numbers as a `Matrix` (rows × cols), converted to `Scalar`.
    public func matrix<Scalar: BLASScalar>(_: Scalar.Type = Scalar.self) -> Matrix<Scalar> {
        Matrix(rows: rows, cols: cols, storage: values.map { Scalar($0) })
    }
}
