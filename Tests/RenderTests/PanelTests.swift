import XCTest
@testable import Render

final class PanelTests: XCTestCase {
    func testMapAndDataPointAreInverse() {
        for logY in [false, true] {
            var p = Panel(extent: Extent(xmin: -1, xmax: 3, ymin: 0.5, ymax: 50), width: 40, height: 25)
            p.logY = logY
            for (px, py) in [(0, 0), (39, 24), (17, 3)] {
                let d = p.dataPoint(pixelX: px, pixelY: py)
                let back = p.map(x: d.x, y: d.y)
                XCTAssertEqual(back.x, Double(px) + 0.5, accuracy: 1e-9)
                XCTAssertEqual(back.y, Double(py) + 0.5, accuracy: 1e-9)
            }
            // Corners of the extent are corners of the plot area; y is up.
            XCTAssertEqual(p.map(x: -1, y: 50).x, 0); XCTAssertEqual(p.map(x: -1, y: 50).y, 0, accuracy: 1e-12)
            XCTAssertEqual(p.map(x: 3, y: 0.5).x, 40); XCTAssertEqual(p.map(x: 3, y: 0.5).y, 25, accuracy: 1e-12)
        }
        var logPanel = Panel(extent: Extent(xmin: 0, xmax: 1, ymin: 1, ymax: 100), width: 10, height: 20)
        logPanel.logY = true
        XCTAssertEqual(logPanel.map(x: 0, y: 10).y, 10, accuracy: 1e-12, "a decade halfway up")
    }

    func testDefaultHeightKeepsAspect() {
        XCTAssertEqual(Panel(extent: Extent(xmin: 0, xmax: 4, ymin: 0, ymax: 2), width: 100).plotHeight, 50)
        XCTAssertEqual(Panel(extent: .square(4)).plotHeight, Panel(extent: .square(4)).plotWidth)
    }

    func testScatterDotSitsAtItsDataPoint() {
        var p = Panel(extent: .square(4), width: 80)
        p.scatter([1.0, 2.0], color: .black, alpha: 1, radius: 2)
        // (1, 2) ↦ px = 5/8·80 = 50, py = 2/8·80 = 20: the four pixels around that corner.
        for (x, y) in [(49, 19), (50, 19), (49, 20), (50, 20)] { XCTAssertEqual(p.plot[x, y], .black) }
        XCTAssertEqual(p.plot[45, 20], .white); XCTAssertEqual(p.plot[50, 60], .white)
        // Points outside the extent are clipped away, not trapped on.
        p.scatter([(100.0, 100.0), (-4.5, 0)], color: .black)
    }

    func testRenderedPanelHasPlotFrameAndLabels() {
        var p = Panel(extent: .square(4), width: 60)
        p.heatMap(Array(repeating: 0.5, count: 4), nx: 2, ny: 2, colors: ColorScale(lo: 0, hi: 1))
        p.title = "Title"
        let img = p.render(), l = p.layout()
        XCTAssertEqual(img.width, l.width); XCTAssertEqual(img.height, l.height)
        // The plot area is copied unchanged.
        for y in 0..<60 { for x in 0..<60 { XCTAssertEqual(img[l.plotX + x, l.plotY + y], p.plot[x, y]) } }
        // A frame just outside it.
        for k in -1...60 {
            XCTAssertEqual(img[l.plotX + k, l.plotY - 1], .frame); XCTAssertEqual(img[l.plotX + k, l.plotY + 60], .frame)
            XCTAssertEqual(img[l.plotX - 1, l.plotY + k], .frame); XCTAssertEqual(img[l.plotX + 60, l.plotY + k], .frame)
        }
        // "-4" under the left end: its minus sign is a row of text pixels below the frame.
        // Text is anti-aliased: count pixels at least half-way from white to the text colour.
        func ink(_ c: Color) -> Bool { Int(c.r) <= (255 + Int(Color.text.r)) / 2 && c != .frame }
        var inkBelowLeft = 0, inkBeside = 0, inkAbove = 0
        for y in (l.plotY + 61)..<img.height { for x in max(0, l.plotX - 10)..<(l.plotX + 8) where ink(img[x, y]) { inkBelowLeft += 1 } }
        for y in (l.plotY - 8)..<(l.plotY + 8) { for x in 0..<(l.plotX - 6) where ink(img[x, y]) { inkBeside += 1 } }
        for y in 0..<(l.plotY - 1) { for x in 0..<img.width where ink(img[x, y]) { inkAbove += 1 } }
        XCTAssertGreaterThan(inkBelowLeft, 5, "x label at the left end")
        XCTAssertGreaterThan(inkBeside, 5, "y label beside the top end")
        XCTAssertGreaterThan(inkAbove, 20, "title above")
        assertNothingTouchesTheBorder(img)
    }

    func testNegativeTickLabelsTakeTheMinusSign() {
        // With DejaVu Sans, "-4" is drawn as "−4" (U+2212, as wide as "+", as matplotlib
        // does); the bitmap font has no minus sign and keeps the hyphen.
        guard case .freeType = Font.kind else {
            XCTAssertEqual(Panel.typeset("-4"), "-4"); return
        }
        XCTAssertEqual(Panel.typeset("-4"), "\u{2212}4")
        XCTAssertEqual(Panel.typeset("2.5e-5"), "2.5e\u{2212}5")
        XCTAssertEqual(Panel.typeset("0.25"), "0.25")
        XCTAssertEqual(textWidth("\u{2212}4"), textWidth("+4"), "the minus is as wide as the plus")
        XCTAssertGreaterThan(textWidth("\u{2212}4"), textWidth("-4"))
    }

