import Foundation

/// Element types of a safetensors file that cnf reads and writes.
public enum SafeTensorDType: String, CaseIterable, Sendable, Codable {
    case F32, F64, I64, U64

    /// Bytes per element.
    public var size: Int { self == .F32 ? 4 : 8 }
}

/// One tensor: dtype, shape and its raw little-endian bytes.
public struct SafeTensor: Equatable, Sendable {
    public let dtype: SafeTensorDType
    public let shape: [Int]
    /// count(shape) · dtype.size bytes, little-endian, row-major.
    public let bytes: [UInt8]

    /// Elements: the product of `shape` (1 for a scalar, shape []).
    public var count: Int { shape.reduce(1, *) }

    public init(dtype: SafeTensorDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor shape must be non-negative, got \(shape)")
        precondition(bytes.count == shape.reduce(1, *) * dtype.size,
                     "a \(dtype) tensor of shape \(shape) needs \(shape.reduce(1, *) * dtype.size) bytes, got \(bytes.count)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(shape: [Int], values: [Float]) {
        self.init(dtype: .F32, shape: shape, bytes: SafeTensor.pack(values.map(\.bitPattern)))
    }
    public init(shape: [Int], values: [Double]) {
        self.init(dtype: .F64, shape: shape, bytes: SafeTensor.pack(values.map(\.bitPattern)))
    }
    public init(shape: [Int], values: [Int64]) {
        self.init(dtype: .I64, shape: shape, bytes: SafeTensor.pack(values.map { UInt64(bitPattern: $0) }))
    }
    public init(shape: [Int], values: [UInt64]) {
        self.init(dtype: .U64, shape: shape, bytes: SafeTensor.pack(values))
    }

    /// The values as Float (F32 only; nil otherwise).
    public var floats: [Float]? { dtype == .F32 ? unpack(UInt32.self).map(Float.init(bitPattern:)) : nil }
    /// The values as Double (F64 only; nil otherwise).
    public var doubles: [Double]? { dtype == .F64 ? unpack(UInt64.self).map(Double.init(bitPattern:)) : nil }
    public var int64s: [Int64]? { dtype == .I64 ? unpack(UInt64.self).map { Int64(bitPattern: $0) } : nil }
    public var uint64s: [UInt64]? { dtype == .U64 ? unpack(UInt64.self) : nil }

    /// Floating-point values widened to Double (F32 or F64; nil for integer tensors).
    public var values: [Double]? { doubles ?? floats?.map(Double.init) }

    static func pack<T: FixedWidthInteger>(_ words: [T]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: words.count * MemoryLayout<T>.size)
        bytes.withUnsafeMutableBytes { raw in
            for (i, w) in words.enumerated() {
                raw.storeBytes(of: w.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self)
            }
        }
        return bytes
    }

    func unpack<T: FixedWidthInteger>(_: T.Type) -> [T] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
    }
}

/// A safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length n, n bytes of JSON header
/// `{"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}}`,
/// then the tensors' bytes, offsets relative to the end of the header.
///
/// Writing is deterministic: the JSON comes from Foundation's `JSONEncoder` with sorted keys
/// (byte order, at every level; no spaces), padded with spaces to a multiple of 8 bytes, and the
/// data is laid out by element size (largest first), then name, so every tensor is aligned to
/// its element size. Reading (through `JSONSerialization`) validates strictly and throws
/// `SafeTensorsError` naming the file and the problem.
public struct SafeTensorsFile: Equatable, Sendable {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The largest header accepted on reading (as the reference implementation: 100 MB).
    public static let maximumHeaderSize = 100_000_000

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        precondition(tensors.keys.allSatisfy { !$0.isEmpty && $0 != "__metadata__" },
                     "tensor names must be non-empty and not \"__metadata__\"")
        let order = tensors.keys.sorted { a, b in
            let (ta, tb) = (tensors[a]!.dtype.size, tensors[b]!.dtype.size)
            return ta != tb ? ta > tb : Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
        var offsets: [String: (Int, Int)] = [:]
        var dataSize = 0
        for name in order {
            offsets[name] = (dataSize, dataSize + tensors[name]!.bytes.count)
            dataSize += tensors[name]!.bytes.count
        }
        var entries: [String: SafeTensorsHeader.Entry] = [:]
        for (name, tensor) in tensors {
            let (begin, end) = offsets[name]!
            entries[name] = SafeTensorsHeader.Entry(dtype: tensor.dtype.rawValue, shape: tensor.shape,
                                                   data_offsets: [begin, end])
        }
        // Foundation's encoder with sorted keys (byte order) and fixed formatting: the same
        // content always gives the same bytes. It cannot fail on these types.
        let json = try! JSONEncoder.sorted.encode(SafeTensorsHeader(metadata: metadata, tensors: entries))
        var header = [UInt8](json)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = SafeTensor.pack([UInt64(header.count)])
        file.reserveCapacity(8 + header.count + dataSize)
        file += header
        for name in order { file += tensors[name]!.bytes }
        return file
    }
}

/// The header as Foundation encodes it: `__metadata__` (when not empty) and one entry per tensor.
struct SafeTensorsHeader: Encodable {
    struct Entry: Encodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    struct Key: CodingKey {
        let stringValue: String
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    let metadata: [String: String]
    let tensors: [String: Entry]

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        if !metadata.isEmpty { try c.encode(metadata, forKey: Key("__metadata__")) }
        for (name, entry) in tensors { try c.encode(entry, forKey: Key(name)) }
    }
}

/// A rejected safetensors file: `"<file>: <what is wrong>"`.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}
