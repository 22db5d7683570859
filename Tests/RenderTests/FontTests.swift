import XCTest
@testable import Render

final class FontTests: XCTestCase {
    /// `text` drawn in black on white at `scale`; the set of inked pixels.
    func ink(_ text: String, scale: Int = 1) -> (Image, Set<[Int]>) {
        var img = Image(width: max(bitmapTextWidth(text, scale: scale), 1) + 4, height: bitmapTextHeight(text, scale: scale) + 4)
        drawBitmapText(in: &img, x: 2, y: 2, text: text, scale: scale, color: .black)
        var set = Set<[Int]>()
        for y in 0..<img.height { for x in 0..<img.width where img[x, y] != .white {
            XCTAssertEqual(img[x, y], .black, "text must be solid at integer scales")
            set.insert([x, y])
        } }
        return (img, set)
    }

    func testRequiredCharactersExist() {
        let required = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;-+=_()[]/%<>^*#'!?|±×εσ"
        let have = Set(BitmapFont.characters)
        for c in required { XCTAssertTrue(have.contains(c), "missing glyph '\(c)'") }
        // All printable ASCII.
        for u in 32...126 { XCTAssertTrue(have.contains(Character(UnicodeScalar(u)!)), "missing ASCII \(u)") }
    }

    func testEveryGlyphInksAndGlyphsArePairwiseDistinct() {
        var seen: [Set<[Int]>: Character] = [:]
        for c in BitmapFont.characters {
            let (_, pixels) = ink(String(c))
            if c == " " { XCTAssertTrue(pixels.isEmpty, "space must be blank"); continue }
            XCTAssertFalse(pixels.isEmpty, "glyph '\(c)' draws nothing")
            if let other = seen[pixels] { XCTFail("glyphs '\(other)' and '\(c)' look the same") }
            seen[pixels] = c
        }
        // The box for unknown characters is distinct from every glyph too.
        let (_, box) = ink("€")
        XCTAssertNil(seen[box], "the unknown-character box looks like '\(seen[box] ?? " ")'")
    }

    func testUnknownCharacterIsAVisibleBox() {
        let (img, pixels) = ink("€")
        // Outline of the 5 × 7 cell at (2, 2): all border pixels inked, inside empty.
        for x in 2...6 { for y in 2...8 {
            let border = x == 2 || x == 6 || y == 2 || y == 8
            XCTAssertEqual(img[x, y] == .black, border, "(\(x), \(y))")
        } }
        XCTAssertEqual(pixels.count, 2 * 5 + 2 * 5)
    }

    func testWidthMatchesInk() {
        // H and M ink their first and last columns, so the ink spans exactly textWidth.
        for text in ["H", "HM", "MHHM", "H H"] {
            for scale in 1...3 {
                let (_, pixels) = ink(text, scale: scale)
                let xs = pixels.map { $0[0] }
                XCTAssertEqual(xs.max()! - xs.min()! + 1, bitmapTextWidth(text, scale: scale), "'\(text)' at \(scale)×")
            }
        }
        XCTAssertEqual(bitmapTextWidth(""), 0)
        XCTAssertEqual(bitmapTextWidth("ab\nabc"), bitmapTextWidth("abc"))
        XCTAssertEqual(bitmapTextHeight("a"), BitmapFont.glyphHeight)
        XCTAssertEqual(bitmapTextHeight("a\nb", scale: 2), 2 * (BitmapFont.lineHeight + BitmapFont.glyphHeight))
    }

    /// Scale s draws every font pixel as an s × s block: the 2× picture is the 1× picture
    /// enlarged by pixel repetition.
    func testScalingRepeatsPixels() {
        let text = "log p(x) = -1.25e3 ±σ"
        var one = Image(width: bitmapTextWidth(text), height: bitmapTextHeight(text))
        drawBitmapText(in: &one, x: 0, y: 0, text: text, scale: 1, color: .black)
        var two = Image(width: 2 * one.width, height: 2 * one.height)
        drawBitmapText(in: &two, x: 0, y: 0, text: text, scale: 2, color: .black)
        for y in 0..<two.height { for x in 0..<two.width {
            XCTAssertEqual(two[x, y], one[x / 2, y / 2], "(\(x), \(y))")
        } }
    }

    func testDescendersGoBelowCapitals() {
        let (_, caps) = ink("H"), (_, gee) = ink("g")
        XCTAssertEqual(caps.map { $0[1] }.max(), 2 + BitmapFont.capHeight - 1)
        XCTAssertGreaterThan(gee.map { $0[1] }.max()!, 2 + BitmapFont.capHeight - 1)
    }

    func testTextIsClippedNotTrapped() {
        var img = Image(width: 10, height: 5)
        drawBitmapText(in: &img, x: -7, y: -3, text: "WWW", scale: 2, color: .black)
        img.drawText("x", x: 8, centerY: 4, align: .right)
        XCTAssertTrue(img.pixels.contains(0))
    }
}
