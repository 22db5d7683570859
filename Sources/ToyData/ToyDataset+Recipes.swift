#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNFCore

/// The recipes of `shared/TOYDATA.md`, one point at a time. Every random choice is made
/// per point (mode, ring, moon, arm, sign), so points are i.i.d.; where FFJORD/sklearn use
/// evenly spaced angles (circles, moons, rings) the angle here is uniform.
extension ToyDataset {
    /// One point. The order of draws from `rng` is part of the reproducibility contract.
    @inline(__always)
    func point(using rng: inout Xoshiro256) -> (Double, Double) {
        switch self {
        case .eightGaussians: return Self.eightGaussians(&rng)
        case .twoSpirals: return Self.twoSpirals(&rng)
        case .checkerboard: return Self.checkerboard(&rng)
        case .circles: return Self.circles(&rng)
        case .moons: return Self.moons(&rng)
        case .pinwheel: return Self.pinwheel(&rng)
        case .rings: return Self.rings(&rng)
        case .swissroll: return Self.swissroll(&rng)
        }
    }

    /// The eight mode centres before the final ÷1.414: 4·{(±1,0), (0,±1), (±1/√2, ±1/√2)},
    /// in FFJORD's order.
    public static let eightGaussianCentres: [(Double, Double)] = {
        let s = 1 / 2.0.squareRoot()
        let unit: [(Double, Double)] = [(1, 0), (-1, 0), (0, 1), (0, -1),
                                        (s, s), (s, -s), (-s, s), (-s, -s)]
        return unit.map { (4 * $0.0, 4 * $0.1) }
    }()

    /// FFJORD divides by the literal 1.414 (not √2); kept for fidelity.
    public static let eightGaussiansScale = 1.414

    /// x = (c + 0.5·N(0, I)) / 1.414, with the centre c uniform over the eight.
    static func eightGaussians(_ rng: inout Xoshiro256) -> (Double, Double) {
        let c = eightGaussianCentres[rng.int(below: 8)]
        let x = c.0 + 0.5 * rng.normal()
        let y = c.1 + 0.5 * rng.normal()
        return (x / eightGaussiansScale, y / eightGaussiansScale)
    }

    /// m = √u·3π (540°); p = (−m cos m + U(0,1)/2, m sin m + U(0,1)/2), negated with
    /// probability ½ (FFJORD negates exactly half the batch); then ÷3 + N(0, 0.1²).
    static func twoSpirals(_ rng: inout Xoshiro256) -> (Double, Double) {
        let m = rng.uniform().squareRoot() * 3 * Double.pi
        var x = -cos(m) * m + rng.uniform() * 0.5
        var y = sin(m) * m + rng.uniform() * 0.5
        if rng.bernoulli(0.5) { x = -x; y = -y }
        return (x / 3 + 0.1 * rng.normal(), y / 3 + 0.1 * rng.normal())
    }

    /// x₁ ~ U(−2, 2); x₂ = U(0,1) − 2·B + (⌊x₁⌋ mod 2), B ~ Bernoulli(½); both ×2.
    /// Uniform on the 8 of the 16 2×2 cells of [−4, 4)² whose indices have even sum.
    static func checkerboard(_ rng: inout Xoshiro256) -> (Double, Double) {
        let x1 = rng.uniform(-2, 2)
        let b: Double = rng.bernoulli(0.5) ? 1 : 0
        let cell = Int(floor(x1))
        let parity = Double(((cell % 2) + 2) % 2)   // Python's floor-mod: never negative
        let x2 = rng.uniform() - 2 * b + parity
        return (2 * x1, 2 * x2)
    }

    /// Radius 1 or 0.5 (probability ½ each; sklearn's make_circles, factor 0.5), angle
    /// θ ~ U(0, 2π); + N(0, 0.08²); then ×3 (rings of radius 3 and 1.5, noise 0.24).
    static func circles(_ rng: inout Xoshiro256) -> (Double, Double) {
        let r = rng.bernoulli(0.5) ? 1.0 : 0.5
        let theta = rng.uniform(0, 2 * Double.pi)
        let x = r * cos(theta) + 0.08 * rng.normal()
        let y = r * sin(theta) + 0.08 * rng.normal()
        return (3 * x, 3 * y)
    }

    /// sklearn's make_moons with noise 0.1, then FFJORD's ×2 + (−1, −0.2): θ ~ U(0, π),
    /// outer moon (cos θ, sin θ) or inner moon (1 − cos θ, 0.5 − sin θ) with probability ½.
    static func moons(_ rng: inout Xoshiro256) -> (Double, Double) {
        let theta = rng.uniform(0, Double.pi)
        var x: Double, y: Double
        if rng.bernoulli(0.5) {
            x = cos(theta); y = sin(theta)
        } else {
            x = 1 - cos(theta); y = 0.5 - sin(theta)
        }
        x += 0.1 * rng.normal()
        y += 0.1 * rng.normal()
        return (2 * x - 1, 2 * y - 0.2)
    }

    /// Five arms; arm k (uniform) has base angle 2πk/5. f₀ ~ N(1, 0.3²) (radial),
    /// f₁ ~ N(0, 0.1²) (tangential); a = 2πk/5 + 0.25·e^{f₀};
    /// x = 2·(f₀ cos a + f₁ sin a, −f₀ sin a + f₁ cos a), i.e. (f₀, f₁) rotated by −a, ×2.
    static func pinwheel(_ rng: inout Xoshiro256) -> (Double, Double) {
        let k = Double(rng.int(below: 5))
        let f0 = 1 + 0.3 * rng.normal()
        let f1 = 0.1 * rng.normal()
        let a = 2 * Double.pi * k / 5 + 0.25 * exp(f0)
        let (c, s) = (cos(a), sin(a))
        return (2 * (f0 * c + f1 * s), 2 * (-f0 * s + f1 * c))
    }

    /// The ring radii of `rings`: FFJORD's 1, 0.75, 0.5, 0.25, ×3.
    public static let ringRadii: [Double] = [3, 2.25, 1.5, 0.75]

    /// A ring of `ringRadii` (uniform), angle θ ~ U(0, 2π); + N(0, 0.08²).
    static func rings(_ rng: inout Xoshiro256) -> (Double, Double) {
        let r = ringRadii[rng.int(below: 4)]
        let theta = rng.uniform(0, 2 * Double.pi)
        return (r * cos(theta) + 0.08 * rng.normal(), r * sin(theta) + 0.08 * rng.normal())
    }

    /// sklearn's make_swiss_roll (noise 1) seen from its (x, z) plane, as FFJORD uses it:
    /// t ~ U(1.5π, 4.5π); (t cos t, t sin t) + N(0, I); then ÷5.
    static func swissroll(_ rng: inout Xoshiro256) -> (Double, Double) {
        let t = rng.uniform(1.5 * Double.pi, 4.5 * Double.pi)
        let x = t * cos(t) + rng.normal()
        let y = t * sin(t) + rng.normal()
        return (x / 5, y / 5)
    }
}
