import CFreeType
import Foundation

/// The font of every title, label and legend: DejaVu Sans through FreeType (anti-aliased),
/// or cnf's bitmap font when FreeType cannot open DejaVu Sans (or `CNF_FONT=bitmap`).
///
/// A text `scale` picks a size: 1 = tick labels, axis labels and legends (12 px), 2 = titles
/// (16 px), each step 4 px more. The text box of a line starts at the top of its capitals:
/// capitals span rows y ..< y + capHeight, the baseline is row y + capHeight, descenders
/// go below it (to y + glyphHeight); accents may rise a little above y.
public enum Font {
    /// The DejaVu Sans file (Debian's `fonts-dejavu-core`); `CNF_FONT_FILE` overrides it.
    public static let defaultPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    /// Which font draws text in this process.
    public enum Kind: Equatable, Sendable { case freeType(path: String), bitmap(reason: String) }

    public static var kind: Kind { FreeTypeFont.shared == nil ? .bitmap(reason: FreeTypeFont.failure) : .freeType(path: FreeTypeFont.path) }

    /// Pixel size of the font at a text scale.
    public static func pixelSize(scale: Int) -> Int { 8 + 4 * Swift.max(scale, 1) }

    /// Height of capitals and digits above the baseline.
    public static func capHeight(scale: Int) -> Int {
        guard let ft = FreeTypeFont.shared else { return BitmapFont.capHeight * scale }
        return ft.metrics(pixelSize(scale: scale)).cap
    }

    /// From the top of the capitals to the bottom of the descenders.
    public static func glyphHeight(scale: Int) -> Int {
        guard let ft = FreeTypeFont.shared else { return BitmapFont.glyphHeight * scale }
        let m = ft.metrics(pixelSize(scale: scale))
        return m.cap + m.descent
    }

    /// Distance between the tops of two lines.
    public static func lineHeight(scale: Int) -> Int {
        guard let ft = FreeTypeFont.shared else { return BitmapFont.lineHeight * scale }
        return ft.metrics(pixelSize(scale: scale)).line
    }
}

/// The width in pixels of `text` at `scale` (its longest line).
public func textWidth(_ text: String, scale: Int = 1) -> Int {
    guard let ft = FreeTypeFont.shared else { return bitmapTextWidth(text, scale: scale) }
    let size = Font.pixelSize(scale: scale)
    return text.split(separator: "\n", omittingEmptySubsequences: false).map { ft.width(String($0), size: size) }.max() ?? 0
}

/// The height in pixels of `text` at `scale`, descenders included.
public func textHeight(_ text: String, scale: Int = 1) -> Int {
    guard FreeTypeFont.shared != nil else { return bitmapTextHeight(text, scale: scale) }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    return (lines - 1) * Font.lineHeight(scale: scale) + Font.glyphHeight(scale: scale)
}

/// Draws `text` with the top-left corner of its first line's box at pixel (x, y) (see
/// `Font`); `\n` starts a new line. Anti-aliased (FreeType) or solid (bitmap), clipped.
public func drawText(in image: inout Image, x: Int, y: Int, text: String, scale: Int = 1,
                     color: Color = .text) {
    precondition(scale >= 1, "text scale must be at least 1, got \(scale)")
    guard let ft = FreeTypeFont.shared else {
        drawBitmapText(in: &image, x: x, y: y, text: text, scale: scale, color: color)
        return
    }
    let size = Font.pixelSize(scale: scale)
    let m = ft.metrics(size)
    for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        ft.draw(String(line), size: size, in: &image, x: x, baseline: y + k * m.line + m.cap, color: color)
    }
}

/// A rendered glyph: coverage bytes, its offset from the pen position, and its advance.
struct Glyph {
    var width: Int, height: Int, left: Int, top: Int, advance: Int
    var coverage: [UInt8]
}

/// DejaVu Sans through FreeType, glyphs cached per (size, character). One face, guarded by
/// a lock (FreeType faces are not thread-safe).
final class FreeTypeFont: @unchecked Sendable {
    nonisolated(unsafe) static var failure = ""
    static var path: String { ProcessInfo.processInfo.environment["CNF_FONT_FILE"] ?? Font.defaultPath }

