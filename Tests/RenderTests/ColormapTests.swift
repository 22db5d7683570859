import Foundation
import XCTest
@testable import Render

/// CIELAB lightness L* of an sRGB colour (components in [0, 1]), D65 white:
/// sRGB → linear → relative luminance Y → L*.
func lightness(_ r: Double, _ g: Double, _ b: Double) -> Double {
    func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
    let y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return y > pow(6.0 / 29, 3) ? 116 * cbrt(y) - 16 : y * pow(29.0 / 3, 3)
}

func lightness(_ c: (UInt8, UInt8, UInt8)) -> Double {
    lightness(Double(c.0) / 255, Double(c.1) / 255, Double(c.2) / 255)
}

final class ColormapTests: XCTestCase {
    func testTablesAreStrictlyIncreasingInLightness() {
        for map in Colormap.allCases {
            let t = map.table
            XCTAssertEqual(t.count % 3, 0)
            if map != .grey { XCTAssertEqual(t.count, 3 * 256, "\(map)") }
            var previous = -Double.infinity
            for k in 0..<(t.count / 3) {
                let l = lightness(t[3 * k], t[3 * k + 1], t[3 * k + 2])
                XCTAssertGreaterThan(l, previous, "\(map) entry \(k)")
                previous = l
            }
        }
    }

    /// The 8-bit colours may dip by rounding (one unit of one channel moves L* by < 0.25),
    /// but never more, and rise clearly over any sixteenth of the range.
    func testColorsIncreaseInLightness() {
        for map in Colormap.allCases {
            let ls = (0...1000).map { lightness(map.color(at: Double($0) / 1000)) }
            for k in 1..<ls.count {
                XCTAssertGreaterThanOrEqual(ls[k], ls[k - 1] - 0.25, "\(map) at \(Double(k) / 1000)")
            }
            for k in stride(from: 0, to: 1000 - 62, by: 62) {
                XCTAssertGreaterThan(ls[k + 62], ls[k] + 1, "\(map) from \(Double(k) / 1000)")
            }
            XCTAssertGreaterThan(ls[1000] - ls[0], 60, "\(map) should span most of the lightness range")
        }
    }

    /// The ends of the published maps (matplotlib's documented hex values).
    func testEndsMatchPublishedColors() {
        func hex(_ c: (UInt8, UInt8, UInt8)) -> UInt32 { UInt32(c.0) << 16 | UInt32(c.1) << 8 | UInt32(c.2) }
        let ends: [Colormap: (UInt32, UInt32)] = [
            .viridis: (0x440154, 0xfde725), .magma: (0x000004, 0xfcfdbf),
            .inferno: (0x000004, 0xfcffa4), .plasma: (0x0d0887, 0xf0f921), .grey: (0x000000, 0xffffff),
        ]
        for (map, (lo, hi)) in ends {
            XCTAssertEqual(hex(map.color(at: 0)), lo, "\(map) at 0")
            XCTAssertEqual(hex(map.color(at: 1)), hi, "\(map) at 1")
        }
        XCTAssertEqual(Colormap.allCases.count, 5)
        XCTAssertEqual(Colormap(rawValue: "viridis"), .viridis)
    }

    func testClampingAndNaN() {
        for map in Colormap.allCases {
            XCTAssertTrue(map.color(at: -3) == map.color(at: 0))
            XCTAssertTrue(map.color(at: 7) == map.color(at: 1))
            XCTAssertTrue(map.color(at: .nan) == map.color(at: 0))
            XCTAssertTrue(map.color(at: .infinity) == map.color(at: 1))
        }
    }

    /// Between two table entries the colour is the linear blend: grey has two entries,
    /// so grey(v) = round(255·v) exactly.
    func testInterpolation() {
        for k in 0...100 {
            let v = Double(k) / 100
            let g = Colormap.grey.color(at: v)
            let expected = UInt8((255 * v).rounded())
            XCTAssertTrue(g == (expected, expected, expected), "grey at \(v): \(g)")
        }
        // Halfway between viridis entries k and k+1, each channel lies between theirs.
        let t = Colormap.viridis.table
        for k in stride(from: 0, to: 255, by: 17) {
            let c = Colormap.viridis.color(at: (Double(k) + 0.5) / 255)
            for (ch, value) in [c.0, c.1, c.2].enumerated() {
                let a = 255 * t[3 * k + ch], b = 255 * t[3 * (k + 1) + ch]
                XCTAssertEqual(Double(value), (a + b) / 2, accuracy: 0.5 + 1e-9)
            }
        }
    }
}
