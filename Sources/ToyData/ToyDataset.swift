import CNFCore

/// FFJORD's eight two-dimensional toy densities (its `lib/toy_data.py`), reproduced
/// from their constants (see `shared/TOYDATA.md` and each recipe in
/// `ToyDataset+Recipes.swift`).
///
/// Every sample is i.i.d.: each point independently picks its component (mode,
/// ring, moon, arm, spiral, sign) and its own random angle. FFJORD instead splits
/// a batch into equal parts and, for circles, moons and rings (through sklearn),
/// places the points at *evenly spaced* angles; here the angle is drawn uniformly,
/// so that a batch is a sample of a continuous density rather than a fixed set
/// of blobs, and so that the entropy floors below are the entropies of that density.
/// All sets put ≥ 99.98 % of their mass inside [-4, 4]².
public enum ToyDataset: String, CaseIterable, Sendable {
    case eightGaussians = "8gaussians"
    case twoSpirals = "2spirals"
    case checkerboard
    case circles
    case moons
    case pinwheel
    case rings
    case swissroll

    /// The data set called `name` (its raw value; case and surrounding spaces ignored).
    /// - Throws: `DataError` of kind `.unknownDataset` listing the known names.
    public static func named(_ name: String) throws -> ToyDataset {
        let key = name.trimmingWhitespace().lowercased()
        if let set = ToyDataset(rawValue: key) { return set }
        let known = allCases.map(\.rawValue).joined(separator: ", ")
        throw DataError(.unknownDataset, value: name,
                        "unknown data set '\(name)'; known data sets: \(known)")
    }

    /// `n` i.i.d. points, row-major n × 2: `[x0, y0, x1, y1, …]`.
    ///
    /// The draws for each point come from `rng` in a fixed order, so the same
    /// generator state gives the same sample on every machine.
    /// - Complexity: O(n).
    public func sample(_ n: Int, using rng: inout Xoshiro256) -> [Double] {
        precondition(n >= 0, "sample size must be ≥ 0, got \(n)")
        var out = [Double]()
        out.reserveCapacity(2 * n)
        for _ in 0..<n {
            let (x, y) = point(using: &rng)
            out.append(x)
            out.append(y)
        }
        return out
    }

    /// `n` i.i.d. points as a `DataSet` (source: the data set's name, columns x and y).
    public func dataSet(_ n: Int, using rng: inout Xoshiro256) -> DataSet {
        DataSet(rows: n, cols: 2, values: sample(n, using: &rng), source: rawValue,
                columnNames: ["x", "y"])
    }

    /// The entropy H = −E log p(x) of the density, in nats per sample (both coordinates
    /// together): the expected test NLL of a perfect model, so no model can average below it.
    /// Values and methods from `shared/TOYDATA.md`; `entropyFloorMethod` says how each was
    /// obtained (exact, Monte Carlo with the exact density, or k-NN estimate ±0.01).
    public var entropyFloor: Double {
        switch self {
        case .eightGaussians: return 2.831
        case .checkerboard: return 3.466
        case .pinwheel: return 2.32
        case .twoSpirals: return 2.64
        case .moons: return 2.39
        case .circles: return 3.27
        case .rings: return 2.62
        case .swissroll: return 2.67
        }
    }

    /// How `entropyFloor` was obtained.
    public var entropyFloorMethod: String {
        switch self {
        case .eightGaussians: return "Monte Carlo with the exact mixture density, 10^7 samples (± 0.0003)"
        case .checkerboard: return "exact: ln 32 (uniform on area 32)"
        default: return "k-NN (Kozachenko–Leonenko) estimate, 10^6 samples (± 0.01)"
        }
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var s = self[...]
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }
}
