#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic whole-file writes on POSIX calls, so that every failure
/// can name the path and the system's reason (`strerror(errno)`).
enum FileIO {
    private static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The bytes of the file at `path`.
    /// - Throws: `.missingFile` if nothing is there, `.unreadable` for a directory or
    ///   an I/O error.
    static func contents(of path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw DataError.missingFile(path) }
            throw DataError.unreadable(path, reason(code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError.unreadable(path, reason(errno)) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw DataError.unreadable(path, "it is a directory") }

        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw DataError.unreadable(path, reason(errno))
            }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return bytes
    }

    /// Writes `bytes` to `path` atomically: into a new temporary file in the same folder
    /// (so that the rename cannot cross file systems), flushed to disk, then renamed over
    /// `path`. Readers see either the old file or the whole new one, never a part.
    /// - Throws: `.writeFailed` naming `path` and the system's reason.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw DataError.writeFailed(path, "the path names a folder, not a file") }

        // O_EXCL makes the temporary name ours; try further suffixes if one is taken.
        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<100 {
            temp = "\(folder).\(name).tmp-\(getpid())-\(attempt)"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw DataError.writeFailed(path, reason(errno)) }

        var failure: String?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = reason(errno); return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = reason(errno) }
        if close(fd) != 0, failure == nil { failure = reason(errno) }
        if failure == nil, rename(temp, path) != 0 { failure = reason(errno) }
        if let failure {
            unlink(temp)
            throw DataError.writeFailed(path, failure)
        }
    }
}
