// SolveOptions as a configuration section: every key optional (a missing key keeps the default
// declared on the property), unknown keys rejected, and maxStep = ∞ written as absent (JSON has
// no infinity).

/// A configuration section that decodes onto an existing value: keys present in the file
/// replace the value's fields, missing keys keep them. A section nested in a larger
/// configuration thus keeps the defaults the larger one declares for it (not the section
/// type's own), so every default is stated once.
public protocol OverlayDecodable {
    mutating func overlay(from decoder: Decoder) throws
}

extension SolveOptions: OverlayDecodable {}

extension SolveOptions {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case method, rtol, atol, step, minStep, maxStep, maxSteps, safety, minFactor, maxFactor, icoeff, pcoeff, normGroups
    }

    public init(from decoder: Decoder) throws {
        self.init()
        try overlay(from: decoder)
    }

    public mutating func overlay(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.allCases.map(\.rawValue), section: "solver")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decodeIfPresent(SolverMethod.self, forKey: .method) ?? method
        rtol = try c.decodeIfPresent(Double.self, forKey: .rtol) ?? rtol
        atol = try c.decodeIfPresent(Double.self, forKey: .atol) ?? atol
        if c.contains(.step) { step = try c.decodeIfPresent(Double.self, forKey: .step) }
        minStep = try c.decodeIfPresent(Double.self, forKey: .minStep) ?? minStep
        maxStep = try c.decodeIfPresent(Double.self, forKey: .maxStep) ?? maxStep
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps) ?? maxSteps
        safety = try c.decodeIfPresent(Double.self, forKey: .safety) ?? safety
        minFactor = try c.decodeIfPresent(Double.self, forKey: .minFactor) ?? minFactor
        maxFactor = try c.decodeIfPresent(Double.self, forKey: .maxFactor) ?? maxFactor
        icoeff = try c.decodeIfPresent(Double.self, forKey: .icoeff) ?? icoeff
        pcoeff = try c.decodeIfPresent(Double.self, forKey: .pcoeff) ?? pcoeff
        if c.contains(.normGroups) { normGroups = try c.decodeIfPresent([NormGroup].self, forKey: .normGroups) }
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
