#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SafeTensorsFile {
    /// Reads and validates the file at `path` (see `init(decoding:file:)`).
    public init(contentsOf path: String) throws {
        try self.init(decoding: try FileBytes.readAll(path), file: path)
    }

    /// Writes the file atomically: to a temporary file beside it, flushed to disk, then renamed
    /// over `path`, so a reader sees the old file or the new one, never a partial one.
    public func write(to path: String) throws {
        try FileBytes.writeAtomically(encoded(), to: path)
    }
}

/// Whole-file reads and atomic writes through POSIX calls, with errno in the messages.
enum FileBytes {
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError(file: path, reason: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafeTensorsError(file: path, reason: "cannot stat: \(errnoText())") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw SafeTensorsError(file: path, reason: n == 0 ? "file shrank while reading" : "cannot read: \(errnoText())")
            }
            done += n
        }
        return bytes
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = "\(path).tmp-\(getpid())"
        func fail(_ what: String) -> SafeTensorsError {
            let error = SafeTensorsError(file: path, reason: "\(what): \(errnoText())")
            unlink(temporary)
            return error
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError(file: path, reason: "cannot create \(temporary): \(errnoText())") }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { close(fd); throw fail("cannot write") }
            done += n
        }
        guard fsync(fd) == 0 else { close(fd); throw fail("cannot flush") }
        guard close(fd) == 0 else { throw fail("cannot close") }
        guard rename(temporary, path) == 0 else { throw fail("cannot rename the temporary file into place") }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
