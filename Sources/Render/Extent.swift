/// A rectangle of data space, [xmin, xmax] × [ymin, ymax], with y pointing up.
public struct Extent: Equatable, Sendable, CustomStringConvertible {
    public var xmin: Double
    public var xmax: Double
    public var ymin: Double
    public var ymax: Double

    public init(xmin: Double, xmax: Double, ymin: Double, ymax: Double) {
        precondition(xmin.isFinite && xmax.isFinite && ymin.isFinite && ymax.isFinite && xmin < xmax && ymin < ymax,
                     "extent needs finite xmin < xmax and ymin < ymax, got [\(xmin), \(xmax)] × [\(ymin), \(ymax)]")
        self.xmin = xmin; self.xmax = xmax; self.ymin = ymin; self.ymax = ymax
    }

    /// [−r, r] × [−r, r], the usual window for the toy data sets (r = 4 in FFJORD's plots).
    public static func square(_ r: Double) -> Extent { Extent(xmin: -r, xmax: r, ymin: -r, ymax: r) }

    public var width: Double { xmax - xmin }
    public var height: Double { ymax - ymin }

    /// Whether (x, y) lies in the closed rectangle.
    public func contains(x: Double, y: Double) -> Bool {
        x >= xmin && x <= xmax && y >= ymin && y <= ymax
    }

    /// The centre of cell (i, j) of an nx × ny grid over this extent, j = 0 at the bottom:
    /// x_i = xmin + (i + ½)·width/nx, y_j = ymin + (j + ½)·height/ny. Heat maps and
    /// histograms use this convention for `values[j·nx + i]`.
    public func cellCenter(i: Int, j: Int, nx: Int, ny: Int) -> (x: Double, y: Double) {
        (xmin + (Double(i) + 0.5) * width / Double(nx), ymin + (Double(j) + 0.5) * height / Double(ny))
    }

    public var description: String { "[\(xmin), \(xmax)] × [\(ymin), \(ymax)]" }
}
