/// NumPy's `.npy` format (numpy.lib.format): the magic `\x93NUMPY`, a major and minor
/// version byte, the header length (2 bytes little-endian in 1.0, 4 bytes in 2.0 and
/// 3.0), a Python dict literal with `descr`, `fortran_order` and `shape` (Latin-1 in
/// 1.0/2.0, UTF-8 in 3.0), then the raw array data.
enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// An element type: its kind ('f', 'i', 'u'), size in bytes and byte order.
    struct DType {
        let kind: Character
        let size: Int
        let bigEndian: Bool

        static let supported = "'<f4', '<f8', '<i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8' (or big-endian '>')"

        /// Parses a `descr` string such as '<f8' or '|u1'; nil if unsupported.
        init?(_ descr: String) {
            let c = Array(descr)
            guard c.count >= 3, "<>|=".contains(c[0]), let size = Int(String(c[2...])) else { return nil }
            switch (c[1], size) {
            case ("f", 4), ("f", 8), ("i", 1), ("i", 2), ("i", 4), ("i", 8),
                 ("u", 1), ("u", 2), ("u", 4), ("u", 8): break
            default: return nil
            }
            if c[0] == "|" && size != 1 { return nil }   // '|' means "no byte order": one byte only
            self.kind = c[1]
            self.size = size
            self.bigEndian = c[0] == ">"
        }

        /// Element `i` of `raw` as a Double (integers above 2⁵³ round to the nearest Double).
        @inline(__always)
        func load(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Double {
            let at = i * size
            func word<T: FixedWidthInteger>(_: T.Type) -> T {
                let w = raw.loadUnaligned(fromByteOffset: at, as: T.self)
                return bigEndian ? T(bigEndian: w) : T(littleEndian: w)
            }
            switch (kind, size) {
            case ("f", 4): return Double(Float(bitPattern: word(UInt32.self)))
            case ("f", 8): return Double(bitPattern: word(UInt64.self))
            case ("i", 1): return Double(Int8(bitPattern: raw[at]))
            case ("i", 2): return Double(word(Int16.self))
            case ("i", 4): return Double(word(Int32.self))
            case ("i", 8): return Double(word(Int64.self))
            case ("u", 1): return Double(raw[at])
            case ("u", 2): return Double(word(UInt16.self))
            case ("u", 4): return Double(word(UInt32.self))
            default: return Double(word(UInt64.self))
            }
        }
    }

    /// A shape as Python writes it: (), (n,), (n, d).
    static func shapeText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// Parses the bytes of a `.npy` file; `path` only names the file in errors.
    static func parse(_ bytes: [UInt8], path: String) throws -> DataSet {
        try parse(bytes, path: path, missing: .refuse).data
    }

    /// Parses a `.npy` file; a NaN element is a missing value (refused, or its row dropped).
    /// Infinities are always refused.
    static func parse(_ bytes: [UInt8], path: String, missing: MissingValues) throws -> LoadedData {
        if bytes.isEmpty { throw DataError.empty(path, "the file is empty") }
        guard bytes.count >= 10, bytes.starts(with: magic) else {
            let shown = bytes.prefix(6).map { b in (32..<127).contains(b) ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16) }.joined()
            throw DataError.badNPY(path, "bad magic '\(shown)' (expected '\\x93NUMPY')", value: shown)
        }
        let (major, minor) = (bytes[6], bytes[7])
        guard (1...3).contains(major), minor == 0 else {
            throw DataError.badNPY(path, "unsupported format version \(major).\(minor) (known: 1.0, 2.0, 3.0)")
        }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { throw DataError.badNPY(path, "truncated header") }
        var headerLength = 0
        for k in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + k]) }
        let headerStart = 8 + lengthBytes
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw DataError.badNPY(path, "truncated header (it claims \(headerLength) bytes, the file has \(bytes.count - headerStart) after the length)")
        }
        let headerBytes = bytes[headerStart..<dataStart]
        let headerText = major == 3 ? String(decoding: headerBytes, as: UTF8.self)
                                    : String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))  // Latin-1

        let (dtype, shape) = try header(headerText, path: path)
        let rows = shape[0]
        let cols = shape.count == 2 ? shape[1] : 1
        let count = rows.multipliedReportingOverflow(by: cols)
        let needed = count.partialValue.multipliedReportingOverflow(by: dtype.size)
        guard !count.overflow, !needed.overflow else {
            throw DataError.badNPY(path, "shape \(shapeText(shape)) is too large")
        }
        let available = bytes.count - dataStart
        if available < needed.partialValue {
            throw DataError.badNPY(path, "truncated data: shape \(shapeText(shape)) of \(dtype.size)-byte elements needs \(needed.partialValue) bytes, the file has \(available)")
        }
        if available > needed.partialValue {
            throw DataError.badNPY(path, "\(available - needed.partialValue) unexpected bytes after the data of shape \(shapeText(shape))")
        }
        if rows == 0 || cols == 0 { throw DataError.empty(path, "the array has shape \(shapeText(shape)), so no data") }
        if rows < 2 { throw DataError.tooFewRows(path, rows) }

        var values = [Double]()
        values.reserveCapacity(count.partialValue)
        var dropped = [Int]()
        try bytes.withUnsafeBytes { all in
            let raw = UnsafeRawBufferPointer(rebasing: all[dataStart...])
            for r in 0..<rows {
                var keep = true
                for c in 0..<cols {
                    let v = dtype.load(raw, r * cols + c)
                    if v.isNaN && missing == .drop { keep = false; continue }
                    guard v.isFinite else { throw DataError.nonFinite(path, row: r, column: c, cols: cols, v) }
                }
                if keep {
                    for c in 0..<cols { values.append(dtype.load(raw, r * cols + c)) }
                } else {
                    dropped.append(r + 1)
                }
            }
        }
        let kept = rows - dropped.count
        if kept == 0 { throw DataError.empty(path, "every one of the \(rows) rows has a NaN, so none is left") }
        if kept < 2 { throw DataError.tooFewRows(path, kept) }
        return LoadedData(data: DataSet(rows: kept, cols: cols, values: values, source: path), droppedLines: dropped)
    }

    /// The dtype and shape from the header dict, with a clear error for anything else.
    private static func header(_ text: String, path: String) throws -> (DType, [Int]) {
        let literal: PythonLiteral
        do { literal = try PythonLiteral.parse(text) } catch let e as PythonLiteral.SyntaxError {
            throw DataError.badNPY(path, "header is not a Python dict literal (\(e.message))")
        }
        guard case let .dict(entries) = literal else { throw DataError.badNPY(path, "header is not a dict") }
        func entry(_ key: String) throws -> PythonLiteral {
            guard let v = entries.first(where: { $0.0 == key })?.1 else {
                throw DataError.badNPY(path, "header has no '\(key)' entry")
            }
            return v
        }

        guard case let .string(descr) = try entry("descr") else {
            throw DataError.badNPY(path, "structured or non-string dtype is not supported (supported: \(DType.supported))")
        }
        guard let dtype = DType(descr) else {
            throw DataError.badNPY(path, "unsupported dtype '\(descr)' (supported: \(DType.supported))", value: descr)
        }
        guard case let .bool(fortran) = try entry("fortran_order") else {
            throw DataError.badNPY(path, "'fortran_order' is not True or False")
        }
        if fortran {
            throw DataError.badNPY(path, "fortran_order is True (column-major); save a C-order array, e.g. np.save(path, np.ascontiguousarray(a))")
        }
        guard case let .sequence(dims) = try entry("shape") else { throw DataError.badNPY(path, "'shape' is not a tuple") }
        var shape = [Int]()
        for d in dims {
            guard case let .int(n) = d, n >= 0 else { throw DataError.badNPY(path, "'shape' has a bad dimension \(d)") }
            shape.append(n)
        }
        guard shape.count == 1 || shape.count == 2 else {
            throw DataError.badNPY(path, "shape \(shapeText(shape)) has \(shape.count) dimensions; expected (n,) or (n, d)")
        }
        return (dtype, shape)
    }

    /// The bytes of a version-1.0 `.npy` file with dtype '<f8' and shape (rows, cols).
    static func format(_ data: DataSet, path: String) throws -> [UInt8] {
        if let i = data.values.firstIndex(where: { !$0.isFinite }) {
            throw DataError.writeFailed(path, "non-finite value \(data.values[i]) at row \(i / data.cols + 1), column \(i % data.cols + 1); the reader rejects it")
        }
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(data.rows), \(data.cols)), }"
        // Pad with spaces and end with '\n' so that magic + version + length + header is a
        // multiple of 64 bytes, which keeps the data aligned (numpy.lib.format does the same).
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = header.utf8.count
        guard length <= Int(UInt16.max) else { throw DataError.writeFailed(path, "npy header too long") }

        var out = magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + 8 * data.values.count)
        for v in data.values {
            let w = v.bitPattern   // shifting the value gives little-endian byte order on any machine
            for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> (8 * k))) }
        }
        return out
    }
}
