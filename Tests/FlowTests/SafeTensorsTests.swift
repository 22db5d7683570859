import CNFCore
import Foundation
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

final class SafeTensorsTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "flow-safetensors-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func sample() -> SafeTensorsFile {
        let floats: [Float] = [1.5, -0.0, .infinity, -.infinity, Float(bitPattern: 0x7FC0_1234), .leastNonzeroMagnitude]
        return SafeTensorsFile(
            tensors: ["layers.0.weight": SafeTensor(shape: [2, 3], values: floats),
                      "adam.m": SafeTensor(shape: [3], values: [1e-300, -2.5, .pi]),
                      "step": SafeTensor(shape: [], values: [Int64(-42)]),
                      "rng": SafeTensor(shape: [4], values: [UInt64.max, 0, 1, 0x8000_0000_0000_0000]),
                      "empty": SafeTensor(shape: [0, 3], values: [Float]()),
                      "odd": SafeTensor(shape: [1], values: [Float(3)])],
            metadata: ["config": "{\"hidden\": [64, 64]}", "note": "tab\there, newline\n, é ∂ 🙂 \u{01}"])
    }

    func testRoundTripIsBitExact() throws {
        let file = sample()
        let bytes = file.encoded()
        let decoded = try SafeTensorsFile(decoding: bytes, file: "memory")
        XCTAssertEqual(decoded, file)
        XCTAssertEqual(decoded.tensors["layers.0.weight"]!.floats!.map(\.bitPattern),
                       file.tensors["layers.0.weight"]!.floats!.map(\.bitPattern))
        XCTAssertEqual(decoded.tensors["step"]?.int64s, [-42])
        XCTAssertEqual(decoded.tensors["rng"]?.uint64s, [UInt64.max, 0, 1, 0x8000_0000_0000_0000])
        XCTAssertEqual(decoded.metadata["note"], "tab\there, newline\n, é ∂ 🙂 \u{01}")
        // Deterministic: the same content gives the same bytes, whatever the dictionary order.
        var rebuilt = SafeTensorsFile(metadata: file.metadata)
        for key in file.tensors.keys.sorted().reversed() { rebuilt.tensors[key] = file.tensors[key] }
        XCTAssertEqual(rebuilt.encoded(), bytes)
        XCTAssertEqual(decoded.encoded(), bytes)

        let path = directory + "/model.safetensors"
        try file.write(to: path)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: path), file)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), bytes)
        // No temporary left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["model.safetensors"])
    }

    /// The layout the format prescribes, written out by hand for a small file.
    func testByteLayout() {
        let file = SafeTensorsFile(tensors: ["b": SafeTensor(shape: [2], values: [Float(1), 2]),
                                             "a": SafeTensor(shape: [1], values: [0.5])],
                                   metadata: ["k": "v"])
        let bytes = file.encoded()
        // Keys sorted in byte order at every level (Foundation's JSONEncoder with .sortedKeys).
        let header = #"{"__metadata__":{"k":"v"},"a":{"data_offsets":[0,8],"dtype":"F64","shape":[1]},"b":{"data_offsets":[8,16],"dtype":"F32","shape":[2]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        XCTAssertEqual(Array(bytes[0..<8]), [UInt8(padded.utf8.count), 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(String(decoding: bytes[8..<(8 + padded.utf8.count)], as: UTF8.self), padded)
        let data = Array(bytes[(8 + padded.utf8.count)...])
        XCTAssertEqual(data, [0, 0, 0, 0, 0, 0, 0xE0, 0x3F,   // 0.5 as F64, little-endian
                              0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])  // 1, 2 as F32
    }

    /// A header as other writers format it (spaces, other key order, escapes) is accepted.
    func testReadsForeignFormatting() throws {
        let header = #"{ "w" : { "shape" : [ 2 ], "data_offsets" : [ 0 , 8 ], "dtype" : "F32" }, "__metadata__" : { "format" : "pt", "x\u00e9\ud83d\ude42" : "\/" } }"#
        var bytes = SafeTensor(shape: [1], values: [UInt64(header.utf8.count)]).bytes + Array(header.utf8)
        bytes += SafeTensor(shape: [2], values: [Float(7), -1]).bytes
        let file = try SafeTensorsFile(decoding: bytes, file: "foreign.safetensors")
        XCTAssertEqual(file.tensors["w"]?.floats, [7, -1])
        XCTAssertEqual(file.metadata, ["format": "pt", "xé🙂": "/"])
    }

    /// Builds a file from a header text and a data size, for the rejection cases.
    func raw(_ header: String, data: Int, declared: Int? = nil) -> [UInt8] {
        SafeTensor(shape: [1], values: [UInt64(declared ?? header.utf8.count)]).bytes
            + Array(header.utf8) + [UInt8](repeating: 0, count: data)
    }

    func assertRejects(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(decoding: bytes, file: "model.safetensors"), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("model.safetensors: "), text, file: file, line: line)
            XCTAssertTrue(text.contains(expected), "\(text) does not say \(expected)", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
        }
    }

    func testRejectsCorruptFiles() {
        let good = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        XCTAssertNoThrow(try SafeTensorsFile(decoding: raw(good, data: 16), file: "ok"))
        assertRejects([1, 2, 3], "truncated: 3 bytes")
        assertRejects(raw(good, data: 16, declared: 4000), "truncated: header says 4000 bytes of JSON")
        assertRejects(raw(good, data: 12), "truncated: header says 16 bytes of data, file has 12")
        assertRejects(raw(good, data: 20), "4 trailing bytes")
        assertRejects(raw(good, data: 16, declared: 1 << 40), "exceeds")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]"#, data: 16), "bad JSON header: Unexpected end of file during JSON parse")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}} x"#, data: 16), "bad JSON header: Invalid value around character 58")  // the x, as a 0-based byte offset
        assertRejects(raw(#"{"a":{"dtype":F32}}"#, data: 0), "bad JSON header: Invalid value around character 14")  // the F
        assertRejects(raw("[1,2]", data: 0), "JSON object expected")
        assertRejects(raw(#"{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, data: 4), "unsupported dtype \"BF16\"")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}}"#, data: 16), "shape is not a list")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: 12), "needs 16 bytes")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: 8), "end before they begin")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: 8), "needs dtype, shape and data_offsets")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, data: 8), "unknown field \"x\"")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "gap in the data")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "overlaps")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "bad JSON header: duplicate key \"a\"")
        assertRejects(raw(#"{"__metadata__":{"k":3}}"#, data: 0), "__metadata__ value for \"k\" is not a string")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, data: 4), "shape is not a list")
        assertRejects(raw("{\"a\u{01}\":1}", data: 0), "bad JSON header: Unescaped control character")
        assertRejects(raw(#"{"\ud800":1}"#, data: 0), "bad JSON header: Unexpected end of file during string parse (expected low-surrogate")
        assertRejects(raw("{\"\u{FF}\"", data: 0).map { $0 == 0xC3 ? 0xFF : $0 }, "bad JSON header: Invalid UTF-8 sequence")
    }

    /// Numbers must be JSON integers ≥ 0 that fit in Int: floats (even 1.0), exponents, booleans,
    /// negatives and 2^64-sized values are refused, each with the field named.
    func testRejectsNonIntegers() {
        for bad in ["1.0", "1e2", "true", "-4", "null", "\"4\"", "99999999999999999999999", "18446744073709551615"] {
            assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,"# + bad + "]}}", data: 4),
                          "tensor \"a\": data_offsets is not [begin, end] with non-negative integers")
            assertRejects(raw(#"{"a":{"dtype":"F32","shape":["# + bad + #"],"data_offsets":[0,4]}}"#, data: 4),
                          "tensor \"a\": shape is not a list of non-negative integers")
        }
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: 4), "data_offsets is not [begin, end]")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, data: 8), "shape is not a list")
        // Integers written as 9007199254740993 (> 2^53) are still read exactly.
        XCTAssertNoThrow(try SafeTensorsFile(decoding: raw(#"{"a":{"dtype":"F32","shape":[0,9007199254740993],"data_offsets":[0,0]}}"#, data: 0), file: "big"))
    }

    /// Two entries under one key, at any level and however the key is escaped, are refused:
    /// Foundation's parser would keep the last one silently.
    func testRejectsDuplicateKeysAtEveryLevel() {
        assertRejects(raw(#"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4), "duplicate key \"dtype\"")
        assertRejects(raw(#"{"__metadata__":{"k":"1","k":"2"}}"#, data: 0), "duplicate key \"k\"")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8),
                      "duplicate key \"a\"")
        // Equal strings that are not keys of one object are fine: values, keys of other objects,
        // escaped quotes and brackets inside strings.
        let fine = #"{"__metadata__":{"a":"a","x\"}":"{[\\"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x\"}":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        XCTAssertEqual(try SafeTensorsFile(decoding: raw(fine, data: 8), file: "fine").metadata, ["a": "a", "x\"}": "{[\\"])
    }

    /// A header written by cnf's earlier hand-written JSON writer (keys in byte order with
    /// `__metadata__` first, fields in the order dtype, shape, data_offsets): still read, to the
    /// same tensors; today's writer lays out the same data bytes.
    func testReadsTheOldWritersFiles() throws {
        let expected = SafeTensorsFile(
            tensors: ["block0.layers.0.weight": SafeTensor(shape: [2, 2], values: [Float(1.5), -2, 0.25, 3]),
                      "Block0.Time": SafeTensor(shape: [], values: [0.5]),
                      "train.step": SafeTensor(shape: [3], values: [Int64(7), -1, 0]),
                      "train.rng": SafeTensor(shape: [1], values: [UInt64(0x8000_0000_0000_0001)]),
                      "empty": SafeTensor(shape: [0], values: [Float]())],
            metadata: ["config": "{\"dims\": [64, 64], \"path\": \"a/b\\\\c\"}",
                       "note": "tab\there, newline\n, é ∂ 🙂 \u{01}",
                       "Format": "pt"])
        let old = SafeTensorsTests.oldWriterBytes
        let header = String(decoding: old[8..<(8 + 464)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"Format":"pt","config":"#), header)
        XCTAssertTrue(header.contains(#""Block0.Time":{"dtype":"F64","shape":[],"data_offsets":[0,8]}"#), header)
        let decoded = try SafeTensorsFile(decoding: old, file: "old.safetensors")
        XCTAssertEqual(decoded, expected)
        let now = expected.encoded()
        XCTAssertEqual(Array(now[(now.count - 56)...]), Array(old[(old.count - 56)...]), "same data layout")
        XCTAssertEqual(try SafeTensorsFile(decoding: now, file: "new"), expected)
    }

    /// The old writer's bytes for `testReadsTheOldWritersFiles` (generated with the removed
    /// SafeTensorsJSON.swift before its removal): 8-byte length 464, header, 56 bytes of data.
    static let oldWriterBytes: [UInt8] = [
        0xD0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7B, 0x22, 0x5F, 0x5F, 0x6D, 0x65, 0x74, 0x61,
        0x64, 0x61, 0x74, 0x61, 0x5F, 0x5F, 0x22, 0x3A, 0x7B, 0x22, 0x46, 0x6F, 0x72, 0x6D, 0x61, 0x74,
        0x22, 0x3A, 0x22, 0x70, 0x74, 0x22, 0x2C, 0x22, 0x63, 0x6F, 0x6E, 0x66, 0x69, 0x67, 0x22, 0x3A,
        0x22, 0x7B, 0x5C, 0x22, 0x64, 0x69, 0x6D, 0x73, 0x5C, 0x22, 0x3A, 0x20, 0x5B, 0x36, 0x34, 0x2C,
        0x20, 0x36, 0x34, 0x5D, 0x2C, 0x20, 0x5C, 0x22, 0x70, 0x61, 0x74, 0x68, 0x5C, 0x22, 0x3A, 0x20,
        0x5C, 0x22, 0x61, 0x2F, 0x62, 0x5C, 0x5C, 0x5C, 0x5C, 0x63, 0x5C, 0x22, 0x7D, 0x22, 0x2C, 0x22,
        0x6E, 0x6F, 0x74, 0x65, 0x22, 0x3A, 0x22, 0x74, 0x61, 0x62, 0x5C, 0x74, 0x68, 0x65, 0x72, 0x65,
        0x2C, 0x20, 0x6E, 0x65, 0x77, 0x6C, 0x69, 0x6E, 0x65, 0x5C, 0x6E, 0x2C, 0x20, 0xC3, 0xA9, 0x20,
        0xE2, 0x88, 0x82, 0x20, 0xF0, 0x9F, 0x99, 0x82, 0x20, 0x5C, 0x75, 0x30, 0x30, 0x30, 0x31, 0x22,
        0x7D, 0x2C, 0x22, 0x42, 0x6C, 0x6F, 0x63, 0x6B, 0x30, 0x2E, 0x54, 0x69, 0x6D, 0x65, 0x22, 0x3A,
        0x7B, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3A, 0x22, 0x46, 0x36, 0x34, 0x22, 0x2C, 0x22,
        0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3A, 0x5B, 0x5D, 0x2C, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5F,
        0x6F, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3A, 0x5B, 0x30, 0x2C, 0x38, 0x5D, 0x7D, 0x2C,
        0x22, 0x62, 0x6C, 0x6F, 0x63, 0x6B, 0x30, 0x2E, 0x6C, 0x61, 0x79, 0x65, 0x72, 0x73, 0x2E, 0x30,
        0x2E, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x22, 0x3A, 0x7B, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65,
        0x22, 0x3A, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2C, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3A,
        0x5B, 0x32, 0x2C, 0x32, 0x5D, 0x2C, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5F, 0x6F, 0x66, 0x66, 0x73,
        0x65, 0x74, 0x73, 0x22, 0x3A, 0x5B, 0x34, 0x30, 0x2C, 0x35, 0x36, 0x5D, 0x7D, 0x2C, 0x22, 0x65,
        0x6D, 0x70, 0x74, 0x79, 0x22, 0x3A, 0x7B, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3A, 0x22,
        0x46, 0x33, 0x32, 0x22, 0x2C, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3A, 0x5B, 0x30, 0x5D,
        0x2C, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5F, 0x6F, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3A,
        0x5B, 0x35, 0x36, 0x2C, 0x35, 0x36, 0x5D, 0x7D, 0x2C, 0x22, 0x74, 0x72, 0x61, 0x69, 0x6E, 0x2E,
        0x72, 0x6E, 0x67, 0x22, 0x3A, 0x7B, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3A, 0x22, 0x55,
        0x36, 0x34, 0x22, 0x2C, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3A, 0x5B, 0x31, 0x5D, 0x2C,
        0x22, 0x64, 0x61, 0x74, 0x61, 0x5F, 0x6F, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3A, 0x5B,
        0x38, 0x2C, 0x31, 0x36, 0x5D, 0x7D, 0x2C, 0x22, 0x74, 0x72, 0x61, 0x69, 0x6E, 0x2E, 0x73, 0x74,
        0x65, 0x70, 0x22, 0x3A, 0x7B, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3A, 0x22, 0x49, 0x36,
        0x34, 0x22, 0x2C, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3A, 0x5B, 0x33, 0x5D, 0x2C, 0x22,
        0x64, 0x61, 0x74, 0x61, 0x5F, 0x6F, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3A, 0x5B, 0x31,
        0x36, 0x2C, 0x34, 0x30, 0x5D, 0x7D, 0x7D, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xE0, 0x3F,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x80, 0x3E, 0x00, 0x00, 0x40, 0x40,
    ]

    func testFileErrorsNameThePath() throws {
        let path = directory + "/model.safetensors"
        try sample().write(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path): truncated: header says"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: directory + "/missing.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("missing.safetensors: cannot open: No such file"), "\(error)")
        }
        XCTAssertThrowsError(try sample().write(to: directory + "/no/such/dir/x.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("cannot create"), "\(error)")
        }
    }

    /// A network's named views save and load its parameters exactly.
    func testNetworkCheckpointRoundTrip() throws {
        var g = Xoshiro256(seed: 5)
        let config = ODENetConfiguration(dimension: 2, hiddenWidths: [8, 8])
        let net = ODENet<Float>(configuration: config, generator: &g)
        let theta = net.parameters
        var file = SafeTensorsFile(metadata: ["hidden": "8-8"])
        for t in net.parameterTensors {
            file.tensors[t.name] = SafeTensor(shape: t.shape, values: Array(theta[t.offset..<(t.offset + t.count)]))
        }
        let loaded = try SafeTensorsFile(decoding: file.encoded(), file: "ckpt")
        var restored = [Float](repeating: .nan, count: net.parameterCount)
        for t in net.parameterTensors {
            XCTAssertEqual(loaded.tensors[t.name]?.shape, t.shape)
            restored.replaceSubrange(t.offset..<(t.offset + t.count), with: loaded.tensors[t.name]!.floats!)
        }
        XCTAssertEqual(restored, theta)
    }
}
