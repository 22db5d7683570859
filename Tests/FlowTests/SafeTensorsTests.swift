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
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
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
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]"#, data: 16), "bad JSON header: expected '}'")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}} x"#, data: 16), "bad JSON header: unexpected text")
        assertRejects(raw(#"{"a":{"dtype":F32}}"#, data: 0), "bad JSON header: unexpected character 'F'")
        assertRejects(raw("[1,2]", data: 0), "JSON object expected")
        assertRejects(raw(#"{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, data: 4), "unsupported dtype \"BF16\"")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}}"#, data: 16), "shape is not a list")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: 12), "needs 16 bytes")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: 8), "end before they begin")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: 8), "needs dtype, shape and data_offsets")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, data: 8), "unknown field \"x\"")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "gap in the data")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "overlaps")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "duplicate key \"a\"")
        assertRejects(raw(#"{"__metadata__":{"k":3}}"#, data: 0), "__metadata__ value for \"k\" is not a string")
        assertRejects(raw(#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, data: 4), "shape is not a list")
        assertRejects(raw("{\"a\u{01}\":1}", data: 0), "unescaped control character")
        assertRejects(raw(#"{"\ud800":1}"#, data: 0), "unpaired surrogate")
        assertRejects(raw("{\"\u{FF}\"", data: 0).map { $0 == 0xC3 ? 0xFF : $0 }, "invalid UTF-8")
    }

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
