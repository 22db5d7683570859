import XCTest
@testable import Render

final class ImageTests: XCTestCase {
    /// How much black covers a pixel of a black-on-white picture, in [0, 1].
    func darkness(_ img: Image, _ x: Int, _ y: Int) -> Double { 1 - Double(img[x, y].g) / 255 }

    func totalDarkness(_ img: Image) -> Double {
        var s = 0.0
        for y in 0..<img.height { for x in 0..<img.width { s += darkness(img, x, y) } }
        return s
    }

    func testPixelsAndLayout() {
        var img = Image(width: 3, height: 2, fill: Color(1, 2, 3, 4))
        XCTAssertEqual(img.pixels.count, 24)
        img[2, 1] = Color(9, 8, 7, 6)
        XCTAssertEqual(Array(img.pixels[20..<24]), [9, 8, 7, 6], "row-major RGBA, row 0 first")
        XCTAssertEqual(img[2, 1], Color(9, 8, 7, 6))
        XCTAssertEqual(img[0, 0], Color(1, 2, 3, 4))
    }

    func testSourceOverBlending() {
        var img = Image(width: 2, height: 1, fill: .white)
        img.blend(x: 0, y: 0, color: Color(0, 0, 0, 255))
        XCTAssertEqual(img[0, 0], .black)
        img.blend(x: 1, y: 0, color: Color(0, 100, 200).withAlpha(0.5))  // alpha 128
        let s = 128.0 / 255
        XCTAssertEqual(img[1, 0], Color(UInt8((255 * (1 - s)).rounded()), UInt8((100 * s + 255 * (1 - s)).rounded()),
                                        UInt8((200 * s + 255 * (1 - s)).rounded()), 255))
        // Coverage multiplies alpha.
        var a = Image(width: 1, height: 1), b = Image(width: 1, height: 1)
        a.blend(x: 0, y: 0, color: Color(0, 0, 0, 102), coverage: 1)
        b.blend(x: 0, y: 0, color: .black, coverage: 0.4)
        XCTAssertEqual(a, b)
        // Over a transparent pixel the source is copied with its own alpha.
        var clear = Image(width: 1, height: 1, fill: .clear)
        clear.blend(x: 0, y: 0, color: Color(10, 20, 30, 77))
        XCTAssertEqual(clear[0, 0], Color(10, 20, 30, 77))
        // Outside: ignored.
        clear.blend(x: -1, y: 0, color: .black)
        clear.blend(x: 0, y: 1, color: .black)
    }

    func testRectanglesClip() {
        var img = Image(width: 10, height: 8)
        img.fillRect(x: -3, y: 6, width: 5, height: 10, color: .black)
        XCTAssertEqual(totalDarkness(img), 2 * 2, accuracy: 1e-12)
        var frame = Image(width: 10, height: 8)
        frame.strokeRect(x: 1, y: 1, width: 6, height: 5, color: .black)
        XCTAssertEqual(totalDarkness(frame), Double(2 * 6 + 2 * 3), accuracy: 1e-12)
        XCTAssertEqual(frame[1, 1], .black); XCTAssertEqual(frame[6, 5], .black)
        XCTAssertEqual(frame[2, 2], .white); XCTAssertEqual(frame[7, 1], .white)
    }

    func testHorizontalLineThroughPixelCentresIsCrisp() {
        var img = Image(width: 20, height: 10)
        img.drawLine(from: (3.5, 5.5), to: (12.5, 5.5), color: .black, width: 1)
        for x in 3...12 { XCTAssertEqual(img[x, 5], .black, "x = \(x)") }
        for x in 0..<20 { XCTAssertEqual(img[x, 4], .white); XCTAssertEqual(img[x, 6], .white) }
        XCTAssertEqual(img[1, 5], .white); XCTAssertEqual(img[14, 5], .white)
    }

    /// A stroke of width w and length L covers about w·L (+ round caps π w²/4) pixels,
    /// whatever its direction.
    func testStrokeAreaIsDirectionIndependent() {
        for angle in stride(from: 0.0, to: Double.pi, by: Double.pi / 7) {
            var img = Image(width: 80, height: 80)
            let L = 50.0, w = 3.0
            let dx = cos(angle) * L / 2, dy = sin(angle) * L / 2
            img.drawLine(from: (40 - dx, 40 - dy), to: (40 + dx, 40 + dy), color: .black, width: w)
            XCTAssertEqual(totalDarkness(img), w * L + Double.pi * w * w / 4, accuracy: 0.04 * w * L, "angle \(angle)")
        }
    }

