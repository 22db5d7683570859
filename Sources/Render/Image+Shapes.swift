#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in continuous pixel coordinates (see `Image`): (0, 0) is the top-left corner
/// of the top-left pixel, and pixel (i, j) has its centre at (i + ½, j + ½).
public typealias PixelPoint = (x: Double, y: Double)

/// Anti-aliased shapes.
///
/// Coverage of a pixel is estimated from the distance d of its centre to the shape's
/// boundary: coverage = clamp(½ − d_signed, 0, 1), where d_signed < 0 inside. For a stroke
/// of width w that is clamp(w/2 + ½ − d, 0, 1) with d the distance to the centre line. This
/// is exact for a straight edge through a pixel parallel to a pixel side and within a few
/// percent otherwise, which is what the eye needs.
///
/// A multi-segment stroke is first gathered into one coverage mask (the maximum over its
/// segments) and blended once, so joints of a translucent polyline are not darker than
/// its segments.
extension Image {
    /// A straight stroke from `a` to `b`, `width` pixels wide, with round caps.
    public mutating func drawLine(from a: PixelPoint, to b: PixelPoint, color: Color, width: Double = 1) {
        drawPolyline([a, b], color: color, width: width)
    }

    /// A connected stroke through `points` (round joins and caps), blended once.
    /// Non-finite points break the line into separate pieces.
    public mutating func drawPolyline(_ points: [PixelPoint], color: Color, width: Double = 1) {
        guard points.count >= 1, color.a > 0, width > 0 else { return }
        let r = width / 2
        var mask = CoverageMask(image: self, around: points, margin: r + 2)
        guard !mask.isEmpty else { return }
        var previous: PixelPoint? = nil
        for p in points {
            guard p.x.isFinite, p.y.isFinite else { previous = nil; continue }
            mask.addSegment(previous ?? p, p, radius: r)
            previous = p
        }
        mask.blend(into: &self, color: color)
    }

    /// A filled disc of `radius` pixels centred at `center`.
    public mutating func fillCircle(center c: PixelPoint, radius: Double, color: Color) {
        guard c.x.isFinite, c.y.isFinite, radius > 0, color.a > 0 else { return }
        let x0 = Swift.max(Int((c.x - radius - 1).rounded(.down)), 0)
        let x1 = Swift.min(Int((c.x + radius + 1).rounded(.up)), width - 1)
        let y0 = Swift.max(Int((c.y - radius - 1).rounded(.down)), 0)
        let y1 = Swift.min(Int((c.y + radius + 1).rounded(.up)), height - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        // Coverage ramps linearly from 1 to 0 over the pixel straddling the rim. That ramp
        // has area π(ρ² + 1/12) for a ramp centred on radius ρ ≥ ½, so ρ = √(r² − 1/12)
        // gives the disc its true area πr². Below r = 1/√3 (ρ = ½) the ramp becomes a cone
        // of base radius 1 (area π/3), scaled by 3r² so tiny dots keep area πr² too.
        let rho = (radius * radius - 1.0 / 12).squareRoot()
        let small = radius * radius < 1.0 / 3
        let reach = small ? 0.5 : rho, gain = small ? 3 * radius * radius : 1
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Double(x) + 0.5 - c.x, dy = Double(y) + 0.5 - c.y
                let cov = reach + 0.5 - (dx * dx + dy * dy).squareRoot()
                if cov > 0 { blend(x: x, y: y, color: color, coverage: Swift.min(cov, 1) * gain) }
            }
        }
    }

    /// A filled convex polygon (vertices in either winding order).
    public mutating func fillConvexPolygon(_ vertices: [PixelPoint], color: Color) {
        guard vertices.count >= 3, color.a > 0,
              vertices.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { return }
        var area = 0.0
        for k in vertices.indices {
            let p = vertices[k], q = vertices[(k + 1) % vertices.count]
            area += p.x * q.y - q.x * p.y
        }
        guard area != 0 else { return }
        let sign = area > 0 ? 1.0 : -1.0
        // Edge k as an outward unit normal n and offset: signed distance = n·p − offset.
        var edges: [(nx: Double, ny: Double, off: Double)] = []
        for k in vertices.indices {
            let p = vertices[k], q = vertices[(k + 1) % vertices.count]
            let ex = q.x - p.x, ey = q.y - p.y
            let len = (ex * ex + ey * ey).squareRoot()
            if len == 0 { continue }
            // In y-down coordinates with positive (clockwise-on-screen) area, the outward
            // normal of edge (ex, ey) is (ey, −ex)/len.
            let nx = sign * ey / len, ny = -sign * ex / len
            edges.append((nx, ny, nx * p.x + ny * p.y))
        }
        let xs = vertices.map(\.x), ys = vertices.map(\.y)
        let x0 = Swift.max(Int(xs.min()!.rounded(.down)) - 1, 0)
        let x1 = Swift.min(Int(xs.max()!.rounded(.up)) + 1, width - 1)
        let y0 = Swift.max(Int(ys.min()!.rounded(.down)) - 1, 0)
        let y1 = Swift.min(Int(ys.max()!.rounded(.up)) + 1, height - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                var d = -Double.infinity
                for e in edges { d = Swift.max(d, e.nx * px + e.ny * py - e.off) }
                let cov = 0.5 - d
                if cov > 0 { blend(x: x, y: y, color: color, coverage: Swift.min(cov, 1)) }
            }
        }
    }

    /// An arrow from `tail` to `tip`: a stroke of `width` and a triangular head of length
    /// `headLength` (default 3·width + 3 px, at most half the arrow) and half that as
    /// half-width. Arrows shorter than a pixel are drawn as a dot.
    public mutating func drawArrow(from tail: PixelPoint, to tip: PixelPoint, color: Color,
                                   width: Double = 1, headLength: Double? = nil) {
        let dx = tip.x - tail.x, dy = tip.y - tail.y
        let len = (dx * dx + dy * dy).squareRoot()
        guard len.isFinite else { return }
        if len < 1 { fillCircle(center: tail, radius: Swift.max(width / 2, 0.5), color: color); return }
        let ux = dx / len, uy = dy / len
        let head = Swift.min(headLength ?? (3 * width + 3), len / 2)
        let half = head / 2
        let base = (x: tip.x - ux * head, y: tip.y - uy * head)
        drawLine(from: tail, to: (base.x + ux * 0.5, base.y + uy * 0.5), color: color, width: width)
        fillConvexPolygon([tip, (base.x - uy * half, base.y + ux * half),
                           (base.x + uy * half, base.y - ux * half)], color: color)
    }
}