    /// Labels must fit inside the picture: its outermost ring of pixels stays white.
    func assertNothingTouchesTheBorder(_ img: Image, file: StaticString = #filePath, line: UInt = #line) {
        for x in 0..<img.width {
            XCTAssertEqual(img[x, 0], .white, file: file, line: line)
            XCTAssertEqual(img[x, img.height - 1], .white, file: file, line: line)
        }
        for y in 0..<img.height {
            XCTAssertEqual(img[0, y], .white, file: file, line: line)
            XCTAssertEqual(img[img.width - 1, y], .white, file: file, line: line)
        }
    }

    func testLongLabelsAreNotClipped() {
        var p = Panel(extent: Extent(xmin: -123456.5, xmax: 987654.25, ymin: -0.000123, ymax: 1e7), width: 40, height: 30)
        p.heatMap([0, 1, 2, 3e9], nx: 2, ny: 2, scale: .log, colorBar: true)
        p.title = "a title much wider than the plot itself"
        p.xLabel = "x label"
        p.yLabel = "y label"
        p.labelScale = 2
        assertNothingTouchesTheBorder(p.render())
        p.ticks = .nice(5)
        assertNothingTouchesTheBorder(p.render())
    }

    func testColorBarShowsTheColormapBottomToTop() {
        var p = Panel(extent: .square(1), width: 40)
        p.heatMap([0, 1, 2, 3], nx: 2, ny: 2, colormap: .plasma, colorBar: true)
        let img = p.render(), l = p.layout()
        // Scan right of the plot for the bar: first column whose top pixel is plasma(≈1).
        let top = Colormap.plasma.rgb(at: 1 - 0.5 / 40), bottom = Colormap.plasma.rgb(at: 0.5 / 40)
        let barX = ((l.plotX + 41)..<img.width).first { img[$0, l.plotY] == top }
        XCTAssertNotNil(barX, "colour bar with the top colour at the top")
        if let x = barX { XCTAssertEqual(img[x, l.plotY + 39], bottom) }
    }

    func testLinePlotDrawsSeriesWhereTheyBelong() {
        var plot = LinePlot(series: [Series(name: "flat", x: [0, 10], y: [1, 1], color: .black),
                                     Series(name: "rise", y: [0, 1, 2])])
        let (xr, yr) = plot.ranges()
        XCTAssertEqual(xr, 0...10)
        XCTAssertLessThan(yr.lowerBound, 0); XCTAssertGreaterThan(yr.upperBound, 2)
        plot.width = 200; plot.height = 100; plot.lineWidth = 3
        let img = plot.render(), panel = plot.panel(), l = panel.layout()
        // A 3-pixel stroke along y = 1 covers the row holding y = 1 fully, across the plot.
        let row = l.plotY + Int(panel.map(x: 5, y: 1).y)
        // (The rising series crosses it at x = 1, i.e. plot pixel 20; the legend is top right.)
        for px in 2..<198 where !(10..<30).contains(px) && !(150..<200).contains(px) {
            XCTAssertEqual(img[l.plotX + px, row], .black, "plot pixel \(px)")
        }
        XCTAssertEqual(img[l.plotX + 100, row - 4], .white)
        XCTAssertEqual(img[l.plotX + 100, row + 4], .white)
        assertNothingTouchesTheBorder(img)

        var logPlot = LinePlot(series: [Series(name: "a", y: [100, 10, 1, 0.1, 0, -1, .nan])], logY: true)
        let lr = logPlot.ranges().y
        XCTAssertLessThan(lr.lowerBound, 0.1); XCTAssertGreaterThan(lr.lowerBound, 0.05)
        logPlot.title = "log"
        assertNothingTouchesTheBorder(logPlot.render())
    }

    func testHStackPlacesPicturesAndTitles() {
        let red = Image(width: 10, height: 10, fill: Color(255, 0, 0)), blue = Image(width: 20, height: 5, fill: Color(0, 0, 255))
        let m = Layout.margin
        let plain = hstack([red, blue], spacing: 4)
        XCTAssertEqual(plain.width, 10 + 4 + 20 + 2 * m); XCTAssertEqual(plain.height, 10 + 2 * m)
        XCTAssertEqual(plain[m, m], red[0, 0]); XCTAssertEqual(plain[m + 9, m + 9], red[0, 0])
        XCTAssertEqual(plain[m + 14, m], blue[0, 0]); XCTAssertEqual(plain[m + 33, m + 4], blue[0, 0])
        XCTAssertEqual(plain[m + 14, m + 5], .white, "shorter pictures are top-aligned")
        let titled = hstack([red, blue], titles: ["a", "b"], spacing: 4, title: "figure")
        XCTAssertGreaterThan(titled.height, plain.height + 2 * 9)
        assertNothingTouchesTheBorder(titled)
        let stacked = vstack([red, blue], spacing: 3)
        XCTAssertEqual(stacked.height, 10 + 3 + 5 + 2 * m); XCTAssertEqual(stacked.width, 20 + 2 * m)
    }
}
