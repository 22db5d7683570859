import Foundation

/// Tick positions and labels for axes and colour bars.
public enum Ticks {
    /// "Nice" values inside [lo, hi]: the multiples of a step of 1, 2 or 5 × 10^k, the
    /// smallest such step that gives at most about `maxCount` ticks.
    public static func nice(_ lo: Double, _ hi: Double, maxCount: Int = 6) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo, maxCount >= 2 else { return lo.isFinite ? [lo] : [] }
        var step = niceStep(lo, hi, maxCount: maxCount)
        while true {
            var ticks: [Double] = []
            var k = (lo / step).rounded(.up)
            while k * step <= hi + step * 1e-9 {
                let v = k * step
                ticks.append(Swift.abs(v) < step * 1e-9 ? 0 : v)
                k += 1
            }
            // A range that straddles few multiples of the step (e.g. [0.07, 85198] with a
            // step of 50000) would get one tick: take the next smaller nice step.
            if ticks.count >= 2 { return ticks }
            let p = pow(10, log10(step).rounded(.down)), m = (step / p).rounded()
            step = m == 1 ? p / 2 : (m == 2 ? p : 2 * p)
        }
    }

    /// The step `nice` uses: the smallest of 1, 2, 5 × 10^k with at most `maxCount` ticks.
    public static func niceStep(_ lo: Double, _ hi: Double, maxCount: Int = 6) -> Double {
        let raw = (hi - lo) / Double(Swift.max(maxCount - 1, 1))
        let p = pow(10, (log10(raw)).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * p >= raw * (1 - 1e-9) { return m * p }
        return 10 * p
    }

    /// Powers of ten inside [lo, hi] (lo > 0); when that gives fewer than three, the
    /// 2× and 5× values in between are added, like matplotlib's log axes on short ranges.
    public static func log(_ lo: Double, _ hi: Double) -> [Double] {
        guard lo > 0, hi > lo, lo.isFinite, hi.isFinite else { return [] }
        let k0 = Int(log10(lo).rounded(.down)), k1 = Int(log10(hi).rounded(.up))
        let inside = { (v: Double) in v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) }
        let decades = (k0...k1).map { pow(10, Double($0)) }.filter(inside)
        if decades.count >= 3 {
            // Thin out long ranges to about six labels.
            let every = (decades.count + 5) / 6
            return decades.enumerated().filter { $0.offset % every == 0 }.map(\.element)
        }
        let dense = (k0...k1).flatMap { k in [1.0, 2, 5].map { $0 * pow(10, Double(k)) } }.filter(inside)
        return dense.count >= 2 ? dense : nice(lo, hi, maxCount: 4)
    }

    /// A short label for `v`: at most four significant digits, no trailing zeros, plain
    /// decimals for 10⁻³ ≤ |v| < 10⁶ and `2.5e-5` style otherwise. "0" for zero.
    public static func format(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        if v == 0 { return "0" }
        let a = Swift.abs(v)
        if a >= 1e-3 && a < 1e6 {
            let decimals = Swift.min(Swift.max(0, 3 - Int(log10(a).rounded(.down))), 6)
            return trimZeros(String(format: "%.\(decimals)f", v))
        }
        return scientific(v)
    }

    /// Labels for a list of ticks: all with the same number of decimals (enough for the
    /// step between them), so "0.5 1.0 1.5" rather than "0.5 1 1.5".
    public static func labels(_ ticks: [Double]) -> [String] {
        guard ticks.count >= 2 else { return ticks.map(format) }
        let step = zip(ticks.dropFirst(), ticks).map { $0 - $1 }.filter { $0 > 0 }.min() ?? 1
        let biggest = ticks.map { Swift.abs($0) }.max() ?? 0
        let decimals = Swift.max(0, -Int(log10(step).rounded(.down)))
        let uniform = zip(ticks.dropFirst(), ticks).allSatisfy { Swift.abs(($0 - $1) - step) <= step * 1e-6 }
        guard uniform, decimals <= 4, biggest < 1e6 else { return ticks.map(format) }
        return ticks.map { v in
            let s = String(format: "%.\(decimals)f", v)
            return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
        }
    }

    /// Labels for the ticks of a log axis: plain decimals when every tick has one
    /// (10⁻³ ≤ |v| < 10⁶), otherwise all in `1e-5` style, so one axis never mixes both.
    public static func logLabels(_ ticks: [Double]) -> [String] {
        let plain = ticks.allSatisfy { v in v == 0 || (Swift.abs(v) >= 1e-3 && Swift.abs(v) < 1e6) }
        return plain ? ticks.map(format) : ticks.map(scientific)
    }

    /// `v` as mantissa and exponent with at most four significant digits: "1e-5", "2.5e3".
    public static func scientific(_ v: Double) -> String {
        guard v.isFinite, v != 0 else { return format(v) }
        var exponent = Int(log10(Swift.abs(v)).rounded(.down))
        var mantissa = v / pow(10, Double(exponent))
        if Swift.abs((mantissa * 1000).rounded() / 1000) >= 10 { mantissa /= 10; exponent += 1 }
        return trimZeros(String(format: "%.3f", mantissa)) + "e\(exponent)"
    }

    static func trimZeros(_ s: String) -> String {
        guard s.contains(".") else { return s == "-0" ? "0" : s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t == "-0" ? "0" : t
    }
}
