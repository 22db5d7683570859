/// Reading and writing numeric CSV.
///
/// The accepted format: one point per line, cells separated by commas (or, in a file
/// with no comma on its first two non-comment lines, by runs of spaces/tabs, as NumPy's
/// `savetxt` writes by default); spaces and tabs around cells ignored; a cell may be
/// wrapped in double quotes (quoted commas are not supported); lines starting with `#`
/// and blank lines are ignored anywhere; CRLF line ends and a UTF-8 byte-order mark are
/// accepted. If the first line's cells are not all numbers (or missing-value markers) it
/// is a header, and its cells become the column names.
///
/// Missing values: an empty cell or one of `CSV.missingMarkers` (`NA`, `nan`, `null`, …,
/// any case). By default they are refused with the line and column; with
/// `MissingValues.drop` the rows holding them are left out and their line numbers returned.
enum CSV {
    /// Cell texts (compared lowercased) that mean "no value".
    static let missingMarkers: Set<String> = ["", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"]

    static func isMissing(_ text: String) -> Bool { missingMarkers.contains(text.lowercased()) }

    private static let comma = UInt8(ascii: ","), hash = UInt8(ascii: "#")
    private static let newline = UInt8(ascii: "\n"), quote = UInt8(ascii: "\"")

    @inline(__always)
    private static func isBlank(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
    }

    private static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi && isBlank(s[lo]) { lo += 1 }
        while hi > lo && isBlank(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    /// A cell's text: trimmed, with one pair of surrounding double quotes removed.
    private static func cellText(_ s: ArraySlice<UInt8>) -> String {
        var t = trimmed(s)
        if t.count >= 2 && t.first == quote && t.last == quote {
            t = trimmed(t[(t.startIndex + 1)..<(t.endIndex - 1)])
        }
        return String(decoding: t, as: UTF8.self)
    }

    private static func cells(_ line: ArraySlice<UInt8>, commaSeparated: Bool) -> [String] {
        if commaSeparated {
            return line.split(separator: comma, omittingEmptySubsequences: false).map(cellText)
        }
        return line.split(whereSeparator: isBlank).map(cellText)
    }

    /// Parses CSV `bytes`; `path` only names the file in errors.
    /// - Complexity: O(file size).
    static func parse(_ bytes: [UInt8], path: String) throws -> DataSet {
        try parse(bytes, path: path, missing: .refuse).data
    }

    /// Parses CSV `bytes`, refusing or dropping rows with missing values as `missing` says.
    static func parse(_ bytes: [UInt8], path: String, missing: MissingValues) throws -> LoadedData {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }   // UTF-8 BOM
        if body.isEmpty { throw DataError.empty(path, "the file is empty") }

        var names: [String]?
        var values = [Double]()
        var rows = 0
        var cols = 0
        var shapeLine = 0          // the line that fixed the column count
        var commaSeparated = true
        var seenContent = false
        var dropped = [Int]()

        let lines = body.split(separator: newline, omittingEmptySubsequences: false)
        // Comma-separated unless neither of the first two content lines has a comma.
        commaSeparated = lines.lazy.map(trimmed).filter { !$0.isEmpty && $0.first != hash }
            .prefix(2).contains { $0.contains(comma) }

        var lineNumber = 0
        for rawLine in lines {
            lineNumber += 1
            let line = trimmed(rawLine)
            if line.isEmpty || line.first == hash { continue }

            if !seenContent {
                seenContent = true
                let first = cells(line, commaSeparated: commaSeparated)
                cols = first.count
                shapeLine = lineNumber
                if !first.allSatisfy({ Double($0) != nil || isMissing($0) }) {
                    names = first
                    continue
                }
            }

            let row = cells(line, commaSeparated: commaSeparated)
            if row.count != cols {
                throw DataError.ragged(path, line: lineNumber, columns: row.count, expected: cols, since: shapeLine)
            }
            // Every present cell must be a finite number, also in a row that is dropped.
            var firstMissing: Int?
            let start = values.count
            for (j, text) in row.enumerated() {
                if isMissing(text) {
                    if firstMissing == nil { firstMissing = j }
                    continue
                }
                guard let v = Double(text) else {
                    throw DataError.notANumber(path, line: lineNumber, column: j + 1, text)
                }
                guard v.isFinite else {
                    throw DataError.nonFinite(path, line: lineNumber, column: j + 1, text)
                }
                values.append(v)
            }
            if let j = firstMissing {
                guard missing == .drop else {
                    throw DataError.missingValue(path, line: lineNumber, column: j + 1, row[j], name: names?[j])
                }
                values.removeSubrange(start...)
                dropped.append(lineNumber)
                continue
            }
            rows += 1
        }

        if rows == 0 && !dropped.isEmpty {
            throw DataError.empty(path, "every one of the \(dropped.count) data rows has a missing value, so none is left")
        }
        if rows == 0 {
            throw DataError.empty(path, names == nil ? "no data rows (only comments or blank lines)"
                                                    : "a header but no data rows")
        }
        if rows < 2 { throw DataError.tooFewRows(path, rows) }
        return LoadedData(data: DataSet(rows: rows, cols: cols, values: values, source: path, columnNames: names),
                          droppedLines: dropped)
    }

    /// The CSV text of `data`: an optional header line, then one line per row, each number
    /// written by `Double.description`, which is the shortest text that reads back as the
    /// same `Double` (so a write–read round trip is exact).
    static func format(_ data: DataSet, header: [String]?, path: String) throws -> [UInt8] {
        guard data.cols >= 1 else { throw DataError.writeFailed(path, "the data set has no columns") }
        var text = ""
        if let header {
            try validate(header: header, cols: data.cols, path: path)
            text += header.joined(separator: ",") + "\n"
        }
        text.reserveCapacity(text.utf8.count + data.values.count * 22)
        for i in 0..<data.rows {
            for j in 0..<data.cols {
                let v = data[i, j]
                guard v.isFinite else {
                    throw DataError.writeFailed(path, "non-finite value \(v) at row \(i + 1), column \(j + 1); the reader rejects it")
                }
                if j > 0 { text += "," }
                text += v.description
            }
            text += "\n"
        }
        return Array(text.utf8)
    }

    /// A header must read back as the same names, and as a header.
    private static func validate(header: [String], cols: Int, path: String) throws {
        guard header.count == cols else {
            throw DataError.writeFailed(path, "header has \(header.count) names for \(cols) columns")
        }
        for name in header {
            if name.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                throw DataError.writeFailed(path, "header name '\(name)' contains a comma, quote or line break")
            }
            if name.first.map({ $0 == " " || $0 == "\t" }) == true || name.last.map({ $0 == " " || $0 == "\t" }) == true {
                throw DataError.writeFailed(path, "header name '\(name)' has surrounding spaces, which the reader trims")
            }
        }
        if cols == 1 && header[0].isEmpty {
            throw DataError.writeFailed(path, "the only header name is empty, which would read back as a blank line")
        }
        if header.first?.hasPrefix("#") == true {
            throw DataError.writeFailed(path, "header name '\(header[0])' starts with '#', which marks a comment line")
        }
        if header.allSatisfy({ Double($0) != nil }) {
            throw DataError.writeFailed(path, "header \(header) is all numbers, so it would read back as data")
        }
    }
}
