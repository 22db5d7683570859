import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation

/// A user-facing failure: printed as one line "cnf: error: …", exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs a command body, turning any error into one clear line on stderr and exit code 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let code as ExitCode {
        throw code
    } catch {
        FileHandle.standardError.write(Data("cnf: error: \(ConfigFlags.commandLine("\(error)"))\n".utf8))
        throw ExitCode(1)
    }
}

/// Writes `data` to `path` atomically: a temporary file in the same folder, then rename, so
/// a crash or a full disk never leaves a half-written file under the real name.
func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw CLIError("cannot write \(path): folder \(dir) does not exist")
    }
    let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: data) else {
        throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    if rename(tmp, path) != 0 {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw CLIError("cannot write \(path): \(reason)")
    }
}

func writeAtomically(_ text: String, to path: String) throws { try writeAtomically(Data(text.utf8), to: path) }

/// Creates a folder (and parents) or explains why not.
func makeFolder(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw CLIError("cannot create folder \(path): \((error as NSError).localizedDescription)")
    }
}

/// Pretty, stable JSON (sorted keys) for config.json and eval.json.
func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var d = try enc.encode(value)
    d.append(0x0A)
    return d
}

/// The git commit of the source tree the binary was run from, when available.
func currentGitCommit() -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "rev-parse", "HEAD"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    let s = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    return s.isEmpty ? nil : s
}

/// Messages for the user (stderr, unbuffered, so they appear live and survive a kill).
func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// A warning line, "cnf: warning: …", that says what to do.
func warn(_ s: String) { say("cnf: warning: " + s) }

/// Seconds since an arbitrary origin (monotonic).
func now() -> Double { monotonicSeconds() }

func formatDuration(_ s: Double) -> String {
    guard s.isFinite && s >= 0 else { return "?" }
    if s < 60 { return String(format: "%.0fs", s) }
    if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
    return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
}

/// A live progress line on a terminal (carriage return, redrawn at most 10×/s); plain
/// periodic lines when stderr is not a terminal (logs, CI).
final class Progress {
    let total: Int
    let label: String
    let start = now()
    var lastDraw = 0.0
    var lastPlainLine = -1.0
    let tty = isatty(2) == 1
    let plainInterval: Double

    init(total: Int, label: String, plainInterval: Double = 10) {
        self.total = total
        self.label = label
        self.plainInterval = plainInterval
    }

    func update(_ done: Int, _ detail: String, force: Bool = false) {
        let t = now()
        let elapsed = t - start
        // A rate over less than 50 ms says nothing (a density at t = T needs no solve at all).
        let rate = elapsed > 0.05 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let rateText = rate > 0 ? String(format: "%.1f it/s", rate) : "– it/s"
        let line = "\(label) \(done)/\(total)  \(rateText)  \(detail)  ETA \(done == total ? "0s" : formatDuration(eta))"
        if tty {
            if force || t - lastDraw > 0.1 || done == total {
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
                lastDraw = t
            }
        } else if force || lastPlainLine < 0 || t - lastPlainLine >= plainInterval || done == total {
            say(line)
            lastPlainLine = t
        }
    }

    func finish() { if tty { FileHandle.standardError.write(Data("\n".utf8)) } }
}
