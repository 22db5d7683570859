import XCTest
import Foundation
@testable import ToyData

/// A test case with a fresh temporary folder, removed afterwards.
class FileTestCase: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "toydata-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Writes `bytes` to `name` in the folder; returns the path.
    @discardableResult
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @discardableResult
    func file(_ name: String, text: String) throws -> String { try file(name, Array(text.utf8)) }

    /// Asserts that loading `path` throws a `DataError` of `kind` whose message names the
    /// path and contains every one of `fragments`; returns the error.
    @discardableResult
    func assertLoadFails(_ path: String, _ kind: DataError.Kind, _ fragments: String...,
                         file: StaticString = #filePath, line: UInt = #line) -> DataError? {
        do {
            let d = try loadData(path: path)
            XCTFail("loading \(path) should fail (\(kind)), got \(d.rows) × \(d.cols)", file: file, line: line)
            return nil
        } catch let e as DataError {
            XCTAssertEqual(e.kind, kind, e.description, file: file, line: line)
            XCTAssertEqual(e.path, path, file: file, line: line)
            XCTAssert(e.description.contains(path), "message should name the file: \(e.description)", file: file, line: line)
            for f in fragments {
                XCTAssert(e.description.contains(f), "message should contain \"\(f)\": \(e.description)", file: file, line: line)
            }
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e.description)", file: file, line: line)
            XCTAssertEqual(e.localizedDescription, e.description, file: file, line: line)
            return e
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return nil
        }
    }

    func contentsOfFolder() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    }
}
