import Foundation

extension SafeTensorsFile {
    /// Parses and validates a safetensors file's bytes. `file` names it in errors.
    ///
    /// Checks, in order: the 8-byte length and the header fit in the file; the header is JSON
    /// (parsed by Foundation's `JSONSerialization`: UTF-8, one object, trailing spaces allowed;
    /// no key twice in one object); `__metadata__` maps strings to strings;
    /// every tensor entry has exactly `dtype` (F32, F64, I64 or U64), `shape` (non-negative
    /// integers) and `data_offsets` ([begin, end]) with end − begin = count·size; sorted by
    /// begin, the tensors tile the data section from 0 to its end with no gap or overlap.
    public init(decoding bytes: [UInt8], file: String) throws {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(file: file, reason: reason) }
        guard bytes.count >= 8 else {
            throw fail("truncated: \(bytes.count) bytes, not even the 8-byte header length")
        }
        let declared = SafeTensor(dtype: .U64, shape: [1], bytes: Array(bytes[0..<8])).uint64s![0]
        guard declared <= UInt64(SafeTensorsFile.maximumHeaderSize) else {
            throw fail("header length \(declared) exceeds the \(SafeTensorsFile.maximumHeaderSize)-byte limit (not a safetensors file?)")
        }
        let headerSize = Int(declared)
        guard 8 + headerSize <= bytes.count else {
            throw fail("truncated: header says \(headerSize) bytes of JSON, file has \(bytes.count - 8) after the length")
        }
        guard headerSize >= 2, bytes[8] == UInt8(ascii: "{") else {
            throw fail("bad header: JSON object expected after the 8-byte length")
        }
        let header = bytes[8..<(8 + headerSize)]
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(header))
        } catch {
            let reason = (error as NSError).userInfo["NSDebugDescription"] as? String ?? "\(error)"
            throw fail("bad JSON header: \(reason.replacingOccurrences(of: "\n", with: " "))")
        }
        guard let members = root as? [String: Any] else { throw fail("bad header: not a JSON object") }
        // Foundation keeps the last of two equal keys without a word; two entries for one name
        // make the header ambiguous.
        if let key = SafeTensorsFile.duplicateKey(in: header) {
            throw fail("bad JSON header: duplicate key \"\(key)\"")
        }

        var entries: [String: (dtype: SafeTensorDType, shape: [Int])] = [:]
        var metadata: [String: String] = [:]
        var spans: [(begin: Int, end: Int, name: String)] = []
        let dataStart = 8 + headerSize, dataSize = bytes.count - dataStart
        for name in members.keys.sorted() {
            let value = members[name]!
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw fail("bad header: __metadata__ is not an object") }
                for key in entries.keys.sorted() {
                    guard let text = entries[key] as? String else {
                        throw fail("bad header: __metadata__ value for \"\(key)\" is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let fields = value as? [String: Any] else { throw fail("bad header: tensor \"\(name)\" is not an object") }
            var dtype: SafeTensorDType?, shape: [Int]?, offsets: [Int]?
            for field in fields.keys.sorted() {
                let v = fields[field]!
                switch field {
                case "dtype":
                    guard let text = v as? String else { throw fail("tensor \"\(name)\": dtype is not a string") }
                    guard let known = SafeTensorDType(rawValue: text) else {
                        throw fail("tensor \"\(name)\": unsupported dtype \"\(text)\" (cnf reads F32, F64, I64, U64)")
                    }
                    dtype = known
                case "shape":
                    guard let items = SafeTensorsFile.naturals(v) else {
                        throw fail("tensor \"\(name)\": shape is not a list of non-negative integers")
                    }
                    shape = items
                case "data_offsets":
                    guard let items = SafeTensorsFile.naturals(v), items.count == 2 else {
                        throw fail("tensor \"\(name)\": data_offsets is not [begin, end] with non-negative integers")
                    }
                    offsets = items
                default:
                    throw fail("tensor \"\(name)\": unknown field \"\(field)\"")
                }
            }
            guard let dtype, let shape, let offsets else {
                throw fail("tensor \"\(name)\": needs dtype, shape and data_offsets")
            }
            var count = 1
            for dim in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow, product <= Int.max / 8 else { throw fail("tensor \"\(name)\": shape \(shape) is too large") }
                count = product
            }
            guard offsets[0] <= offsets[1] else {
                throw fail("tensor \"\(name)\": data_offsets [\(offsets[0]), \(offsets[1])] end before they begin")
            }
            guard offsets[1] - offsets[0] == count * dtype.size else {
                throw fail("tensor \"\(name)\": shape \(shape) of \(dtype) needs \(count * dtype.size) bytes, data_offsets [\(offsets[0]), \(offsets[1])] give \(offsets[1] - offsets[0])")
            }
            spans.append((offsets[0], offsets[1], name))
            entries[name] = (dtype, shape)
        }

        spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        let needed = spans.last?.end ?? 0
        guard needed <= dataSize else {
            throw fail("truncated: header says \(needed) bytes of data, file has \(dataSize)")
        }
        var tensors: [String: SafeTensor] = [:]
        var next = 0
        for span in spans {
            guard span.begin == next else {
                throw fail(span.begin < next
                           ? "tensor \"\(span.name)\" overlaps the tensor before it (data_offsets begin at \(span.begin), previous ends at \(next))"
                           : next == 0
                               ? "gap in the data: the first tensor \"\(span.name)\" begins at \(span.begin), not 0"
                               : "gap in the data: tensor \"\(span.name)\" begins at \(span.begin), previous tensor ends at \(next)")
            }
            next = span.end
            let entry = entries[span.name]!
            tensors[span.name] = SafeTensor(dtype: entry.dtype, shape: entry.shape,
                                            bytes: Array(bytes[(dataStart + span.begin)..<(dataStart + span.end)]))
        }
        guard next == dataSize else {
            throw fail("\(dataSize - next) trailing bytes: header accounts for \(next) bytes of data, file has \(dataSize)")
        }
        self.init(tensors: tensors, metadata: metadata)
    }

    /// A JSON array of non-negative integers as Foundation parsed it, or nil. JSONSerialization
    /// types its numbers: integers come as integer NSNumbers, `1.0`, `1e2` and integers beyond
    /// 64 bits as floating-point or decimal ones, `true` as a boolean: only the first pass.
    static func naturals(_ value: Any) -> [Int]? {
        guard let items = value as? [Any] else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let number = item as? NSNumber, !(number is NSDecimalNumber) else { return nil }
            switch String(cString: number.objCType) {
            case "s", "i", "l", "q":
                let v = number.int64Value
                guard v >= 0 else { return nil }
                out.append(Int(v))
            case "S", "I", "L", "Q":
                let v = number.uint64Value
                guard v <= UInt64(Int.max) else { return nil }
                out.append(Int(v))
            default:  // "c"/"C" (booleans), "f"/"d" (non-integers)
                return nil
            }
        }
        return out
    }

    /// The first key that occurs twice in one object of `json`, or nil. `json` has already been
    /// parsed by JSONSerialization (so its strings are terminated and its brackets balanced);
    /// this only walks its strings and brackets, and lets Foundation decode each key.
    static func duplicateKey(in json: ArraySlice<UInt8>) -> String? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
        var open: [Set<String>?] = []  // one per open container: the keys seen in an object, nil in an array
        var i = json.startIndex
        while i < json.endIndex {
            switch json[i] {
            case UInt8(ascii: "{"): open.append([])
            case UInt8(ascii: "["): open.append(nil)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): open.removeLast()
            case quote:
                let start = i
                i += 1
                while json[i] != quote { i += json[i] == backslash ? 2 : 1 }
                var next = i + 1
                while next < json.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(json[next]) { next += 1 }
                if next < json.endIndex, json[next] == colon, open.last != nil,
                   let key = try? JSONSerialization.jsonObject(with: Data(json[start...i]), options: .fragmentsAllowed) as? String,
                   !open[open.count - 1]!.insert(key).inserted {
                    return key
                }
            default: break
            }
            i += 1
        }
        return nil
    }
}
