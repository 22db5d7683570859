/// Colormaps from [0, 1] to sRGB, as data.
///
/// viridis (the default, as in matplotlib ≥ 2.0 and the FFJORD figures), magma, inferno
/// and plasma are matplotlib's perceptually uniform maps: 256 table entries each
/// (`ColormapTables.swift`), lightness L* strictly increasing from the first entry to the
/// last, so larger values always look brighter. `grey` runs linearly from black to white,
/// like matplotlib's "gray".
public enum Colormap: String, CaseIterable, Sendable {
    case viridis, magma, inferno, plasma, grey

    /// The table as flat RGB triples in [0, 1], evenly spaced over [0, 1].
    var table: [Double] {
        switch self {
        case .viridis: return Colormap.viridisTable
        case .magma: return Colormap.magmaTable
        case .inferno: return Colormap.infernoTable
        case .plasma: return Colormap.plasmaTable
        case .grey: return [0, 0, 0, 1, 1, 1]
        }
    }

    /// The colour at v ∈ [0, 1], linearly interpolated between the two nearest table
    /// entries (entry k sits at k/(n−1)) and rounded to 8 bits. v is clamped to [0, 1];
    /// NaN gives the colour at 0.
    public func color(at v: Double) -> (UInt8, UInt8, UInt8) {
        let t = table
        let n = t.count / 3
        let u = v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)
        let pos = u * Double(n - 1)
        let i = Swift.min(Int(pos), n - 2)
        let f = pos - Double(i)
        func channel(_ c: Int) -> UInt8 {
            let a = t[3 * i + c], b = t[3 * (i + 1) + c]
            return UInt8((255 * (a + f * (b - a))).rounded())
        }
        return (channel(0), channel(1), channel(2))
    }

    /// `color(at:)` as an opaque `Color`.
    public func rgb(at v: Double) -> Color {
        let (r, g, b) = color(at: v)
        return Color(r, g, b)
    }
}
