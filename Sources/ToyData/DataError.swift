/// Why a data file could not be read or written, or a data set name was not known.
///
/// Every error carries one line of text (`description`) that names the file, the
/// 1-based line and column where that applies, and the offending value, e.g.
/// `data.csv line 7, column 2: 'abc' is not a number`. The structured fields
/// (`kind`, `path`, `line`, `column`, `value`) let callers and tests act on the
/// error without parsing the text.
public struct DataError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        case missingFile, unreadable, unknownExtension, empty, tooFewRows
        case notANumber, raggedRow, nonFinite, badText, badNPY
        case unknownDataset, writeFailed
        case missingValue, constantColumn, dependentColumns, badSplit, badOption
    }

    public let kind: Kind
    /// The file concerned (as the caller spelled it), if any.
    public let path: String?
    /// 1-based line of a text file, if the problem is on one line.
    public let line: Int?
    /// 1-based column (cell index) within `line`, if the problem is in one cell.
    public let column: Int?
    /// The offending text or value, if there is one.
    public let value: String?
    /// The one-line message.
    public let description: String

    public init(_ kind: Kind, path: String? = nil, line: Int? = nil, column: Int? = nil,
                value: String? = nil, _ description: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.column = column
        self.value = value
        self.description = description
    }
}

#if canImport(Foundation)
import Foundation

extension DataError: LocalizedError {
    public var errorDescription: String? { description }
}
#endif

// MARK: - The messages, in one place

extension DataError {
    static func missingFile(_ path: String) -> DataError {
        DataError(.missingFile, path: path, "\(path): no such file")
    }

    static func unreadable(_ path: String, _ reason: String) -> DataError {
        DataError(.unreadable, path: path, "\(path): cannot read (\(reason))")
    }

    static func unknownExtension(_ path: String, _ ext: String) -> DataError {
        let shown = ext.isEmpty ? "no extension" : "unknown extension '.\(ext)'"
        return DataError(.unknownExtension, path: path, value: ext,
                         "\(path): \(shown); expected .csv, .txt or .npy")
    }

    static func empty(_ path: String, _ what: String) -> DataError {
        DataError(.empty, path: path, "\(path): \(what)")
    }

    static func tooFewRows(_ path: String, _ rows: Int) -> DataError {
        DataError(.tooFewRows, path: path, value: String(rows),
                  "\(path): has \(rows) data row\(rows == 1 ? "" : "s"); at least 2 are needed")
    }

    static func notANumber(_ path: String, line: Int, column: Int, _ text: String) -> DataError {
        let what = text.isEmpty ? "empty cell" : "'\(text)' is not a number"
        return DataError(.notANumber, path: path, line: line, column: column, value: text,
                         "\(path) line \(line), column \(column): \(what)")
    }

    static func ragged(_ path: String, line: Int, columns: Int, expected: Int, since: Int) -> DataError {
        DataError(.raggedRow, path: path, line: line, value: String(columns),
                  "\(path) line \(line) has \(columns) column\(columns == 1 ? "" : "s"), expected \(expected) (as on line \(since))")
    }

    static func missingValue(_ path: String, line: Int, column: Int, _ text: String, name: String?) -> DataError {
        let what = text.isEmpty ? "missing value (empty cell)" : "missing value '\(text)'"
        let col = name.map { "column \(column) (\($0))" } ?? "column \(column)"
        return DataError(.missingValue, path: path, line: line, column: column, value: text,
                         "\(path) line \(line), \(col): \(what); fill it in, or use data.dropMissing to leave out rows with missing values")
    }

    static func nonFinite(_ path: String, line: Int, column: Int, _ text: String) -> DataError {
        DataError(.nonFinite, path: path, line: line, column: column, value: text,
                  "\(path) line \(line), column \(column): non-finite value '\(text)'")
    }

    /// A non-finite value in a binary array: located by its 0-based NumPy index and
    /// by its 1-based row and column.
    static func nonFinite(_ path: String, row: Int, column: Int, cols: Int, _ value: Double) -> DataError {
        let index = cols == 1 ? "[\(row)]" : "[\(row), \(column)]"
        let hint = value.isNaN ? "; use data.dropMissing to leave out rows with NaN" : ""
        return DataError(.nonFinite, path: path, column: column + 1, value: "\(value)",
                         "\(path) element \(index) (row \(row + 1), column \(column + 1)): non-finite value '\(value)'\(hint)")
    }

    static func badText(_ path: String, line: Int? = nil, _ reason: String) -> DataError {
        let place = line.map { "\(path) line \($0)" } ?? path
        return DataError(.badText, path: path, line: line, "\(place): \(reason)")
    }

    static func badNPY(_ path: String, _ reason: String, value: String? = nil) -> DataError {
        DataError(.badNPY, path: path, value: value, "\(path): not a readable .npy file: \(reason)")
    }

    static func writeFailed(_ path: String, _ reason: String) -> DataError {
        DataError(.writeFailed, path: path, "\(path): cannot write (\(reason))")
    }
}
