/// Composition of a finished panel.
extension Panel {
    /// Pixel sizes of the decorations, scaled with the text where they sit beside it.
    private static let pad = 6, tickLength = 4, tickGap = 3
    private static let barGap = 12, barWidth = 14

    /// Where things go in the finished picture.
    public struct Layout: Equatable, Sendable {
        /// Size of the finished picture.
        public var width: Int
        public var height: Int
        /// Top-left pixel of the plot area in the finished picture: plot pixel (i, j) is
        /// picture pixel (plotX + i, plotY + j).
        public var plotX: Int
        public var plotY: Int
    }

    /// Tick values and labels, and the margins they need.
    private struct Decorations {
        var xTicks: [Double], yTicks: [Double], xLabels: [String], yLabels: [String]
        var barTicks: [Double], barLabels: [String]
        var layout: Layout
        /// Margin added on the left for a wide title.
        var extraLeft = 0
    }

    private func decorations() -> Decorations {
        let s = labelScale, pad = Panel.pad, tick = Panel.tickLength, gap = Panel.tickGap
        let xTicks = xTickValues(), yTicks = yTickValues()
        let xLabels = xTickLabels(xTicks).map(Panel.typeset), yLabels = yTickLabels(yTicks).map(Panel.typeset)
        let glyphH = Font.glyphHeight(scale: s), capH = Font.capHeight(scale: s)
        let barTicks = colorBar.map { $0.ticks(maxCount: Swift.max(3, plot.height / 50)) } ?? []
        let barLabels = (colorBar.map { $0.labels(barTicks) } ?? []).map(Panel.typeset)
        let barLabelW = barLabels.map { textWidth($0, scale: s) }.max() ?? 0

        let yLabelW = yLabels.map { textWidth($0, scale: s) }.max() ?? 0
        let axisLabelW = yLabel == nil ? 0 : glyphH + 2 * gap
        let halfFirstX = (xLabels.first.map { textWidth($0, scale: s) } ?? 0) / 2
        let halfLastX = (xLabels.last.map { textWidth($0, scale: s) } ?? 0) / 2
        let left = Swift.max(pad + axisLabelW + (yTicks.isEmpty ? 0 : yLabelW + gap + tick), halfFirstX + pad)
        let titleH = title == nil ? 0 : Font.glyphHeight(scale: titleScale) + 2 * gap
        let top = pad + titleH + capH / 2
        let bottom = 1 + (xTicks.isEmpty ? 0 : tick + gap + glyphH) + (xLabel == nil ? 0 : gap + glyphH) + pad
        let right = colorBar == nil
            ? Swift.max(pad, halfLastX + pad)
            : Panel.barGap + Panel.barWidth + tick + gap + barLabelW + pad
        // A title wider than the panel widens both margins alike, so it stays centred and whole.
        let titleW = title.map { textWidth($0, scale: titleScale) } ?? 0
        let centre = left + plot.width / 2
        let extraLeft = Swift.max(0, titleW / 2 + pad - centre)
        let extraRight = Swift.max(0, titleW - titleW / 2 + pad - (plot.width - plot.width / 2 + right))
        let layout = Layout(width: extraLeft + left + plot.width + right + extraRight,
                            height: top + plot.height + bottom, plotX: extraLeft + left, plotY: top)
        return Decorations(xTicks: xTicks, yTicks: yTicks, xLabels: xLabels, yLabels: yLabels,
                           barTicks: barTicks, barLabels: barLabels, layout: layout, extraLeft: extraLeft)
    }

    /// A number label as it is drawn: negative numbers and exponents take the minus sign
    /// (U+2212, as wide as "+"), not the short hyphen, as in matplotlib; the bitmap font
    /// has no minus sign and keeps the hyphen.
    static func typeset(_ label: String) -> String {
        guard case .freeType = Font.kind else { return label }
        return label.replacingOccurrences(of: "-", with: "\u{2212}")
    }

    /// The geometry `render()` will use.
    public func layout() -> Layout { decorations().layout }

