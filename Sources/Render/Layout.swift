/// Arranging finished pictures into one figure.
public enum Layout {
    /// Space around a figure and between a title and what it names.
    static let margin = 8
}

/// Pictures side by side, tops aligned, `spacing` pixels apart, each with an optional
/// title centred above it (at `titleScale`), and an optional figure `title` centred
/// above all; white background.
public func hstack(_ images: [Image], titles: [String]? = nil, spacing: Int = 16,
                   title: String? = nil, titleScale: Int = 2) -> Image {
    precondition(titles == nil || titles!.count == images.count,
                 "hstack got \(images.count) pictures and \(titles!.count) titles")
    let m = Layout.margin
    let titleH = titles == nil ? 0 : Font.glyphHeight(scale: titleScale) + m
    let columns = images.enumerated().map { k, img in
        max(img.width, titles.map { textWidth($0[k], scale: titleScale) } ?? 0)
    }
    let width = columns.reduce(0, +) + spacing * max(images.count - 1, 0)
    let height = titleH + (images.map(\.height).max() ?? 0)
    var row = Image(width: max(width, 1), height: max(height, 1), fill: .white)
    var x = 0
    for (k, img) in images.enumerated() {
        if let titles = titles {
            let w = textWidth(titles[k], scale: titleScale)
            row.drawText(titles[k], x: x + (columns[k] - w) / 2, y: 0, scale: titleScale)
        }
        row.copy(img, x: x + (columns[k] - img.width) / 2, y: titleH)
        x += columns[k] + spacing
    }
    return titled(row, title: title, scale: titleScale)
}

/// Pictures one above the other, centred, `spacing` pixels apart; white background.
public func vstack(_ images: [Image], spacing: Int = 16, title: String? = nil, titleScale: Int = 2) -> Image {
    let width = images.map(\.width).max() ?? 1
    let height = images.map(\.height).reduce(0, +) + spacing * max(images.count - 1, 0)
    var column = Image(width: width, height: max(height, 1), fill: .white)
    var y = 0
    for img in images {
        column.copy(img, x: (width - img.width) / 2, y: y)
        y += img.height + spacing
    }
    return titled(column, title: title, scale: titleScale)
}

/// `image` with a white margin around it and, if given, `title` centred above it.
public func titled(_ image: Image, title: String?, scale: Int = 2) -> Image {
    let m = Layout.margin
    let titleH = title == nil ? 0 : Font.glyphHeight(scale: scale) + m
    let titleW = title.map { textWidth($0, scale: scale) } ?? 0
    let width = max(image.width, titleW) + 2 * m
    var out = Image(width: width, height: image.height + titleH + 2 * m, fill: .white)
    if let title = title { out.drawText(title, x: (width - titleW) / 2, y: m, scale: scale) }
    out.copy(image, x: (width - image.width) / 2, y: m + titleH)
    return out
}
