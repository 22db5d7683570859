/// The small part of Python's literal syntax that a `.npy` header uses: a dict of
/// strings, booleans, None, integers and tuples/lists, e.g.
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (100, 2), }`.
enum PythonLiteral: Equatable {
    case string(String)
    case bool(Bool)
    case none
    case int(Int)
    case sequence([PythonLiteral])
    case dict([(String, PythonLiteral)])

    static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.none, .none): return true
        case let (.int(x), .int(y)): return x == y
        case let (.sequence(x), .sequence(y)): return x == y
        case let (.dict(x), .dict(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    struct SyntaxError: Error { let message: String }

    /// Parses `text` (surrounding whitespace allowed) as one literal.
    static func parse(_ text: String) throws -> PythonLiteral {
        var p = Parser(chars: Array(text.unicodeScalars))
        let value = try p.value()
        p.skipSpace()
        guard p.at == p.chars.count else { throw SyntaxError(message: "unexpected text after the literal at offset \(p.at)") }
        return value
    }

    private struct Parser {
        let chars: [Unicode.Scalar]
        var at = 0

        mutating func skipSpace() {
            while at < chars.count, chars[at].properties.isWhitespace { at += 1 }
        }

        func fail(_ what: String) -> SyntaxError {
            let found = at < chars.count ? "'\(chars[at])'" : "the end"
            return SyntaxError(message: "expected \(what) at offset \(at), found \(found)")
        }

        mutating func value() throws -> PythonLiteral {
            skipSpace()
            guard at < chars.count else { throw fail("a value") }
            switch chars[at] {
            case "'", "\"": return .string(try string())
            case "(": return .sequence(try items(close: "("))
            case "[": return .sequence(try items(close: "["))
            case "{": return try dict()
            case "-", "0"..."9": return try integer()
            default:
                for (word, v) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)]
                where chars[at...].starts(with: word.unicodeScalars) {
                    at += word.unicodeScalars.count
                    return v
                }
                throw fail("a value")
            }
        }

        mutating func string() throws -> String {
            let q = chars[at]
            at += 1
            var s = String.UnicodeScalarView()
            while at < chars.count, chars[at] != q {
                if chars[at] == "\\" { at += 1 }   // a backslash takes the next character literally
                if at < chars.count { s.append(chars[at]); at += 1 }
            }
            guard at < chars.count else { throw fail("a closing quote") }
            at += 1
            return String(s)
        }

        mutating func integer() throws -> PythonLiteral {
            let start = at
            if chars[at] == "-" { at += 1 }
            while at < chars.count, ("0"..."9").contains(chars[at]) { at += 1 }
            if at < chars.count, chars[at] == "L" { at += 1 }   // Python 2 long suffix
            let digits = String(String.UnicodeScalarView(chars[start..<at].filter { $0 != "L" }))
            guard let n = Int(digits) else { at = start; throw fail("an integer") }
            return .int(n)
        }

        mutating func items(close open: Unicode.Scalar) throws -> [PythonLiteral] {
            let close: Unicode.Scalar = open == "(" ? ")" : "]"
            at += 1
            var out = [PythonLiteral]()
            while true {
                skipSpace()
                if at < chars.count, chars[at] == close { at += 1; return out }
                out.append(try value())
                skipSpace()
                guard at < chars.count else { throw fail("'\(close)'") }
                if chars[at] == "," { at += 1 } else if chars[at] != close { throw fail("',' or '\(close)'") }
            }
        }

        mutating func dict() throws -> PythonLiteral {
            at += 1
            var out = [(String, PythonLiteral)]()
            while true {
                skipSpace()
                if at < chars.count, chars[at] == "}" { at += 1; return .dict(out) }
                guard at < chars.count, chars[at] == "'" || chars[at] == "\"" else { throw fail("a string key") }
                let key = try string()
                skipSpace()
                guard at < chars.count, chars[at] == ":" else { throw fail("':'") }
                at += 1
                out.append((key, try value()))
                skipSpace()
                guard at < chars.count else { throw fail("'}'") }
                if chars[at] == "," { at += 1 } else if chars[at] != "}" { throw fail("',' or '}'") }
            }
        }
    }
}
