/// An 8-bit RGBA raster: `width` × `height` pixels, row 0 at the top.
///
/// Pixel coordinates: pixel (x, y) is the unit square [x, x+1) × [y, y+1), so its
/// centre is (x + ½, y + ½); x grows to the right, y grows downwards. Shape-drawing
/// functions take continuous coordinates in this system. Storage is row-major RGBA with
/// straight alpha: the bytes of pixel (x, y) start at `4 · (y · width + x)`.
///
/// Everything that paints (`blend`, `fillRect`, shapes, text, `draw(_:x:y:)`) clips to the
/// image; only the `subscript` traps on an out-of-range pixel.
public struct Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// RGBA bytes, row-major, row 0 at the top; `4 · width · height` of them.
    public var pixels: [UInt8]

    /// An image filled with `color` (opaque white unless told).
    public init(width: Int, height: Int, fill color: Color = .white) {
        precondition(width >= 0 && height >= 0, "image size must be non-negative, got \(width)×\(height)")
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: 4 * width * height)
        for k in stride(from: 0, to: p.count, by: 4) {
            p[k] = color.r; p[k + 1] = color.g; p[k + 2] = color.b; p[k + 3] = color.a
        }
        self.pixels = p
    }

    /// An image over existing RGBA bytes (e.g. decoded from a PNG).
    public init(width: Int, height: Int, rgba: [UInt8]) {
        precondition(rgba.count == 4 * width * height,
                     "RGBA buffer has \(rgba.count) bytes, a \(width)×\(height) image needs \(4 * width * height)")
        self.width = width
        self.height = height
        self.pixels = rgba
    }

    @inlinable public func contains(x: Int, y: Int) -> Bool {
        x >= 0 && y >= 0 && x < width && y < height
    }

    /// The colour of pixel (x, y); traps outside the image.
    public subscript(x: Int, y: Int) -> Color {
        get {
            precondition(contains(x: x, y: y), "pixel (\(x), \(y)) is outside the \(width)×\(height) image")
            let k = 4 * (y * width + x)
            return Color(pixels[k], pixels[k + 1], pixels[k + 2], pixels[k + 3])
        }
        set {
            precondition(contains(x: x, y: y), "pixel (\(x), \(y)) is outside the \(width)×\(height) image")
            let k = 4 * (y * width + x)
            pixels[k] = newValue.r; pixels[k + 1] = newValue.g
            pixels[k + 2] = newValue.b; pixels[k + 3] = newValue.a
        }
    }

    /// Paints `color` over pixel (x, y) with coverage `coverage` ∈ [0, 1] ("source over"):
    /// with s = α·coverage (α = color.a/255) and destination opacity d,
    ///     a' = s + d(1 − s),   c' = (s·c_src + d(1 − s)·c_dst) / a'.
    /// On an opaque destination this is c' = c_dst + s(c_src − c_dst). Pixels outside the
    /// image are ignored.
    @inlinable public mutating func blend(x: Int, y: Int, color: Color, coverage: Double = 1) {
        guard contains(x: x, y: y) else { return }
        let s = Double(color.a) / 255 * Swift.min(Swift.max(coverage, 0), 1)
        if s <= 0 { return }
        let k = 4 * (y * width + x)
        if s >= 1 {
            pixels[k] = color.r; pixels[k + 1] = color.g; pixels[k + 2] = color.b; pixels[k + 3] = 255
            return
        }
        let d = Double(pixels[k + 3]) / 255
        let outA = s + d * (1 - s)
        let wd = d * (1 - s) / outA, ws = s / outA
        pixels[k] = UInt8((ws * Double(color.r) + wd * Double(pixels[k])).rounded())
        pixels[k + 1] = UInt8((ws * Double(color.g) + wd * Double(pixels[k + 1])).rounded())
        pixels[k + 2] = UInt8((ws * Double(color.b) + wd * Double(pixels[k + 2])).rounded())
        pixels[k + 3] = UInt8((outA * 255).rounded())
    }

    /// Sets every pixel to `color` (no blending).
    public mutating func fill(_ color: Color) {
        self = Image(width: width, height: height, fill: color)
    }

    /// Blends `color` over the pixel rectangle [x, x+w) × [y, y+h), clipped to the image.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        let x0 = Swift.max(x, 0), x1 = Swift.min(x + w, width)
        let y0 = Swift.max(y, 0), y1 = Swift.min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 { for xx in x0..<x1 { blend(x: xx, y: yy, color: color) } }
    }

    /// The outline of the pixel rectangle [x, x+w) × [y, y+h), `thickness` pixels wide,
    /// drawn inside that rectangle.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int,
                                    color: Color, thickness t: Int = 1) {
        guard w > 0, h > 0, t > 0 else { return }
        let tt = Swift.min(t, (Swift.min(w, h) + 1) / 2)
        fillRect(x: x, y: y, width: w, height: tt, color: color)
        fillRect(x: x, y: y + h - tt, width: w, height: tt, color: color)
        fillRect(x: x, y: y + tt, width: tt, height: h - 2 * tt, color: color)
        fillRect(x: x + w - tt, y: y + tt, width: tt, height: h - 2 * tt, color: color)
    }

    /// Blends `source` over this image with its top-left corner at (x, y), clipped.
    public mutating func draw(_ source: Image, x: Int, y: Int) {
        for sy in 0..<source.height where contains(x: 0, y: y + sy) {
            for sx in 0..<source.width where x + sx >= 0 && x + sx < width {
                let k = 4 * (sy * source.width + sx)
                blend(x: x + sx, y: y + sy,
                      color: Color(source.pixels[k], source.pixels[k + 1], source.pixels[k + 2], source.pixels[k + 3]))
            }
        }
    }

    /// Copies `source` into this image with its top-left corner at (x, y), replacing the
    /// pixels there (alpha included), clipped.
    public mutating func copy(_ source: Image, x: Int, y: Int) {
        let sx0 = Swift.max(0, -x), sx1 = Swift.min(source.width, width - x)
        guard sx0 < sx1 else { return }
        for sy in 0..<source.height where contains(x: 0, y: y + sy) {
            let src = 4 * (sy * source.width + sx0), dst = 4 * ((y + sy) * width + x + sx0)
            let n = 4 * (sx1 - sx0)
            pixels.replaceSubrange(dst..<(dst + n), with: source.pixels[src..<(src + n)])
        }
    }

    /// The image turned a quarter turn counter-clockwise (for vertical axis labels):
    /// pixel (x, y) moves to (y, width − 1 − x).
    public func rotatedCounterClockwise() -> Image {
        var out = Image(width: height, height: width, fill: .clear)
        for y in 0..<height { for x in 0..<width { out[y, width - 1 - x] = self[x, y] } }
        return out
    }
}
