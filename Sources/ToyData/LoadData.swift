/// Reads a data set from a `.csv` / `.txt` file (numeric CSV, see `CSV`) or a `.npy`
/// file (NumPy array of shape (n,) or (n, d); see `NPY`). A 1-D array or a one-column
/// CSV gives a data set with `cols == 1`.
///
/// - Throws: `DataError` naming the file (and the line and column where that applies)
///   for a missing or unreadable file, an unknown extension, an empty file, fewer than
///   2 rows, a non-numeric or non-finite cell, ragged rows, or a malformed `.npy`.
/// - Complexity: O(file size).
public func loadData(path: String) throws -> DataSet {
    try loadData(path: path, missing: .refuse).data
}

/// What to do with a missing value (an empty cell, `NA`, `nan`, … in a CSV; NaN in a `.npy`).
public enum MissingValues: String, Sendable, CaseIterable {
    /// Stop with an error naming the line and column (the default).
    case refuse
    /// Leave out every row that holds one, and report which.
    case drop
}

/// A data set read from a file, with the rows left out for missing values.
public struct LoadedData: Sendable {
    public var data: DataSet
    /// 1-based line numbers (CSV) or row numbers (`.npy`) of the rows left out.
    public var droppedLines: [Int]

    /// One line for the user, or nil if nothing was dropped.
    public var droppedSummary: String? {
        guard let first = droppedLines.first else { return nil }
        let total = data.rows + droppedLines.count
        let unit = fileExtension(data.source) == "npy" ? "row" : "line"
        return "\(data.source): left out \(droppedLines.count) of \(total) rows with missing values (first at \(unit) \(first))"
    }
}

/// `loadData(path:)`, with missing values refused or their rows dropped.
public func loadData(path: String, missing: MissingValues) throws -> LoadedData {
    switch fileExtension(path) {
    case "csv", "txt":
        return try CSV.parse(FileIO.contents(of: path), path: path, missing: missing)
    case "npy":
        return try NPY.parse(FileIO.contents(of: path), path: path, missing: missing)
    case let other:
        throw DataError.unknownExtension(path, other)
    }
}

/// Writes `data` as CSV to `path`, atomically (a temporary file in the same folder,
/// then a rename). Numbers are written by `Double.description`, the shortest text that
/// reads back as the same `Double`, so `loadData` returns exactly the written values.
///
/// - Parameter header: column names for a first line, or nil for none. Names may not
///   contain commas, quotes or line breaks, nor all be numbers (they would read back
///   as data).
/// - Throws: `DataError` of kind `.writeFailed` naming `path`, also for a non-finite value
///   (which `loadData` would reject).
public func writeCSV(_ data: DataSet, path: String, header: [String]? = nil) throws {
    try FileIO.writeAtomically(CSV.format(data, header: header, path: path), to: path)
}

/// Writes `data` as a NumPy `.npy` file (format 1.0, dtype '<f8', C order, shape
/// (rows, cols)) to `path`, atomically. Values are stored bit for bit.
/// - Throws: `DataError` of kind `.writeFailed` naming `path`, also for a non-finite value.
public func writeNPY(_ data: DataSet, path: String) throws {
    try FileIO.writeAtomically(NPY.format(data, path: path), to: path)
}

/// The lowercased extension of the last path component ("" if none).
func fileExtension(_ path: String) -> String {
    let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
    return name[name.index(after: dot)...].lowercased()
}
