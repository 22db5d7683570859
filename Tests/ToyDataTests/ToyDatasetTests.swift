import XCTest
import CNFCore
@testable import ToyData

/// Each recipe of shared/TOYDATA.md checked through a property with a closed form,
/// with tolerances of 4 standard errors (estimated from the sample, or binomial).
final class ToyDatasetTests: XCTestCase {
    let n = 40_000

    func sample(_ set: ToyDataset, _ n: Int, seed: UInt64 = 1) -> [(x: Double, y: Double)] {
        var rng = Xoshiro256(seed: seed)
        return pairs(set.sample(n, using: &rng))
    }

    // MARK: 8gaussians

    func testEightGaussiansModesMeansAndSpread() {
        let centres = [(4.0, 0.0), (-4, 0), (0, 4), (0, -4)]
            + [(1.0, 1.0), (1, -1), (-1, 1), (-1, -1)].map { (4 * $0.0 / 2.0.squareRoot(), 4 * $0.1 / 2.0.squareRoot()) }
        let modes = centres.map { (x: $0.0 / 1.414, y: $0.1 / 1.414) }
        let sigma = 0.5 / 1.414
        let points = sample(.eightGaussians, n)
        // Nearest mode (modes are 2.17 apart, 6σ: misassignment ~0.2 %).
        let label = points.map { p in
            modes.indices.min { hypot(p.x - modes[$0].x, p.y - modes[$0].y) < hypot(p.x - modes[$1].x, p.y - modes[$1].y) }!
        }
        for (k, m) in modes.enumerated() {
            let mine = points.indices.filter { label[$0] == k }.map { points[$0] }
            assertFraction(mine.count, of: n, 1.0 / 8, "8gaussians mode \(k) share")
            assertMean(mine.map(\.x), m.x, "8gaussians mode \(k) mean x")
            assertMean(mine.map(\.y), m.y, "8gaussians mode \(k) mean y")
            // Per-coordinate variance σ² = (0.5/1.414)².
            assertMean(mine.map { ((($0.x - m.x) * ($0.x - m.x)) + (($0.y - m.y) * ($0.y - m.y))) / 2 },
                       sigma * sigma, "8gaussians mode \(k) variance")
        }
        // i.i.d.: the mode of point i+1 does not depend on point i's (FFJORD-style blocks would).
        let same = zip(label, label.dropFirst()).filter { $0 == $1 }.count
        assertFraction(same, of: n - 1, 1.0 / 8, "8gaussians consecutive points in the same mode")
    }

    /// The table's floor: H = −E log p(x) with the exact mixture density, by Monte Carlo.
    func testEightGaussiansEntropyFloorByExactDensity() {
        let sigma = 0.5 / 1.414
        let modes = ToyDataset.eightGaussianCentres.map { (x: $0.0 / 1.414, y: $0.1 / 1.414) }
        let points = sample(.eightGaussians, 100_000, seed: 5)
        let negLogP = points.map { p -> Double in
            let density = modes.reduce(0.0) { acc, m in
                let r2 = (p.x - m.x) * (p.x - m.x) + (p.y - m.y) * (p.y - m.y)
                return acc + exp(-r2 / (2 * sigma * sigma)) / (2 * Double.pi * sigma * sigma)
            } / 8
            return -log(density)
        }
        assertMean(negLogP, ToyDataset.eightGaussians.entropyFloor, "8gaussians entropy")
    }

    // MARK: circles and rings

    /// For a point r·(cos θ, sin θ) plus N(0, σ²I) noise, E|x|² = r² + 2σ² exactly
    /// (E|x| has no elementary form, it is a Rice mean), so the radius is √(E|x|² − 2σ²).
    func checkRings(_ set: ToyDataset, radii: [Double], sigma: Double, file: StaticString = #filePath, line: UInt = #line) {
        let points = sample(set, n)
        let r2 = points.map { $0.x * $0.x + $0.y * $0.y }
        let ring = r2.map { s in radii.indices.min { abs(s.squareRoot() - radii[$0]) < abs(s.squareRoot() - radii[$1]) }! }
        for (k, r) in radii.enumerated() {
            let mine = r2.indices.filter { ring[$0] == k }.map { r2[$0] }
            assertFraction(mine.count, of: n, 1 / Double(radii.count), "\(set) ring \(r) share", file: file, line: line)
            assertMean(mine, r * r + 2 * sigma * sigma, "\(set) ring \(r) mean |x|²", file: file, line: line)
        }
        let same = zip(ring, ring.dropFirst()).filter { $0 == $1 }.count
        assertFraction(same, of: n - 1, 1 / Double(radii.count), "\(set) consecutive points on one ring", file: file, line: line)
        // Uniform angle: E cos θ = E sin θ = 0 and E cos 2θ = 0.
        assertMean(points.map { $0.x / ($0.x * $0.x + $0.y * $0.y).squareRoot() }, 0, "\(set) E cos θ", file: file, line: line)
        assertMean(points.map { ($0.x * $0.x - $0.y * $0.y) / ($0.x * $0.x + $0.y * $0.y) }, 0, "\(set) E cos 2θ", file: file, line: line)
    }

