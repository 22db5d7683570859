#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// cnf's own seeded generator: xoshiro256** (Blackman & Vigna 2018), seeded through
/// splitmix64. Same seed → same numbers on every machine: the algorithm uses only
/// 64-bit integer arithmetic, and the derived draws use IEEE operations plus `log`,
/// `sqrt` (polar method), so no platform generator is ever involved.
///
/// The whole state is four `UInt64`s (`state`), which checkpoints save and restore.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable, Codable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `seed`. Different `stream` values give independent sequences
    /// for the same seed (e.g. stream 0 = training data, 1 = test data, 2 = Hutchinson noise).
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        if stream != 0 { _ = Xoshiro256.splitmix(&sm) }
        state = (Xoshiro256.splitmix(&sm), Xoshiro256.splitmix(&sm),
                 Xoshiro256.splitmix(&sm), Xoshiro256.splitmix(&sm))
    }

    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 }, "xoshiro256 state must be 4 words, not all zero")
        self.state = (state[0], state[1], state[2], state[3])
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    @inline(__always)
    static func splitmix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Xoshiro256.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Xoshiro256.rotl(state.3, 45)
        return result
    }

    /// Uniform on [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform on [a, b).
    @inline(__always)
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Standard normal by Marsaglia's polar method (one value per call; the partner
    /// value is discarded so that the state stays four words).
    public mutating func normal() -> Double {
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return u * (-2 * log(s) / s).squareRoot() }
        }
    }

    /// N(mean, std²).
    public mutating func normal(mean: Double, std: Double) -> Double { mean + std * normal() }

    /// ±1 with probability ½ each.
    @inline(__always)
    public mutating func rademacher() -> Double { (next() >> 63) == 0 ? 1 : -1 }

    /// Uniform integer in 0..<n (unbiased, by rejection).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        return Int(next(upperBound: UInt64(n)))
    }

    /// Bernoulli(p).
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    // Tuples are not Codable; encode the four words.
    public init(from decoder: Decoder) throws {
        let words = try [UInt64](from: decoder)
        self.init(state: words)
    }
    public func encode(to encoder: Encoder) throws { try stateWords.encode(to: encoder) }

    public static func == (a: Xoshiro256, b: Xoshiro256) -> Bool { a.stateWords == b.stateWords }
}

/// The run's independent random streams, one per purpose, all from the run's seed. The raw
/// values are part of the results (changing one changes the bits), so they are fixed here.
public enum RandomStream: UInt64, CaseIterable, Sendable {
    /// Training batches (toy draws, or a file's rows drawn with replacement).
    case trainingBatches = 0
    /// Toy sets' test points: touched only by `cnf eval`.
    case test = 1
    /// Hutchinson probe vectors during training.
    case hutchinsonNoise = 2
    /// Initial weights.
    case initialWeights = 3
    /// The shuffle that splits a file's rows into train / validation / test.
    case fileSplit = 4
    /// Toy sets' validation points: what best-checkpoint choice and stopping look at.
    case validation = 5
    /// Probe vectors of log-density evaluations (unused with the exact trace).
    case logDensityNoise = 6
    /// `cnf render`'s samples.
    case renderSamples = 7
    /// `cnf sample`'s base draws.
    case sampleBase = 8
    /// `cnf gradients`' batch and probes.
    case gradientCheck = 9
}

extension Xoshiro256 {
    public init(seed: UInt64, stream: RandomStream) { self.init(seed: seed, stream: stream.rawValue) }
}
