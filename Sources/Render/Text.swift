/// cnf's built-in monospaced bitmap font (glyphs in `FontGlyphs.swift`).
///
/// At scale 1 a glyph is 5 × 9 pixels (capitals and digits 7 tall, 2 rows of descender)
/// and advances 6 pixels; lines are 11 pixels apart. Scale s multiplies everything by s
/// (each font pixel becomes an s × s block), which keeps the strokes crisp: 1× for tick
/// labels, 2× for titles.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 9
    /// Height of capitals and digits above the baseline.
    public static let capHeight = 7
    public static let advance = 6
    public static let lineHeight = 11

    /// Each glyph as `glyphHeight` rows of bits (bit 4 = leftmost column).
    static let glyphs: [Character: [UInt8]] = {
        var table: [Character: [UInt8]] = [:]
        for (c, rows) in glyphSource {
            precondition(table[c] == nil, "glyph '\(c)' defined twice")
            table[c] = parse(rows, name: String(c))
        }
        return table
    }()

    static let missingGlyph: [UInt8] = parse(missingGlyphSource, name: "missing")

    static func parse(_ source: String, name: String) -> [UInt8] {
        let rows = source.split(separator: " ")
        precondition(rows.count <= glyphHeight && rows.allSatisfy { $0.count == glyphWidth },
                     "glyph '\(name)' must have ≤ \(glyphHeight) rows of \(glyphWidth) columns")
        var bits = rows.map { row in row.reduce(UInt8(0)) { ($0 << 1) | ($1 == "#" ? 1 : 0) } }
        bits += Array(repeating: 0, count: glyphHeight - bits.count)
        return bits
    }

    /// Every character the font draws (others are drawn as an empty box).
    public static var characters: [Character] { glyphSource.map(\.0) }

    /// The bit rows of `c`, or the box for an unknown character.
    static func glyph(_ c: Character) -> [UInt8] { glyphs[c] ?? missingGlyph }
}

/// The width in pixels of `text` drawn in the bitmap font at `scale` (its longest line; no trailing gap).
public func bitmapTextWidth(_ text: String, scale: Int = 1) -> Int {
    let longest = text.split(separator: "\n", omittingEmptySubsequences: false).map(\.count).max() ?? 0
    return longest == 0 ? 0 : (longest * BitmapFont.advance - 1) * scale
}

/// The height in pixels of `text` drawn in the bitmap font at `scale`, descenders included.
public func bitmapTextHeight(_ text: String, scale: Int = 1) -> Int {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    return ((lines - 1) * BitmapFont.lineHeight + BitmapFont.glyphHeight) * scale
}

/// Draws `text` in the bitmap font with the top-left corner of its first glyph cell at pixel
/// (x, y); capitals then span rows y ..< y + 7·scale. `\n` starts a new line. Clipped to the image.
public func drawBitmapText(in image: inout Image, x: Int, y: Int, text: String, scale: Int = 1,
                     color: Color = .text) {
    precondition(scale >= 1, "text scale must be at least 1, got \(scale)")
    var penX = x, penY = y
    for c in text {
        if c == "\n" { penX = x; penY += BitmapFont.lineHeight * scale; continue }
        let rows = BitmapFont.glyph(c)
        for (r, bits) in rows.enumerated() where bits != 0 {
            for col in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - col)) != 0 {
                image.fillRect(x: penX + col * scale, y: penY + r * scale, width: scale, height: scale, color: color)
            }
        }
        penX += BitmapFont.advance * scale
    }
}

/// Where a text box sits relative to the anchor point given to `Image.drawText(_:at:…)`.
public enum TextAlignment: Sendable {
    case left, center, right
}

extension Image {
    /// `drawText(in:x:y:text:scale:color:)` on this image.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: Color = .text) {
        Render.drawText(in: &self, x: x, y: y, text: text, scale: scale, color: color)
    }

    /// Draws one line of text aligned horizontally to `x` (its left end, centre or right
    /// end) with its capitals vertically centred on `centerY`.
    public mutating func drawText(_ text: String, x: Int, centerY: Int, align: TextAlignment,
                                  scale: Int = 1, color: Color = .text) {
        let w = textWidth(text, scale: scale)
        let left: Int
        switch align {
        case .left: left = x
        case .center: left = x - w / 2
        case .right: left = x - w
        }
        drawText(text, x: left, y: centerY - Font.capHeight(scale: scale) / 2, scale: scale, color: color)
    }
}