    func testCirclesRadiiAndShares() {
        checkRings(.circles, radii: [3, 1.5], sigma: 3 * 0.08)
    }

    func testRingsRadiiAndShares() {
        checkRings(.rings, radii: [3, 2.25, 1.5, 0.75], sigma: 0.08)
    }

    // MARK: checkerboard

    func testCheckerboardOccupiesEightCellsUniformly() {
        let points = sample(.checkerboard, n)
        let outside = points.filter { !(-4..<4).contains($0.x) || !(-4..<4).contains($0.y) }
        XCTAssertEqual(outside.count, 0, "checkerboard points outside [-4, 4)², e.g. \(outside.prefix(3))")
        var counts = [Int](repeating: 0, count: 16)
        for p in points where outside.isEmpty {
            let i = Int(floor(p.x / 2)) + 2, j = Int(floor(p.y / 2)) + 2
            counts[4 * i + j] += 1
        }
        for i in 0..<4 {
            for j in 0..<4 {
                if (i + j) % 2 == 0 {
                    assertFraction(counts[4 * i + j], of: n, 1.0 / 8, "checkerboard cell (\(i), \(j))")
                } else {
                    XCTAssertEqual(counts[4 * i + j], 0, "checkerboard cell (\(i), \(j)) should be empty")
                }
            }
        }
        // Uniform inside each cell: the position within a cell has mean ½ (of the side).
        assertMean(points.map { ($0.x / 2) - floor($0.x / 2) }, 0.5, "checkerboard x within cell")
        assertMean(points.map { ($0.y / 2) - floor($0.y / 2) }, 0.5, "checkerboard y within cell")
    }

    // MARK: moons, pinwheel, 2spirals, swissroll

    /// Before the map (x, y) → (2x − 1, 2y − 0.2), with θ ~ U(0, π) and noise σ = 0.1:
    /// E x = ½, E y = ¼, E x² = 1 + σ², E y² = ⅝ − 1/π + σ², E xy = ¼ − 1/π. Hence
    /// E X = 0, E Y = 0.3, E X² = 3.04, E Y² = 2.38 − 4/π, E XY = ½ − 4/π.
    func testMoonsMoments() {
        let points = sample(.moons, n)
        assertMean(points.map(\.x), 0, "moons E X")
        assertMean(points.map(\.y), 0.3, "moons E Y")
        assertMean(points.map { $0.x * $0.x }, 3.04, "moons E X²")
        assertMean(points.map { $0.y * $0.y }, 2.38 - 4 / Double.pi, "moons E Y²")
        assertMean(points.map { $0.x * $0.y }, 0.5 - 4 / Double.pi, "moons E XY")
    }

    /// |x|² = 4(f₀² + f₁²), so E|x|² = 4(1 + 0.3² + 0.1²) = 4.4; by the five-fold symmetry
    /// E x = 0. The polar angle of a point is −2πk/5 − 0.25·e^{f₀} + atan2(f₁, f₀), so with
    /// f₀ ≈ |x|/2 the arm k can be read off the angle, and the residual is small.
    func testPinwheelArmsByAngle() {
        let points = sample(.pinwheel, n)
        assertMean(points.map { $0.x * $0.x + $0.y * $0.y }, 4.4, "pinwheel E|x|²")
        assertMean(points.map(\.x), 0, "pinwheel E x")
        assertMean(points.map(\.y), 0, "pinwheel E y")
        let armAngle = 2 * Double.pi / 5
        var arms = [Int](repeating: 0, count: 5)
        var close = 0
        for p in points {
            let t = -atan2(p.y, p.x) - 0.25 * exp((p.x * p.x + p.y * p.y).squareRoot() / 2)
            let k = (t / armAngle).rounded()
            arms[((Int(k) % 5) + 5) % 5] += 1
            if abs(t - k * armAngle) < 0.4 { close += 1 }
        }
        for k in 0..<5 { assertFraction(arms[k], of: n, 0.2, "pinwheel arm \(k)") }
        // |atan(f₁/f₀)| < 0.4 for ~96 % of points; a uniform angle would give 0.4/(π/5) = 64 %.
        XCTAssertGreaterThan(Double(close) / Double(n), 0.9, "pinwheel points near their arm's spiral")
    }

