import CNFCore

/// A k-d tree over n points of dimension d (row-major), for k-nearest-neighbour
/// distances. Each node splits its points at the median of the coordinate with the
/// widest spread; leaves hold at most `leafSize` points, stored contiguously.
///
/// - Complexity: building O(n log n); a query about O(log n + k) for low dimension and
///   well-spread points (worse in high dimension, as for any k-d tree).
struct KDTree {
    struct Node {
        var lo: Int, hi: Int          // the node's points: positions lo..<hi
        var dim: Int                  // split coordinate (-1 for a leaf)
        var split: Double
        var left: Int, right: Int     // child node indices
    }

    static let leafSize = 8

    let dim: Int
    let count: Int
    /// The points reordered so that every node's points are contiguous.
    private(set) var points: [Double]
    /// `order[p]` is the original index of the point at position p.
    private(set) var order: [Int]
    private(set) var nodes: [Node] = []

    init(values: [Double], dim: Int) {
        precondition(dim >= 1 && values.count % dim == 0, "k-d tree: \(values.count) values are not points of dimension \(dim)")
        self.dim = dim
        let n = values.count / dim
        self.count = n
        var perm = Array(0..<n)
        var nodes = [Node]()
        nodes.reserveCapacity(2 * n / KDTree.leafSize + 2)
        values.withBufferView { v in
            _ = KDTree.build(v, dim: dim, perm: &perm, lo: 0, hi: n, nodes: &nodes)
        }
        self.nodes = nodes
        self.order = perm
        var reordered = [Double](repeating: 0, count: values.count)
        for (p, i) in perm.enumerated() {
            for j in 0..<dim { reordered[p * dim + j] = values[i * dim + j] }
        }
        self.points = reordered
    }

    /// Appends the subtree of positions lo..<hi to `nodes`; returns its node index.
    private static func build(_ v: BufferView<Double>, dim: Int, perm: inout [Int],
                              lo: Int, hi: Int, nodes: inout [Node]) -> Int {
        let me = nodes.count
        nodes.append(Node(lo: lo, hi: hi, dim: -1, split: 0, left: -1, right: -1))
        if hi - lo <= leafSize { return me }

        var widest = 0, spread = -1.0
        for j in 0..<dim {
            var mn = Double.infinity, mx = -Double.infinity
            for p in lo..<hi { let x = v[perm[p] * dim + j]; mn = min(mn, x); mx = max(mx, x) }
            if mx - mn > spread { spread = mx - mn; widest = j }
        }
        if spread == 0 { return me }   // all points equal: keep as one (large) leaf

        let mid = (lo + hi) / 2
        select(v, dim: dim, coordinate: widest, perm: &perm, lo: lo, hi: hi, k: mid)
        // Read the split before the children reorder their halves.
        nodes[me].dim = widest
        nodes[me].split = v[perm[mid] * dim + widest]
        let left = build(v, dim: dim, perm: &perm, lo: lo, hi: mid, nodes: &nodes)
        let right = build(v, dim: dim, perm: &perm, lo: mid, hi: hi, nodes: &nodes)
        nodes[me].left = left
        nodes[me].right = right
        return me
    }

    /// Reorders perm[lo..<hi] so that position k holds the point whose coordinate would
    /// be k-th in sorted order, with no larger coordinate before it and no smaller after
    /// (Hoare's selection; the middle element as pivot).
    private static func select(_ v: BufferView<Double>, dim: Int, coordinate c: Int,
                               perm: inout [Int], lo: Int, hi: Int, k: Int) {
        var lo = lo, hi = hi - 1
        while hi > lo {
            let pivot = v[perm[(lo + hi) / 2] * dim + c]
            var i = lo, j = hi
            while i <= j {
                while v[perm[i] * dim + c] < pivot { i += 1 }
                while v[perm[j] * dim + c] > pivot { j -= 1 }
                if i <= j { perm.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }

    /// For the points at tree positions `positions`, in that order, the squared Euclidean
    /// distance to the k-th nearest *other* point (a duplicate counts, at distance 0).
    /// `order[p]` maps a position back to the original index; a range lets callers split
    /// the work across threads.
    func kthNeighbourDistancesSquared(k: Int, positions: Range<Int>) -> [Double] {
        precondition(k >= 1 && k < count, "k-NN: k = \(k) needs more than k points, have \(count)")
        var out = [Double](repeating: 0, count: positions.count)
        var best = [Double](repeating: .infinity, count: k)   // ascending squared distances
        points.withBufferView { pts in
            nodes.withBufferView { nodes in
                best.withMutableBufferView { best in
                    let search = Search(points: pts, nodes: nodes, dim: dim, best: best)
                    for p in positions {
                        for m in 0..<k { best[m] = .infinity }
                        search.visit(0, query: p)
                        out[p - positions.lowerBound] = best[k - 1]
                    }
                }
            }
        }
        return out
    }

    /// One query's state on views of the arrays (no bounds checks in release builds, no
    /// copies on the hot path).
    private struct Search {
        let points: BufferView<Double>
        let nodes: BufferView<Node>
        let dim: Int
        let best: MutableBufferView<Double>

        func visit(_ n: Int, query q: Int) {
            let node = nodes[n]
            if node.dim < 0 {
                let qb = q * dim
                for p in node.lo..<node.hi where p != q {
                    var d2 = 0.0
                    let pb = p * dim
                    for j in 0..<dim { let t = points[pb + j] - points[qb + j]; d2 += t * t }
                    if d2 < best[best.count - 1] {
                        insert(d2)
                        // k duplicates found: nothing can be nearer. This keeps a large leaf
                        // of identical points (see `build`) at O(k) per query.
                        if best[best.count - 1] == 0 { return }
                    }
                }
                return
            }
            let diff = points[q * dim + node.dim] - node.split
            let (near, far) = diff < 0 ? (node.left, node.right) : (node.right, node.left)
            visit(near, query: q)
            if diff * diff < best[best.count - 1] { visit(far, query: q) }
        }

        @inline(__always)
        func insert(_ d2: Double) {
            var m = best.count - 1
            while m > 0 && best[m - 1] > d2 { best[m] = best[m - 1]; m -= 1 }
            best[m] = d2
        }
    }
}