    /// The finished picture: white margins, the plot area framed by a 1-pixel line just
    /// outside it, tick marks and labels (x below, y on the left), axis labels, legend,
    /// colour bar and title. Margins are sized to their labels, so nothing is clipped.
    public func render() -> Image {
        let d = decorations()
        let s = labelScale, tick = Panel.tickLength, gap = Panel.tickGap
        let glyphH = Font.glyphHeight(scale: s), capH = Font.capHeight(scale: s)
        let pw = plot.width, ph = plot.height, left = d.layout.plotX, top = d.layout.plotY

        var canvas = Image(width: d.layout.width, height: d.layout.height, fill: .white)
        canvas.copy(plot, x: left, y: top)
        drawLegend(on: &canvas, left: left, top: top)
        canvas.strokeRect(x: left - 1, y: top - 1, width: pw + 2, height: ph + 2, color: .frame)

        // Tick marks and labels. A tick on an edge of the plot area sits on the frame.
        func column(_ x: Double) -> Int {
            let c = left + Int(map(x: x, y: extent.ymin).x.rounded(.down))
            return c <= left ? left - 1 : (c >= left + pw - 1 ? left + pw : c)
        }
        func row(_ y: Double) -> Int {
            let r = top + Int(map(x: extent.xmin, y: y).y.rounded(.down))
            return r <= top ? top - 1 : (r >= top + ph - 1 ? top + ph : r)
        }
        for (v, label) in zip(d.xTicks, d.xLabels) {
            let c = column(v)
            canvas.fillRect(x: c, y: top + ph + 1, width: 1, height: tick, color: .frame)
            canvas.drawText(label, x: c + 1, centerY: top + ph + 1 + tick + gap + capH / 2, align: .center, scale: s)
        }
        for (v, label) in zip(d.yTicks, d.yLabels) {
            let r = row(v)
            canvas.fillRect(x: left - 1 - tick, y: r, width: tick, height: 1, color: .frame)
            canvas.drawText(label, x: left - 1 - tick - gap, centerY: r, align: .right, scale: s)
        }

        // Axis labels.
        if let xLabel = xLabel {
            let y = top + ph + 1 + (d.xTicks.isEmpty ? 0 : tick + gap + glyphH) + gap
            canvas.drawText(xLabel, x: left + pw / 2 - textWidth(xLabel, scale: s) / 2, y: y, scale: s)
        }
        if let yLabel = yLabel {
            var strip = Image(width: textWidth(yLabel, scale: s), height: glyphH, fill: .clear)
            strip.drawText(yLabel, x: 0, y: 0, scale: s)
            let turned = strip.rotatedCounterClockwise()
            canvas.draw(turned, x: d.extraLeft + Panel.pad, y: top + ph / 2 - turned.height / 2)
        }

        if let scale = colorBar {
            drawColorBar(scale, ticks: d.barTicks, labels: d.barLabels, on: &canvas,
                         x: left + pw + Panel.barGap, top: top)
        }

        if let title = title {
            let w = textWidth(title, scale: titleScale)
            canvas.drawText(title, x: left + pw / 2 - w / 2, y: Panel.pad, scale: titleScale)
        }
        return canvas
    }

    /// A vertical bar, `colormap` from 0 (bottom) to 1 (top), ticks and labels on its right.
    private func drawColorBar(_ scale: ColorScale, ticks: [Double], labels: [String],
                              on canvas: inout Image, x: Int, top: Int) {
        let ph = plot.height, w = Panel.barWidth, s = labelScale
        for r in 0..<ph {
            let t = 1 - (Double(r) + 0.5) / Double(ph)
            canvas.fillRect(x: x, y: top + r, width: w, height: 1, color: scale.colormap.rgb(at: t))
        }
        canvas.strokeRect(x: x - 1, y: top - 1, width: w + 2, height: ph + 2, color: .frame)
        for (v, label) in zip(ticks, labels) {
            let t = scale.position(v)
            var r = top + Int(((1 - t) * Double(ph)).rounded(.down))
            r = r <= top ? top - 1 : (r >= top + ph - 1 ? top + ph : r)
            canvas.fillRect(x: x + w + 1, y: r, width: Panel.tickLength, height: 1, color: .frame)
            canvas.drawText(label, x: x + w + 1 + Panel.tickLength + Panel.tickGap, centerY: r, align: .left, scale: s)
        }
    }

    /// Legend entries in a white box at the top right of the plot area: a short line in
    /// the series colour, then the name.
    private func drawLegend(on canvas: inout Image, left: Int, top: Int) {
        guard !legend.isEmpty else { return }
        let s = labelScale, sample = 18 * s, gap = 4 * s, rowH = Font.lineHeight(scale: s) + 2 * s
        let nameW = legend.map { textWidth($0.name, scale: s) }.max() ?? 0
        let boxW = gap + sample + gap + nameW + gap
        let boxH = gap + rowH * legend.count - 2 * s + gap
        let x0 = left + plot.width - boxW - 6, y0 = top + 6
        canvas.fillRect(x: x0, y: y0, width: boxW, height: boxH, color: Color.white.withAlpha(0.85))
        canvas.strokeRect(x: x0, y: y0, width: boxW, height: boxH, color: .lightGrey)
        for (k, entry) in legend.enumerated() {
            let cy = y0 + gap + k * rowH + Font.capHeight(scale: s) / 2
            canvas.drawLine(from: (Double(x0 + gap), Double(cy) + 0.5), to: (Double(x0 + gap + sample), Double(cy) + 0.5),
                            color: entry.color, width: 2)
            canvas.drawText(entry.name, x: x0 + gap + sample + gap, centerY: cy, align: .left, scale: s)
        }
    }
}