    /// With m = 3π√u: E m² = 9π²/2, E[m cos m] = −4/(3π), E[m sin m] = 2 − 8/(9π²), so
    /// E|p|² = 9π²/2 + 1/6 + 2/(3π) + 1 − 4/(9π²) for the point before ÷3; E|x|² = E|p|²/9 + 2·0.1².
    /// The random sign makes the mean 0.
    func testTwoSpiralsMoments() {
        let pi = Double.pi
        let expected = (9 * pi * pi / 2 + 1.0 / 6 + 2 / (3 * pi) + 1 - 4 / (9 * pi * pi)) / 9 + 0.02
        let points = sample(.twoSpirals, n)
        assertMean(points.map { $0.x * $0.x + $0.y * $0.y }, expected, "2spirals E|x|²")
        assertMean(points.map(\.x), 0, "2spirals E x")
        assertMean(points.map(\.y), 0, "2spirals E y")
    }

    /// t ~ U(1.5π, 4.5π): E[t cos t] = 2, E[t sin t] = 2/(3π), E t² = 9.75π²;
    /// so E x = 0.4, E y = 2/(15π) and E|x|² = (9.75π² + 2)/25.
    func testSwissrollMoments() {
        let pi = Double.pi
        let points = sample(.swissroll, n)
        assertMean(points.map(\.x), 0.4, "swissroll E x")
        assertMean(points.map(\.y), 2 / (15 * pi), "swissroll E y")
        assertMean(points.map { $0.x * $0.x + $0.y * $0.y }, (9.75 * pi * pi + 2) / 25, "swissroll E|x|²")
    }

    // MARK: reproducibility and names

    func testSameSeedSameSampleAndStreamsDiffer() {
        for set in ToyDataset.allCases {
            var a = Xoshiro256(seed: 9), b = Xoshiro256(seed: 9), c = Xoshiro256(seed: 9, stream: 1)
            let x = set.sample(500, using: &a)
            XCTAssertEqual(x.count, 1000)
            XCTAssertEqual(x, set.sample(500, using: &b), "\(set): same seed, same sample")
            XCTAssertNotEqual(x, set.sample(500, using: &c), "\(set): another stream, another sample")
            // Points are drawn one by one: two batches in a row equal one batch of the sum.
            var d = Xoshiro256(seed: 9)
            XCTAssertEqual(set.sample(200, using: &d) + set.sample(300, using: &d), x, "\(set): batches concatenate")
            XCTAssert(x.allSatisfy(\.isFinite), "\(set): finite values")
        }
    }

    func testNamesRoundTripAndUnknownNameListsKnownOnes() throws {
        XCTAssertEqual(ToyDataset.allCases.map(\.rawValue),
                       ["8gaussians", "2spirals", "checkerboard", "circles", "moons", "pinwheel", "rings", "swissroll"])
        for set in ToyDataset.allCases { XCTAssertEqual(try ToyDataset.named(set.rawValue), set) }
        XCTAssertEqual(try ToyDataset.named(" Rings "), .rings)
        XCTAssertThrowsError(try ToyDataset.named("8gaussian")) { error in
            let e = error as! DataError
            XCTAssertEqual(e.kind, .unknownDataset)
            XCTAssert(e.description.contains("'8gaussian'"), e.description)
            for set in ToyDataset.allCases { XCTAssert(e.description.contains(set.rawValue), e.description) }
        }
    }

    func testEntropyFloorsMatchTable() {
        XCTAssertEqual(ToyDataset.checkerboard.entropyFloor, log(32), accuracy: 0.0005)
        for set in ToyDataset.allCases {
            XCTAssert((2...4).contains(set.entropyFloor), "\(set) floor \(set.entropyFloor)")
            XCTAssertFalse(set.entropyFloorMethod.isEmpty)
        }
    }

    func testDataSetWrapsSample() {
        var a = Xoshiro256(seed: 3), b = Xoshiro256(seed: 3)
        let d = ToyDataset.moons.dataSet(10, using: &a)
        XCTAssertEqual(d.rows, 10)
        XCTAssertEqual(d.cols, 2)
        XCTAssertEqual(d.source, "moons")
        XCTAssertEqual(d.values, ToyDataset.moons.sample(10, using: &b))
        XCTAssertEqual(d[3, 1], d.values[7])
        XCTAssertEqual(d.matrix(Float.self).storage, d.values.map { Float($0) })
    }
}
