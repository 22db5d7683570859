/// The small JSON dialect of safetensors headers: cnf writes it byte for byte the same way
/// every time, and parses any RFC 8259 JSON text to validate it.

/// Compact JSON output: no whitespace, strings escaped minimally (", \, control characters).
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = [false]

    static func byteOrder(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    mutating func endObject() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// An object key; the value written next does not get a comma of its own.
    mutating func key(_ k: String) {
        separate()
        quoted(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    mutating func string(_ s: String) {
        separate()
        quoted(s)
        needsComma[needsComma.count - 1] = true
    }

    mutating func integers(_ values: [Int]) {
        separate()
        bytes.append(UInt8(ascii: "["))
        bytes += Array(values.map(String.init).joined(separator: ",").utf8)
        bytes.append(UInt8(ascii: "]"))
        needsComma[needsComma.count - 1] = true
    }

    private mutating func quoted(_ s: String) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// A parsed JSON value. Objects keep their keys in file order; numbers keep their text.
indirect enum JSONValue: Equatable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)), let (.number(x), .number(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// A non-negative integer that fits in Int, or nil.
    var integer: Int? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }
}

/// A recursive-descent parser for RFC 8259 JSON. Errors say what was expected and at which
/// byte of the header; duplicate object keys are errors (the header would be ambiguous).
struct JSONParser {
    struct Failure: Error {
        let message: String
    }

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maximumDepth = 64

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func failure(_ message: String) -> Failure { Failure(message: "\(message) at byte \(position)") }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 }
    }

    private mutating func expect(_ c: Character) throws {
        guard peek == c.asciiValue else { throw failure("expected '\(c)'") }
        position += 1
    }

    private mutating func value() throws -> JSONValue {
        guard let b = peek else { throw failure("unexpected end of header") }
        switch b {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character '\(Character(Unicode.Scalar(b)))'")
        }
    }

    private mutating func nested<T>(_ body: (inout JSONParser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONParser.maximumDepth else { throw failure("nesting deeper than \(JSONParser.maximumDepth)") }
        return try body(&self)
    }

    private mutating func object() throws -> JSONValue {
        try nested { p in
            try p.expect("{")
            var members: [(key: String, value: JSONValue)] = []
            var seen = Set<String>()
            p.skipWhitespace()
            if p.peek == UInt8(ascii: "}") { p.position += 1; return .object(members) }
            while true {
                p.skipWhitespace()
                guard p.peek == UInt8(ascii: "\"") else { throw p.failure("expected a string key") }
                let key = try p.string()
                guard seen.insert(key).inserted else { throw p.failure("duplicate key \"\(key)\"") }
                p.skipWhitespace()
                try p.expect(":")
                p.skipWhitespace()
                members.append((key, try p.value()))
                p.skipWhitespace()
                if p.peek == UInt8(ascii: ",") { p.position += 1; continue }
                try p.expect("}")
                return .object(members)
            }
        }
    }

    private mutating func array() throws -> JSONValue {
        try nested { p in
            try p.expect("[")
            var items: [JSONValue] = []
            p.skipWhitespace()
            if p.peek == UInt8(ascii: "]") { p.position += 1; return .array(items) }
            while true {
                p.skipWhitespace()
                items.append(try p.value())
                p.skipWhitespace()
                if p.peek == UInt8(ascii: ",") { p.position += 1; continue }
                try p.expect("]")
                return .array(items)
            }
        }
    }

    private mutating func literal(_ word: String) throws {
        for c in word.utf8 {
            guard peek == c else { throw failure("expected '\(word)'") }
            position += 1
        }
    }

    /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, returned as text.
    private mutating func number() throws -> String {
        let start = position
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.position
            while let b = p.peek, b >= 48 && b <= 57 { p.position += 1 }
            return p.position - s
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw failure("expected a digit")
        }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw failure("expected a digit after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("expected a digit in the exponent") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func string() throws -> String {
        try expect("\"")
        var scalars = String.UnicodeScalarView()
        var run = [UInt8]()
        func flush() throws {
            guard let s = String(validating: run, as: UTF8.self) else { throw failure("invalid UTF-8 in a string") }
            scalars.append(contentsOf: s.unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while true {
            guard let b = peek else { throw failure("unterminated string") }
            position += 1
            switch b {
            case UInt8(ascii: "\""):
                try flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush()
                guard let e = peek else { throw failure("unterminated string") }
                position += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"): scalars.append(try unicodeEscape())
                default: throw failure("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            case 0..<0x20:
                throw failure("unescaped control character in a string")
            default:
                run.append(b)
            }
        }
    }

    /// After "\u": four hex digits, and a second "\uDCxx" when the first is a high surrogate.
    private mutating func unicodeEscape() throws -> Unicode.Scalar {
        func hex4(_ p: inout JSONParser) throws -> UInt32 {
            guard p.position + 4 <= p.bytes.count else { throw p.failure("expected four hex digits after \\u") }
            var v: UInt32 = 0
            for b in p.bytes[p.position..<(p.position + 4)] {
                guard let digit = Character(Unicode.Scalar(b)).hexDigitValue else {
                    throw p.failure("expected four hex digits after \\u")
                }
                v = v << 4 | UInt32(digit)
            }
            p.position += 4
            return v
        }
        let first = try hex4(&self)
        var code = first
        if (0xD800..<0xDC00).contains(first) {
            guard peek == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u")
            else { throw failure("unpaired surrogate in \\u escape") }
            position += 2
            let second = try hex4(&self)
            guard (0xDC00..<0xE000).contains(second) else { throw failure("unpaired surrogate in \\u escape") }
            code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw failure("unpaired surrogate in \\u escape") }
        return scalar
    }
}
