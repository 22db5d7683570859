// SolveOptions as a configuration section: every key optional (a missing key keeps the default
// declared on the property), unknown keys rejected, and maxStep = ∞ written as absent (JSON has
// no infinity).

/// A configuration section that decodes onto an existing value: keys present in the file
/// replace the value's fields, missing keys keep them. A section nested in a larger
/// configuration thus keeps the defaults the larger one declares for it (not the section
/// type's own), so every default is stated once.
///
/// Decoding a conforming type on its own starts from its `init()` (this protocol's `init(from:)`,
/// which takes precedence over a synthesized one), so its own defaults fill missing keys.
public protocol OverlayDecodable: Decodable {
    init()
    mutating func overlay(from decoder: Decoder) throws
}

extension OverlayDecodable {
    public init(from decoder: Decoder) throws {
        self.init()
        try overlay(from: decoder)
    }
}

extension Decoder {
    /// The keyed container of a configuration section, after refusing any key `Key` does not
    /// name (the error names the key, the section and the known keys).
    public func section<Key: CodingKey & CaseIterable & RawRepresentable>(
        _: Key.Type, named section: String) throws -> KeyedDecodingContainer<Key> where Key.RawValue == String {
        try rejectUnknownKeys(self, Key.allCases.map(\.rawValue), section: section)
        return try container(keyedBy: Key.self)
    }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` when `key` is present (and not null).
    public func update<T: Decodable>(_ value: inout T, _ key: Key) throws {
        if let v = try decodeIfPresent(T.self, forKey: key) { value = v }
    }
    /// Optional values: a present key (even null) replaces the default.
    public func update<T: Decodable>(_ value: inout T?, _ key: Key) throws {
        if contains(key) { value = try decodeIfPresent(T.self, forKey: key) }
    }
    /// A section: its keys overlay the current value (the enclosing configuration's default).
    public func overlay<T: OverlayDecodable>(_ value: inout T, _ key: Key) throws {
        if contains(key), try !decodeNil(forKey: key) { try value.overlay(from: superDecoder(forKey: key)) }
    }
}

extension SolveOptions: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case method, rtol, atol, step, minStep, maxStep, maxSteps, safety, minFactor, maxFactor, icoeff, pcoeff, normGroups
    }

    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "solver")
        try c.update(&method, .method)
        try c.update(&rtol, .rtol)
        try c.update(&atol, .atol)
        try c.update(&step, .step)
        try c.update(&minStep, .minStep)
        try c.update(&maxStep, .maxStep)
        try c.update(&maxSteps, .maxSteps)
        try c.update(&safety, .safety)
        try c.update(&minFactor, .minFactor)
        try c.update(&maxFactor, .maxFactor)
        try c.update(&icoeff, .icoeff)
        try c.update(&pcoeff, .pcoeff)
        try c.update(&normGroups, .normGroups)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(rtol, forKey: .rtol)
        try c.encode(atol, forKey: .atol)
        try c.encodeIfPresent(step, forKey: .step)
        try c.encode(minStep, forKey: .minStep)
        if maxStep.isFinite { try c.encode(maxStep, forKey: .maxStep) }
        try c.encode(maxSteps, forKey: .maxSteps)
        try c.encode(safety, forKey: .safety)
        try c.encode(minFactor, forKey: .minFactor)
        try c.encode(maxFactor, forKey: .maxFactor)
        try c.encode(icoeff, forKey: .icoeff)
        try c.encode(pcoeff, forKey: .pcoeff)
        try c.encodeIfPresent(normGroups, forKey: .normGroups)
    }
}

/// Throws when the object being decoded has a key outside `known`: a misspelt option in a
/// configuration file is an error, never silently ignored.
public func rejectUnknownKeys(_ decoder: Decoder, _ known: [String], section: String) throws {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    let all = try decoder.container(keyedBy: Key.self)
    let knownSet = Set(known)
    for key in all.allKeys where !knownSet.contains(key.stringValue) {
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath,
            debugDescription: "unknown key '\(key.stringValue)' in \(section) (known: \(known.joined(separator: ", ")))"))
    }
}
