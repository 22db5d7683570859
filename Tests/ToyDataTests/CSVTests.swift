import XCTest
import CNFCore
@testable import ToyData

final class CSVTests: FileTestCase {
    /// Values of every magnitude, sign, subnormals and −0: `description` must read back bit for bit.
    func awkwardValues(_ n: Int, seed: UInt64) -> [Double] {
        var rng = Xoshiro256(seed: seed)
        var v = (0..<n).map { _ in rng.normal() * pow(10, Double(rng.int(below: 40)) - 20) }
        v += [0, -0.0, 1, -1, 0.1, 1.0 / 3, .pi, Double.leastNormalMagnitude / 1024, -Double.leastNonzeroMagnitude, .greatestFiniteMagnitude,
              -.greatestFiniteMagnitude, .leastNormalMagnitude, 123456789012345680, 1e16, 1e-5, 2.5e-7]
        return v.count % 2 == 0 ? v : v + [42]
    }

    func testRoundTripIsExact() throws {
        let values = awkwardValues(2001, seed: 1)
        let data = DataSet(rows: values.count / 2, cols: 2, values: values, source: "test")
        let path = folder + "/points.csv"
        try writeCSV(data, path: path)
        let back = try loadData(path: path)
        XCTAssertEqual(back.rows, data.rows)
        XCTAssertEqual(back.cols, 2)
        XCTAssertEqual(back.values.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertNil(back.columnNames)
        XCTAssertEqual(back.source, path)
    }

    func testRoundTripWithHeaderAndOtherWidths() throws {
        for cols in [1, 3, 7] {
            let values = awkwardValues(10 * cols + 4, seed: UInt64(cols))
            let usable = values.count / cols * cols
            let data = DataSet(rows: usable / cols, cols: cols, values: Array(values[0..<usable]), source: "test")
            let header = (0..<cols).map { "c\($0)" }
            let path = folder + "/w\(cols).csv"
            try writeCSV(data, path: path, header: header)
            let back = try loadData(path: path)
            XCTAssertEqual(back.columnNames, header)
            XCTAssertEqual(back.cols, cols)
            XCTAssertEqual(back.values.map(\.bitPattern), data.values.map(\.bitPattern))
        }
    }

    func testHeaderDetection() throws {
        let named = try loadData(path: file("a.csv", text: "x,y\n1,2\n3,4\n"))
        XCTAssertEqual(named.columnNames, ["x", "y"])
        XCTAssertEqual(named.values, [1, 2, 3, 4])

        let plain = try loadData(path: file("b.csv", text: "1,2\n3,4\n"))
        XCTAssertNil(plain.columnNames)
        XCTAssertEqual(plain.rows, 2)

        // One non-numeric cell is enough to make a header; quotes around names are dropped.
        let mixed = try loadData(path: file("c.csv", text: "\"t\", 1\n5,6\n7,8\n"))
        XCTAssertEqual(mixed.columnNames, ["t", "1"])
        XCTAssertEqual(mixed.values, [5, 6, 7, 8])
    }

    func testCommentsBlanksWhitespaceAndLineEnds() throws {
        let text = "\u{FEFF}# made by hand\r\n  x ,\ty \r\n\r\n 1.5 , -2 \r\n# a comment\r\n\t3e2,\"4\"\r\n\r\n\n  \n"
        let d = try loadData(path: file("messy.csv", text: text))
        XCTAssertEqual(d.columnNames, ["x", "y"])
        XCTAssertEqual(d.rows, 2)
        XCTAssertEqual(d.values, [1.5, -2, 300, 4])
    }

    func testWhitespaceSeparatedAndSingleColumn() throws {
        // np.savetxt's default: numbers separated by single spaces.
        let spaced = try loadData(path: file("s.txt", text: "1.0e+00 2.0e+00\n3 \t 4\n"))
        XCTAssertEqual(spaced.cols, 2)
        XCTAssertEqual(spaced.values, [1, 2, 3, 4])
        let single = try loadData(path: file("one.csv", text: "v\n1\n2\n3\n"))
        XCTAssertEqual(single.cols, 1)
        XCTAssertEqual(single.values, [1, 2, 3])
        XCTAssertEqual(single.columnNames, ["v"])
    }

    // MARK: malformed files

    func testNonNumericCell() throws {
        let path = try file("data.csv", text: "x,y\n1,2\n\n# note\n3,4\n5,6\n7,abc\n")
        let e = assertLoadFails(path, .notANumber, "line 7, column 2: 'abc' is not a number")
        XCTAssertEqual(e?.line, 7)
        XCTAssertEqual(e?.column, 2)
        XCTAssertEqual(e?.value, "abc")
        assertLoadFails(try file("gap.csv", text: "1,2\n3,\n"), .missingValue, "line 2, column 2: missing value (empty cell)")
    }

    func testRaggedRow() throws {
        let path = try file("data.csv", text: "1,2\n3,4\n5,6\n7,8\n9,10,11\n")
        let e = assertLoadFails(path, .raggedRow, "line 5 has 3 columns, expected 2")
        XCTAssertEqual(e?.line, 5)
        assertLoadFails(try file("short.csv", text: "a,b,c\n1,2,3\n4,5\n"), .raggedRow, "line 3 has 2 columns, expected 3")
    }

    func testNonFiniteValues() throws {
        for (word, col) in [("inf", 2), ("-Infinity", 1), ("+inf", 2)] {
            let cells = col == 1 ? "\(word),1" : "1,\(word)"
            let path = try file("nf-\(word).csv", text: "x,y\n1,2\n\(cells)\n")
            let e = assertLoadFails(path, .nonFinite, "line 3, column \(col): non-finite value '\(word)'")
            XCTAssertEqual(e?.line, 3)
            XCTAssertEqual(e?.column, col)
        }
    }

    // MARK: missing values

    /// NA, nan, empty cells and the other markers are refused with the line, the column
    /// (and its header name) and what to do.
    func testMissingValuesRefused() throws {
        for (cell, col) in [("NA", 2), ("nan", 1), ("NaN", 2), ("", 1), ("null", 2), ("?", 1), ("N/A", 2)] {
            let cells = col == 1 ? "\(cell),1" : "1,\(cell)"
            let path = try file("m.csv", text: "x,y\n1,2\n\(cells)\n3,4\n")
            let shown = cell.isEmpty ? "missing value (empty cell)" : "missing value '\(cell)'"
            let name = col == 1 ? "x" : "y"
            let e = assertLoadFails(path, .missingValue, "line 3, column \(col) (\(name)): \(shown)", "data.dropMissing")
            XCTAssertEqual(e?.line, 3)
            XCTAssertEqual(e?.column, col)
        }
    }

    /// With `.drop` the rows holding missing values are left out and reported by line;
    /// a non-number in a dropped row is still an error, and so is a file left empty.
    func testMissingValuesDropped() throws {
        let path = try file("m.csv", text: "a,b\n1,2\nNA,4\n\n5,\n7,8\nnan,nan\n9,10\n")
        let loaded = try loadData(path: path, missing: .drop)
        XCTAssertEqual(loaded.data.values, [1, 2, 7, 8, 9, 10])
        XCTAssertEqual(loaded.data.rows, 3)
        XCTAssertEqual(loaded.data.columnNames, ["a", "b"])
        XCTAssertEqual(loaded.droppedLines, [3, 5, 7])
        let summary = try XCTUnwrap(loaded.droppedSummary)
        XCTAssert(summary.contains("left out 3 of 6 rows") && summary.contains("first at line 3"), summary)
        XCTAssertNil(try loadData(path: try file("ok.csv", text: "1,2\n3,4\n"), missing: .drop).droppedSummary)

        let bad = try file("bad.csv", text: "1,2\nNA,abc\n3,4\n")
        XCTAssertThrowsError(try loadData(path: bad, missing: .drop)) { e in
            XCTAssertEqual((e as? DataError)?.kind, .notANumber, "\(e)")
        }
        let all = try file("all.csv", text: "x,y\nNA,1\n2,NA\n")
        XCTAssertThrowsError(try loadData(path: all, missing: .drop)) { e in
            XCTAssertEqual((e as? DataError)?.kind, .empty, "\(e)")
            XCTAssert("\(e)".contains("every one of the 2 data rows"), "\(e)")
        }
    }

    /// A first line of numbers and missing markers is data, not a header.
    func testFirstLineWithMissingValueIsData() throws {
        let path = try file("m.csv", text: "1,NA\n3,4\n5,6\n")
        assertLoadFails(path, .missingValue, "line 1, column 2")
        let loaded = try loadData(path: path, missing: .drop)
        XCTAssertNil(loaded.data.columnNames)
        XCTAssertEqual(loaded.data.values, [3, 4, 5, 6])
    }

    func testEmptyAndTooShortFiles() throws {
        assertLoadFails(try file("empty.csv", []), .empty, "empty")
        assertLoadFails(try file("comments.csv", text: "# nothing\n\n"), .empty, "no data rows")
        assertLoadFails(try file("header.csv", text: "x,y\n"), .empty, "header but no data rows")
        let e = assertLoadFails(try file("one.csv", text: "x,y\n1,2\n"), .tooFewRows, "1 data row", "at least 2")
        XCTAssertEqual(e?.value, "1")
    }

    func testMissingFileUnknownExtensionAndFolder() throws {
        assertLoadFails(folder + "/nothing.csv", .missingFile, "no such file")
        assertLoadFails(try file("points.json", text: "[1, 2]"), .unknownExtension, "'.json'")
        assertLoadFails(try file("points", text: "1,2\n3,4\n"), .unknownExtension, "no extension")
        try FileManager.default.createDirectory(atPath: folder + "/dir.csv", withIntermediateDirectories: false)
        assertLoadFails(folder + "/dir.csv", .unreadable, "directory")
        // Extensions are matched without regard to case.
        XCTAssertEqual(try loadData(path: file("UPPER.CSV", text: "1\n2\n")).rows, 2)
    }

    // MARK: writing

    func testWriteIsAtomicAndReplaces() throws {
        let path = folder + "/out.csv"
        try file("out.csv", text: "old contents\n")
        let data = DataSet(rows: 3, cols: 2, values: [1, 2, 3, 4, 5, 6], source: "t")
        try writeCSV(data, path: path, header: ["x", "y"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "x,y\n1.0,2.0\n3.0,4.0\n5.0,6.0\n")
        XCTAssertEqual(try contentsOfFolder(), ["out.csv"], "no temporary file left behind")
    }

    func testWriteErrorsNameThePath() throws {
        let data = DataSet(rows: 2, cols: 2, values: [1, 2, 3, 4], source: "t")
        func assertWriteFails(_ path: String, header: [String]? = nil, _ data: DataSet, _ fragment: String,
                              line: UInt = #line) {
            XCTAssertThrowsError(try writeCSV(data, path: path, header: header), line: line) { error in
                let e = error as? DataError
                XCTAssertEqual(e?.kind, .writeFailed, line: line)
                XCTAssert(e?.description.contains(path) == true, "\(error)", line: line)
                XCTAssert(e?.description.contains(fragment) == true, "\(error)", line: line)
            }
        }
        assertWriteFails(folder + "/no/such/folder/x.csv", data, "No such file")
        assertWriteFails(folder + "/h.csv", header: ["x"], data, "1 names for 2 columns")
        assertWriteFails(folder + "/h.csv", header: ["a,b", "c"], data, "comma")
        assertWriteFails(folder + "/h.csv", header: ["1", "2"], data, "all numbers")
        assertWriteFails(folder + "/h.csv", header: ["#x", "y"], data, "comment")
        assertWriteFails(folder + "/h.csv", header: [" x", "y"], data, "spaces")
        let bad = DataSet(rows: 2, cols: 2, values: [1, 2, .nan, 4], source: "t")
        assertWriteFails(folder + "/n.csv", bad, "row 2, column 1")
        XCTAssertEqual(try contentsOfFolder(), [], "failed writes leave nothing behind")
    }
}
