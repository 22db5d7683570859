import Foundation
import XCTest

/// Runs the built `cnf` executable, as a user would, and captures what it prints.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLI {
    /// The `cnf` binary next to the test bundle (SwiftPM builds both into one products folder).
    static var executable: URL {
        let candidates = [Bundle.main.bundleURL.appendingPathComponent("cnf"),
                          Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("cnf")]
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("cnf") }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c }
        fatalError("cannot find the cnf executable near \(Bundle.main.bundleURL.path)")
    }

    @discardableResult
    static func run(_ arguments: [String], interruptAfter: Double? = nil,
                    environment extra: [String: String] = [:]) throws -> CommandResult {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        if !extra.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        if let delay = interruptAfter {
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGINT)
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CommandResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                             stderr: String(decoding: e, as: UTF8.self))
    }

    /// A fresh temporary folder.
    static func temporaryFolder(_ name: String = #function) -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cnf-cli-tests")
            .appendingPathComponent(name.filter { $0.isLetter || $0.isNumber } + "-\(getpid())")
        try? FileManager.default.removeItem(at: base)
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        return base.path
    }

    /// A small, quick fit configuration for tests.
    static let tinyFit = ["--iters", "30", "--batch-size", "64", "--dims", "16-16", "--eval-every", "10",
                          "--test-size", "200"]
}

/// The single error line: exactly one line, starting "cnf: error:", mentioning `fragment`.
func assertOneErrorLine(_ r: CommandResult, contains fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertNotEqual(r.status, 0, "expected a failure", file: file, line: line)
    let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("cnf: error:") || $0.hasPrefix("Error:") }
    XCTAssertEqual(lines.count, 1, "stderr: \(r.stderr)", file: file, line: line)
    for f in fragments {
        XCTAssertTrue(r.stderr.contains(f), "'\(f)' not in: \(r.stderr)", file: file, line: line)
    }
}