    static let shared: FreeTypeFont? = {
        if ProcessInfo.processInfo.environment["CNF_FONT"] == "bitmap" {
            failure = "CNF_FONT=bitmap"
            return nil
        }
        do { return try FreeTypeFont(path: path) } catch {
            failure = "\(error)"
            FileHandle.standardError.write(Data("cnf: warning: \(error); drawing text with the bitmap font (install fonts-dejavu-core)\n".utf8))
            return nil
        }
    }()

    struct Metrics { var cap: Int, descent: Int, line: Int }
    struct FontError: Error, CustomStringConvertible { var description: String }

    private var library: FT_Library?
    private var face: FT_Face?
    private var glyphs: [Int: [Character: Glyph]] = [:]
    private var metricsCache: [Int: Metrics] = [:]
    private let lock = NSLock()

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FontError(description: "font file '\(path)' does not exist")
        }
        guard FT_Init_FreeType(&library) == 0 else { throw FontError(description: "FreeType failed to initialise") }
        let err = FT_New_Face(library, path, 0, &face)
        guard err == 0, face != nil else {
            FT_Done_FreeType(library)
            throw FontError(description: "FreeType cannot open font '\(path)' (error \(err))")
        }
    }

    deinit {
        if let face { FT_Done_Face(face) }
        if let library { FT_Done_FreeType(library) }
    }

    private func setSize(_ size: Int) { FT_Set_Pixel_Sizes(face, 0, FT_UInt(size)) }

    /// Locked: the glyph of `c` at `size`, rendered on first use.
    private func glyphLocked(_ c: Character, size: Int) -> Glyph {
        if let g = glyphs[size]?[c] { return g }
        setSize(size)
        let code = c.unicodeScalars.first.map { FT_ULong($0.value) } ?? 32
        var g = Glyph(width: 0, height: 0, left: 0, top: 0, advance: size / 2, coverage: [])
        if FT_Load_Char(face, code, FT_Int32(FT_LOAD_RENDER)) == 0, let slot = face?.pointee.glyph {
            let bm = slot.pointee.bitmap
            let w = Int(bm.width), h = Int(bm.rows), pitch = Int(bm.pitch)
            var cov = [UInt8](repeating: 0, count: w * h)
            if let buf = bm.buffer, w > 0, h > 0 {
                for r in 0..<h { for col in 0..<w { cov[r * w + col] = buf[r * pitch + col] } }
            }
            g = Glyph(width: w, height: h, left: Int(slot.pointee.bitmap_left), top: Int(slot.pointee.bitmap_top),
                      advance: Int((slot.pointee.advance.x + 32) >> 6), coverage: cov)
        }
        glyphs[size, default: [:]][c] = g
        return g
    }

    func metrics(_ size: Int) -> Metrics {
        lock.lock(); defer { lock.unlock() }
        if let m = metricsCache[size] { return m }
        let cap = glyphLocked("H", size: size).top
        let p = glyphLocked("p", size: size), g = glyphLocked("g", size: size)
        let descent = Swift.max(p.height - p.top, g.height - g.top, 1)
        let m = Metrics(cap: cap, descent: descent, line: Int((Double(size) * 1.25).rounded()))
        metricsCache[size] = m
        return m
    }

    /// Width of one line: from the pen start to the last glyph's advance.
    func width(_ line: String, size: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        guard !line.isEmpty else { return 0 }
        var w = 0
        for c in line { w += glyphLocked(c, size: size).advance }
        return w
    }

    func draw(_ line: String, size: Int, in image: inout Image, x: Int, baseline: Int, color: Color) {
        lock.lock(); defer { lock.unlock() }
        var pen = x
        for c in line {
            let g = glyphLocked(c, size: size)
            let x0 = pen + g.left, y0 = baseline - g.top
            for r in 0..<g.height {
                for col in 0..<g.width {
                    let a = g.coverage[r * g.width + col]
                    if a != 0 { image.blend(x: x0 + col, y: y0 + r, color: color, coverage: Double(a) / 255) }
                }
            }
            pen += g.advance
        }
    }
}
