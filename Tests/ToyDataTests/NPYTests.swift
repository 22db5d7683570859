import XCTest
import CNFCore
@testable import ToyData

final class NPYTests: FileTestCase {
    func testRoundTripF8IsExact() throws {
        var rng = Xoshiro256(seed: 2)
        let values = (0..<3000).map { _ in rng.normal() * pow(10, Double(rng.int(below: 600)) - 300) } + [-0.0, Double.leastNonzeroMagnitude, 0]
        let data = DataSet(rows: 1001, cols: 3, values: values, source: "t")
        let path = folder + "/a.npy"
        try writeNPY(data, path: path)
        let back = try loadData(path: path)
        XCTAssertEqual(back.rows, 1001)
        XCTAssertEqual(back.cols, 3)
        XCTAssertEqual(back.values.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(try contentsOfFolder(), ["a.npy"], "no temporary file left behind")
    }

    /// The writer's bytes equal NumPy's `np.save` of the same float64 array.
    func testWriterMatchesNumPyBytes() throws {
        let data = DataSet(rows: 3, cols: 2, values: [1.5, -2.0, 0.1, 1e-300, 3.0, 4.0], source: "t")
        let path = folder + "/same.npy"
        try writeNPY(data, path: path)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), NPYFixtures.bytes(NPYFixtures.f8))
    }

    func testReadsNumPyFiles() throws {
        let f8 = try loadData(path: file("f8.npy", NPYFixtures.bytes(NPYFixtures.f8)))
        XCTAssertEqual(f8.values, [1.5, -2.0, 0.1, 1e-300, 3.0, 4.0])

        let f4 = try loadData(path: file("f4.npy", NPYFixtures.bytes(NPYFixtures.f4)))
        XCTAssertEqual(f4.rows, 3)
        XCTAssertEqual(f4.cols, 2)
        XCTAssertEqual(f4.values.map(\.bitPattern),
                       ([0.5, -1.25, 3e-3, 7.0, 1e10, -0.0] as [Float]).map { Double($0).bitPattern })

        let i8 = try loadData(path: file("i8.npy", NPYFixtures.bytes(NPYFixtures.i8)))
        XCTAssertEqual(i8.cols, 1, "shape (n,) is one column")
        XCTAssertEqual(i8.values, [1, -2, 3, 40_000_000_000])

        let i4 = try loadData(path: file("i4.npy", NPYFixtures.bytes(NPYFixtures.i4)))
        XCTAssertEqual(i4.cols, 3)
        XCTAssertEqual(i4.values, [1, -2, 3, 4, 5, -2_147_483_648])

        let u1 = try loadData(path: file("u1.npy", NPYFixtures.bytes(NPYFixtures.u1)))
        XCTAssertEqual(u1.values, [0, 255, 7])

        for (name, fixture) in [("v2be.npy", NPYFixtures.f8BigEndianV2), ("v3.npy", NPYFixtures.f8V3)] {
            let d = try loadData(path: file(name, NPYFixtures.bytes(fixture)))
            XCTAssertEqual(d.values, [1.0, 2.0, -3.5, 1e-7], name)
        }
    }

    // MARK: malformed files

    func testUnsupportedLayoutsAndTypes() throws {
        assertLoadFails(try file("fortran.npy", NPYFixtures.bytes(NPYFixtures.fortran)), .badNPY, "fortran_order is True")
        let c = assertLoadFails(try file("complex.npy", NPYFixtures.bytes(NPYFixtures.complex)), .badNPY, "unsupported dtype '<c16'")
        XCTAssertEqual(c?.value, "<c16")
        assertLoadFails(try file("struct.npy", NPYFixtures.bytes(NPYFixtures.structured)), .badNPY, "structured")
        assertLoadFails(try file("cube.npy", NPYFixtures.bytes(NPYFixtures.threeD)), .badNPY, "(2, 2, 2)", "3 dimensions")
        assertLoadFails(try file("scalar.npy", NPYFixtures.bytes(NPYFixtures.scalar)), .badNPY, "shape ()")
    }

    func testBadMagicVersionHeaderAndTruncation() throws {
        let good = NPYFixtures.bytes(NPYFixtures.f8)
        assertLoadFails(try file("magic.npy", Array("PK\u{3}\u{4} not numpy at all".utf8)), .badNPY, "bad magic")
        var v4 = good; v4[6] = 4
        assertLoadFails(try file("v4.npy", v4), .badNPY, "version 4.0")
        assertLoadFails(try file("cut-header.npy", Array(good[0..<40])), .badNPY, "truncated header")
        assertLoadFails(try file("cut-data.npy", Array(good.dropLast(3))), .badNPY, "truncated data", "needs 48 bytes", "has 45")
        assertLoadFails(try file("extra.npy", good + [0, 0, 0, 0, 0, 0, 0, 0]), .badNPY, "8 unexpected bytes")
        var garbled = good
        let brace = garbled.firstIndex(of: UInt8(ascii: "{"))!
        garbled[brace] = UInt8(ascii: "<")
        assertLoadFails(try file("garbled.npy", garbled), .badNPY, "not a Python dict literal")
        assertLoadFails(try file("empty.npy", []), .empty, "empty")
    }

    func testRowCountsAndNonFinite() throws {
        let path = folder + "/one.npy"
        try writeNPY(DataSet(rows: 1, cols: 2, values: [1, 2], source: "t"), path: path)
        assertLoadFails(path, .tooFewRows, "1 data row")
        let zero = folder + "/zero.npy"
        try writeNPY(DataSet(rows: 0, cols: 2, values: [], source: "t"), path: zero)
        assertLoadFails(zero, .empty, "(0, 2)")
        let e = assertLoadFails(try file("nan.npy", NPYFixtures.bytes(NPYFixtures.nan)), .nonFinite,
                                "element [1, 0] (row 2, column 1): non-finite value 'nan'")
        XCTAssertEqual(e?.column, 1)
        XCTAssert(e?.description.contains("data.dropMissing") == true, e?.description ?? "")
    }

    /// NaN elements are missing values: `.drop` leaves out their rows.
    func testNaNRowsDropped() throws {
        let path = folder + "/nan3.npy"
        var values: [Double] = [1, 2, 3, 4, 5, 6]
        try writeNPY(DataSet(rows: 3, cols: 2, values: values, source: "t"), path: path)
        // Poke a NaN into row 2 (the data are the file's last 48 bytes, little-endian f8).
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let offset = bytes.count - 48 + 2 * 8
        withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) }
        try bytes.write(to: URL(fileURLWithPath: path))
        values = [1, 2, 5, 6]
        let loaded = try loadData(path: path, missing: .drop)
        XCTAssertEqual(loaded.data.values, values)
        XCTAssertEqual(loaded.droppedLines, [2])
        XCTAssert(loaded.droppedSummary?.contains("first at row 2") == true, loaded.droppedSummary ?? "")
    }

    func testWriteErrorsNameThePath() throws {
        let path = folder + "/missing/a.npy"
        XCTAssertThrowsError(try writeNPY(DataSet(rows: 2, cols: 1, values: [1, 2], source: "t"), path: path)) { error in
            XCTAssertEqual((error as? DataError)?.kind, .writeFailed)
            XCTAssert("\(error)".contains(path), "\(error)")
        }
        XCTAssertThrowsError(try writeNPY(DataSet(rows: 2, cols: 1, values: [1, .infinity], source: "t"),
                                          path: folder + "/inf.npy")) { error in
            XCTAssert("\(error)".contains("row 2, column 1"), "\(error)")
        }
    }
}
