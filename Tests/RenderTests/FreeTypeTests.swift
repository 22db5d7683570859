import XCTest
@testable import Render

/// DejaVu Sans through FreeType: the text box matches what is inked, strokes are
/// anti-aliased, sizes grow with the scale. Skipped when the font is not installed.
final class FreeTypeTests: XCTestCase {
    override func setUpWithError() throws {
        guard case .freeType = Font.kind else { throw XCTSkip("DejaVu Sans not available: \(Font.kind)") }
    }

    /// Inked rows and columns of `text` drawn black on white with its box at (10, 10).
    func inkBox(_ text: String, scale: Int) -> (img: Image, x0: Int, x1: Int, y0: Int, y1: Int, grey: Int) {
        var img = Image(width: textWidth(text, scale: scale) + 20, height: textHeight(text, scale: scale) + 20)
        drawText(in: &img, x: 10, y: 10, text: text, scale: scale, color: .black)
        var x0 = Int.max, x1 = Int.min, y0 = Int.max, y1 = Int.min, grey = 0
        for y in 0..<img.height { for x in 0..<img.width where img[x, y] != .white {
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            if img[x, y] != .black { grey += 1 }
        } }
        return (img, x0, x1, y0, y1, grey)
    }

    func testCapitalsFillTheCapHeightAndTextIsAntiAliased() {
        for scale in 1...3 {
            let b = inkBox("HOX8", scale: scale)
            // Capitals start at the box top and end on the baseline (±1 px for O's overshoot).
            XCTAssertLessThanOrEqual(abs(b.y0 - 10), 1, "scale \(scale)")
            XCTAssertLessThanOrEqual(abs(b.y1 - (10 + Font.capHeight(scale: scale) - 1)), 1, "scale \(scale)")
            XCTAssertGreaterThan(b.grey, 0, "no partial coverage: not anti-aliased")
            // The ink lies inside the measured width.
            XCTAssertGreaterThanOrEqual(b.x0, 10)
            XCTAssertLessThanOrEqual(b.x1, 10 + textWidth("HOX8", scale: scale))
        }
    }

    func testDescendersGoBelowTheBaselineButInsideTheHeight() {
        let b = inkBox("gyp", scale: 1)
        XCTAssertGreaterThan(b.y1, 10 + Font.capHeight(scale: 1) - 1)
        XCTAssertLessThan(b.y1, 10 + textHeight("gyp", scale: 1))
    }

    func testSizesGrowWithScaleAndLinesStack() {
        XCTAssertLessThan(textWidth("loss", scale: 1), textWidth("loss", scale: 2))
        XCTAssertLessThan(Font.capHeight(scale: 1), Font.capHeight(scale: 2))
        XCTAssertEqual(textHeight("a\nb"), Font.lineHeight(scale: 1) + Font.glyphHeight(scale: 1))
        XCTAssertEqual(textWidth("ab\nabc"), textWidth("abc"))
        XCTAssertEqual(textWidth(""), 0)
        // A proportional font: "i" is narrower than "W".
        XCTAssertLessThan(textWidth("iiii"), textWidth("WWWW"))
    }

    func testMissingFontFileIsAClearError() {
        XCTAssertThrowsError(try FreeTypeFont(path: "/nonexistent/font.ttf")) { error in
            XCTAssertEqual("\(error)", "font file '/nonexistent/font.ttf' does not exist")
        }
    }
}