/// Coverage values over a clipped rectangle of an image, combined by maximum.
struct CoverageMask {
    let x0: Int, y0: Int, w: Int, h: Int
    var values: [Float]

    init(image: Image, around points: [PixelPoint], margin: Double) {
        var lo = (x: Double.infinity, y: Double.infinity), hi = (x: -Double.infinity, y: -Double.infinity)
        for p in points where p.x.isFinite && p.y.isFinite {
            lo = (Swift.min(lo.x, p.x), Swift.min(lo.y, p.y))
            hi = (Swift.max(hi.x, p.x), Swift.max(hi.y, p.y))
        }
        if lo.x > hi.x {
            x0 = 0; y0 = 0; w = 0; h = 0; values = []; return
        }
        let ax = Swift.max(0, Int(Swift.max(lo.x - margin, -1).rounded(.down)))
        let ay = Swift.max(0, Int(Swift.max(lo.y - margin, -1).rounded(.down)))
        let bx = Swift.min(image.width, Int(Swift.min(hi.x + margin, Double(image.width) + 1).rounded(.up)))
        let by = Swift.min(image.height, Int(Swift.min(hi.y + margin, Double(image.height) + 1).rounded(.up)))
        x0 = ax; y0 = ay; w = Swift.max(bx - ax, 0); h = Swift.max(by - ay, 0)
        values = [Float](repeating: 0, count: w * h)
    }

    var isEmpty: Bool { w == 0 || h == 0 }

    /// Adds a capsule (all points within `radius` of segment ab), coverage by distance.
    /// Scans along the segment's major axis, so the cost is O(length · width), not the
    /// area of its bounding box.
    mutating func addSegment(_ a: PixelPoint, _ b: PixelPoint, radius r: Double) {
        let dx = b.x - a.x, dy = b.y - a.y
        let len2 = dx * dx + dy * dy
        let xMajor = Swift.abs(dx) >= Swift.abs(dy)
        // Half-extent of the band across the major axis, measured along the minor axis.
        let slopeFactor = len2 == 0 ? 1 : (len2.squareRoot() / Swift.max(Swift.abs(xMajor ? dx : dy), 1e-12))
        let across = (r + 1) * Swift.min(slopeFactor, 1.5) + 1
        let (lo, hi) = xMajor ? (Swift.min(a.x, b.x), Swift.max(a.x, b.x)) : (Swift.min(a.y, b.y), Swift.max(a.y, b.y))
        let start = Int((lo - r - 1).rounded(.down)), end = Int((hi + r + 1).rounded(.up))
        let majorMin = xMajor ? x0 : y0, majorMax = xMajor ? x0 + w - 1 : y0 + h - 1
        let minorMin = xMajor ? y0 : x0, minorMax = xMajor ? y0 + h - 1 : x0 + w - 1
        guard start <= majorMax, end >= majorMin else { return }
        for m in Swift.max(start, majorMin)...Swift.min(end, majorMax) {
            let mc = Double(m) + 0.5
            // The centre line's minor coordinate at this major coordinate (clamped to the segment).
            var t = 0.0
            if xMajor { if dx != 0 { t = (mc - a.x) / dx } } else { if dy != 0 { t = (mc - a.y) / dy } }
            t = Swift.min(Swift.max(t, 0), 1)
            let centre = xMajor ? a.y + t * dy : a.x + t * dx
            let n0 = Swift.max(Int((centre - across).rounded(.down)), minorMin)
            let n1 = Swift.min(Int((centre + across).rounded(.up)), minorMax)
            guard n0 <= n1 else { continue }
            for n in n0...n1 {
                let px = xMajor ? mc : Double(n) + 0.5, py = xMajor ? Double(n) + 0.5 : mc
                var s = len2 == 0 ? 0 : ((px - a.x) * dx + (py - a.y) * dy) / len2
                s = Swift.min(Swift.max(s, 0), 1)
                let ex = px - (a.x + s * dx), ey = py - (a.y + s * dy)
                let cov = Float(Swift.min(r + 0.5 - (ex * ex + ey * ey).squareRoot(), 1))
                if cov > 0 {
                    let (x, y) = xMajor ? (m, n) : (n, m)
                    let k = (y - y0) * w + (x - x0)
                    if cov > values[k] { values[k] = cov }
                }
            }
        }
    }

    func blend(into image: inout Image, color: Color) {
        for y in 0..<h {
            for x in 0..<w {
                let c = values[y * w + x]
                if c > 0 { image.blend(x: x0 + x, y: y0 + y, color: color, coverage: Double(c)) }
            }
        }
    }
}
