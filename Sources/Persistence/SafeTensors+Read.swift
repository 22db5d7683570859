extension SafeTensorsFile {
    /// Parses and validates a safetensors file's bytes. `file` names it in errors.
    ///
    /// Checks, in order: the 8-byte length and the header fit in the file; the header is JSON
    /// (UTF-8, one object, trailing spaces allowed); `__metadata__` maps strings to strings;
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
        let root: JSONValue
        do {
            root = try JSONParser.parse(Array(bytes[8..<(8 + headerSize)]))
        } catch let error as JSONParser.Failure {
            throw fail("bad JSON header: \(error.message)")
        }
        guard case .object(let members) = root else { throw fail("bad header: not a JSON object") }

        var entries: [String: (dtype: SafeTensorDType, shape: [Int])] = [:]
        var metadata: [String: String] = [:]
        var spans: [(begin: Int, end: Int, name: String)] = []
        let dataStart = 8 + headerSize, dataSize = bytes.count - dataStart
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let entries) = value else { throw fail("bad header: __metadata__ is not an object") }
                for (key, v) in entries {
                    guard case .string(let text) = v else {
                        throw fail("bad header: __metadata__ value for \"\(key)\" is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard case .object(let fields) = value else { throw fail("bad header: tensor \"\(name)\" is not an object") }
            var dtype: SafeTensorDType?, shape: [Int]?, offsets: [Int]?
            for (field, v) in fields {
                switch field {
                case "dtype":
                    guard case .string(let text) = v else { throw fail("tensor \"\(name)\": dtype is not a string") }
                    guard let known = SafeTensorDType(rawValue: text) else {
                        throw fail("tensor \"\(name)\": unsupported dtype \"\(text)\" (cnf reads F32, F64, I64, U64)")
                    }
                    dtype = known
                case "shape":
                    guard case .array(let items) = v, items.allSatisfy({ $0.integer != nil }) else {
                        throw fail("tensor \"\(name)\": shape is not a list of non-negative integers")
                    }
                    shape = items.map { $0.integer! }
                case "data_offsets":
                    guard case .array(let items) = v, items.count == 2, let b = items[0].integer, let e = items[1].integer else {
                        throw fail("tensor \"\(name)\": data_offsets is not [begin, end] with non-negative integers")
                    }
                    offsets = [b, e]
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
}
