/// An 8-bit sRGB colour with straight (not premultiplied) alpha.
///
/// Components are stored as they go into the PNG: `r`, `g`, `b` are sRGB-encoded,
/// `a` is opacity (255 = opaque). Blending (`Image.blend`) works on these encoded
/// values, like matplotlib's Agg backend does, so a colour drawn at alpha α over white
/// looks the same here as it does in the FFJORD figures.
public struct Color: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8
    public var a: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) {
        self.r = r; self.g = g; self.b = b; self.a = a
    }

    /// `Color(hex: 0x1f77b4)`: an opaque colour from a 24-bit 0xRRGGBB literal.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xff), UInt8((hex >> 8) & 0xff), UInt8(hex & 0xff))
    }

    /// The same colour with opacity `alpha` ∈ [0, 1] (clamped; multiplies the current alpha).
    public func withAlpha(_ alpha: Double) -> Color {
        let t = alpha.isNaN ? 0 : Swift.min(Swift.max(alpha, 0), 1)
        return Color(r, g, b, UInt8((Double(a) * t).rounded()))
    }

    public var description: String {
        func h(_ v: UInt8) -> String { let s = String(v, radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + h(r) + h(g) + h(b) + (a == 255 ? "" : h(a))
    }

    public static let white = Color(255, 255, 255)
    public static let black = Color(0, 0, 0)
    public static let clear = Color(0, 0, 0, 0)
    /// Text: a very dark grey, which reads as black at these sizes.
    public static let text = Color(hex: 0x222222)
    /// Plot frames and tick marks.
    public static let frame = Color(hex: 0x333333)
    /// Light grey for legend borders and missing (NaN) values in heat maps.
    public static let lightGrey = Color(hex: 0xcccccc)
    public static let grey = Color(hex: 0x808080)

    /// matplotlib's "tab10" cycle (its default line colours), used for plot series in order.
    public static let palette: [Color] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
        0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
    ].map { Color(hex: $0) }
}
