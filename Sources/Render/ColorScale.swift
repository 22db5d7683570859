import Foundation

/// How values are spread over a colormap.
public enum ValueScale: String, CaseIterable, Sendable {
    /// t = (v − lo)/(hi − lo).
    case linear
    /// t = √((v − lo)/(hi − lo)): lifts faint regions; for sample histograms.
    case sqrt
    /// t = (ln v − ln lo)/(ln hi − ln lo), v ≤ lo clamped to 0: for densities spanning
    /// decades (the default floor lo = hi·10⁻⁴ hides the numerically meaningless tail).
    case log
    /// t = ln(1 + v − lo)/ln(1 + hi − lo): log-like for counts, with 0 counts at t = 0.
    case log1p
}

/// A concrete mapping from values to colours: `colormap(position(v))`, with the value
/// range [lo, hi] fixed. NaN values get `badColor`.
public struct ColorScale: Equatable, Sendable {
    public var colormap: Colormap
    public var scale: ValueScale
    public var lo: Double
    public var hi: Double
    /// Colour of NaN values (matplotlib leaves them blank; a light grey shows the hole).
    public var badColor: Color = .lightGrey

    public init(colormap: Colormap = .viridis, scale: ValueScale = .linear, lo: Double, hi: Double) {
        self.colormap = colormap; self.scale = scale; self.lo = lo; self.hi = hi
    }

    /// The range [lo, hi] fitted to `values` (finite ones) unless given: hi = vmax or
    /// the largest value; lo = vmin or the smallest value — for `.log`, the larger of
    /// hi·`logFloor` and the smallest positive value. Empty or all-NaN data give [0, 1].
    public static func fitting(_ values: [Double], colormap: Colormap = .viridis, scale: ValueScale = .linear,
                               vmin: Double? = nil, vmax: Double? = nil, logFloor: Double = 1e-4) -> ColorScale {
        var smallest = Double.infinity, largest = -Double.infinity, smallestPositive = Double.infinity
        for v in values where v.isFinite {
            smallest = Swift.min(smallest, v); largest = Swift.max(largest, v)
            if v > 0 { smallestPositive = Swift.min(smallestPositive, v) }
        }
        let hi = vmax ?? (largest.isFinite ? largest : 1)
        let lo: Double
        if let vmin = vmin {
            lo = vmin
        } else if scale == .log {
            lo = smallestPositive.isFinite ? Swift.max(hi * logFloor, smallestPositive) : hi * logFloor
        } else {
            lo = smallest.isFinite ? smallest : 0
        }
        if scale == .log && (hi <= 0 || lo <= 0) {
            // Nothing positive to show on a log scale: an arbitrary valid range, everything at 0.
            return ColorScale(colormap: colormap, scale: scale, lo: logFloor, hi: 1)
        }
        return ColorScale(colormap: colormap, scale: scale, lo: lo, hi: hi)
    }

    /// Where v falls on the colormap, in [0, 1] (NaN stays NaN). A degenerate range
    /// (hi ≤ lo) puts everything at 0, as matplotlib does.
    public func position(_ v: Double) -> Double {
        if v.isNaN { return .nan }
        guard hi > lo else { return 0 }
        let t: Double
        switch scale {
        case .linear: t = (v - lo) / (hi - lo)
        case .sqrt: t = Foundation.sqrt(Swift.max(v - lo, 0) / (hi - lo))
        case .log: t = v <= 0 ? 0 : Foundation.log(v / lo) / Foundation.log(hi / lo)
        case .log1p: t = Foundation.log1p(Swift.max(v - lo, 0)) / Foundation.log1p(hi - lo)
        }
        return Swift.min(Swift.max(t, 0), 1)
    }

    /// The colour of value v.
    public func color(_ v: Double) -> Color {
        v.isNaN ? badColor : colormap.rgb(at: position(v))
    }

    /// Labels for `ticks`, in one style per bar.
    public func labels(_ ticks: [Double]) -> [String] {
        scale == .log || scale == .log1p ? Ticks.logLabels(ticks) : Ticks.labels(ticks)
    }

    /// Values to label on a colour bar, inside [lo, hi].
    public func ticks(maxCount: Int = 6) -> [Double] {
        guard hi > lo else { return [lo] }
        switch scale {
        case .linear, .sqrt: return Ticks.nice(lo, hi, maxCount: maxCount)
        case .log: return Ticks.log(lo, hi)
        case .log1p:
            let upper = Ticks.log(Swift.max(1, lo + 1), hi).filter { $0 >= lo + 1 }
            return [lo] + (upper.isEmpty ? [hi] : upper)
        }
    }
}