    /// A translucent polyline is blended once: its corner is no darker than its legs.
    func testPolylineJointsAreNotDoubled() {
        var img = Image(width: 30, height: 30)
        img.drawPolyline([(5.5, 5.5), (20.5, 5.5), (20.5, 20.5)], color: Color.black.withAlpha(0.5), width: 1)
        XCTAssertEqual(img[20, 5], img[12, 5])
        XCTAssertEqual(img[20, 5], img[20, 12])
        // NaN breaks the line into two pieces: nothing between them.
        var broken = Image(width: 30, height: 10)
        broken.drawPolyline([(2.5, 5.5), (8.5, 5.5), (.nan, .nan), (20.5, 5.5), (26.5, 5.5)], color: .black)
        XCTAssertEqual(broken[14, 5], .white)
        XCTAssertEqual(broken[5, 5], .black); XCTAssertEqual(broken[23, 5], .black)
    }

    func testDiscAreaAndCentre() {
        for r in [0.3, 1.0, 2.5, 10.0] {
            var img = Image(width: 40, height: 40)
            img.fillCircle(center: (20.3, 19.6), radius: r, color: .black)
            XCTAssertEqual(totalDarkness(img), Double.pi * r * r, accuracy: 0.05 * Double.pi * r * r + 0.05, "r = \(r)")
            // Darkness is centred on the centre.
            var mx = 0.0, my = 0.0, m = 0.0
            for y in 0..<40 { for x in 0..<40 {
                let d = darkness(img, x, y); m += d; mx += d * (Double(x) + 0.5); my += d * (Double(y) + 0.5)
            } }
            if r >= 1 {
                XCTAssertEqual(mx / m, 20.3, accuracy: 0.05); XCTAssertEqual(my / m, 19.6, accuracy: 0.05)
            }
        }
    }

    func testAxisAlignedPolygonIsExact() {
        var img = Image(width: 10, height: 10)
        img.fillConvexPolygon([(2, 3), (6, 3), (6, 8), (2, 8)], color: .black)
        for y in 0..<10 { for x in 0..<10 {
            let inside = (2..<6).contains(x) && (3..<8).contains(y)
            XCTAssertEqual(img[x, y], inside ? .black : .white, "(\(x), \(y))")
        } }
        // Winding order does not matter.
        var other = Image(width: 10, height: 10)
        other.fillConvexPolygon([(2, 8), (6, 8), (6, 3), (2, 3)], color: .black)
        XCTAssertEqual(img, other)
    }

    func testArrowPointsAtItsTip() {
        var img = Image(width: 40, height: 20)
        img.drawArrow(from: (5.5, 10.5), to: (34.5, 10.5), color: .black, width: 1, headLength: 6)
        // The head is wider than the shaft, and the ink ends at the tip.
        XCTAssertGreaterThan(darkness(img, 31, 9), 0.5)
        XCTAssertEqual(darkness(img, 15, 9), 0, accuracy: 1e-12)
        XCTAssertGreaterThan(darkness(img, 33, 10), 0.5)
        XCTAssertEqual(darkness(img, 36, 10), 0, accuracy: 1e-12)
    }

    func testBlitAndCopyClip() {
        var dst = Image(width: 6, height: 4)
        let src = Image(width: 3, height: 3, fill: Color(0, 0, 0, 128))
        dst.draw(src, x: 4, y: -1)
        XCTAssertEqual(totalDarkness(dst), 2 * 2 * 128.0 / 255, accuracy: 0.02)
        var copy = Image(width: 6, height: 4)
        copy.copy(src, x: -2, y: 2)
        XCTAssertEqual(copy[0, 2], Color(0, 0, 0, 128))
        XCTAssertEqual(copy[0, 3], Color(0, 0, 0, 128))
        XCTAssertEqual(copy[1, 3], .white)
    }

    func testRotation() {
        var img = Image(width: 3, height: 2)
        img[0, 0] = .black
        img[2, 1] = Color(1, 2, 3)
        let r = img.rotatedCounterClockwise()
        XCTAssertEqual(r.width, 2); XCTAssertEqual(r.height, 3)
        XCTAssertEqual(r[0, 2], .black, "the top-left corner goes to the bottom-left")
        XCTAssertEqual(r[1, 0], Color(1, 2, 3))
        XCTAssertEqual(r.rotatedCounterClockwise().rotatedCounterClockwise().rotatedCounterClockwise(), img)
    }
}
