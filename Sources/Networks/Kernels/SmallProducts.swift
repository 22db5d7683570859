#if arch(x86_64)
import CKernels
#endif

/// Register-blocked single-precision matrix products for the dynamics network's small shapes
/// (widths 2 and 64, batches of 100 to 30 000 stacked rows), written with `SIMD8<Float>` so that
/// on x86-64 with `-target-cpu haswell` (and `FUSED_MULTIPLY_ADD`) every `madd` is one 256-bit FMA.
///
/// Three products, each a loop of fixed-order FMAs, so every output element is the same
/// sequence of operations wherever its row sits and however many rows the call has:
///
///     rowProduct          C = A·B         A m×k, B k×n row-major, n a multiple of 8
///     rowDotProduct       C = A·Bᵀ        A m×k, B n×k row-major, for n of a few columns
///     accumulateOuter     D += Uᵀ·V       over the m rows of U (m×p) and V (m×q)
///                                         (in SmallProducts+Outer.swift)
///
/// `rowProduct` hands each finished 8-wide piece of C to an epilogue, so the ConcatSquash gate,
/// the bias and the activation run on registers (see `DualLayer+Fused.swift`).
///
/// Two instruction-set paths compute the same bits (see `KernelChoice` for which runs):
/// - SIMD8 (the `…SIMD8` functions here): 256-bit AVX2+FMA on x86-64, NEON on arm64; the
///   portable path, and the only one off x86-64.
/// - AVX-512 (x86-64 CPUs with AVX-512F/VL, chosen at run time): the C kernels of
///   `Sources/CKernels/avx512.c`, tiles of 6 rows × 64 columns in 512-bit registers. Each output
///   is the same FMA chain in the same order as in the SIMD8 tiles (vectorized across output
///   columns, summed over k in order from +0), and `rowDotProduct` keeps `sum`'s reduction
///   tree, so the two paths agree bit for bit (tested in `KernelPathTests`). `rowProduct`
///   takes this path for plain stores (x̄); the fused layers call the C kernels' own fused
///   forward (gate, bias and activation on 16 lanes, `DualLayer.avx512Forward`); the dot
///   kernel writes the raw product and the Swift element epilogue reads it back from L1.
///
/// All unsafe memory access of the Networks module is in this folder (these products,
/// `SmallProducts+Outer.swift`, the fused layers and `PackedWeights`) and, for the AVX-512
/// path, in the C kernels.
@usableFromInline
enum SmallProducts {
    @usableFromInline typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// acc += a·b: one rounding (`addingProduct`, a single FMA instruction) where the build
    /// promises hardware FMA (`FUSED_MULTIPLY_ADD`, set in Package.swift for x86-64 release
    /// builds with `-target-cpu haswell` and for arm64), else a multiply and an add (on x86-64
    /// without FMA code generation `addingProduct` would become a libm call per lane).
    /// Measured: without FMA the 6×16 tile spills (12 accumulators + a product temporary
    /// each), 44 GFLOP/s on 1000×64·64×64; with it, see `KernelChoice`.
    @inline(__always) static func madd(_ acc: inout V, _ a: V, _ b: V) {
        #if FUSED_MULTIPLY_ADD
        acc.addProduct(a, b)
        #else
        acc += a * b
        #endif
    }

    /// Σ of the eight lanes in a fixed order: (halves), (quarters), then the pair.
    @inline(__always) static func sum(_ v: V) -> Float {
        let four = v.lowHalf + v.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }
}

/// What `rowProduct` does with each finished piece C[row, column ..< column + 8].
protocol RowEpilogue {
    func finish(row: Int, column: Int, _ value: SIMD8<Float>)
    /// (start, leading dimension) when `finish` only stores C there (`StoreRows`), else nil.
    /// Only such products take the AVX-512 `rowProduct`; the fused layers call their own
    /// AVX-512 kernels (`DualLayer.avx512Forward`).
    var plainStore: (UnsafeMutablePointer<Float>, Int)? { get }
}

extension RowEpilogue { var plainStore: (UnsafeMutablePointer<Float>, Int)? { nil } }

/// What `rowDotProduct` does with each finished element C[row, column].
protocol ElementEpilogue {
    func finish(row: Int, column: Int, _ value: Float)
    /// Where the AVX-512 path stores the raw C (start, leading dimension) before handing it back
    /// to `finish`: memory that `finish` may overwrite (for the fused layers, their output rows).
    var productDestination: (UnsafeMutablePointer<Float>, Int) { get }
    /// True when `finish` stores the value at `productDestination` and does nothing else.
    static var storesProduct: Bool { get }
}

extension ElementEpilogue { static var storesProduct: Bool { false } }

/// C = value: a plain store with leading dimension `ldc`.
struct StoreRows: RowEpilogue, ElementEpilogue {
    let c: UnsafeMutablePointer<Float>
    let ldc: Int
    var plainStore: (UnsafeMutablePointer<Float>, Int)? { (c, ldc) }
    var productDestination: (UnsafeMutablePointer<Float>, Int) { (c, ldc) }
    static var storesProduct: Bool { true }
    @inline(__always) func finish(row: Int, column: Int, _ value: SIMD8<Float>) {
        SmallProducts.store(value, c + row * ldc + column)
    }
    @inline(__always) func finish(row: Int, column: Int, _ value: Float) {
        c[row * ldc + column] = value
    }
}

extension SmallProducts {
    /// C = A·B with A m×k (leading dimension lda) and B k×n row-major (ldb); n % 8 == 0, on the
    /// path `KernelChoice.avx512RowProduct` picks (the same bits either way).
    /// - Complexity: O(m·n·k).
    @inline(__always)
    static func rowProduct<E: RowEpilogue>(rows m: Int, columns n: Int, depth k: Int,
                                           a: UnsafePointer<Float>, lda: Int,
                                           b: UnsafePointer<Float>, ldb: Int, epilogue e: E) {
        #if arch(x86_64)
        if let (c, ldc) = e.plainStore, KernelChoice.avx512RowProduct(columns: n, depth: k, fused: false) {
            cnf_avx512_row_product(m, n, k, a, lda, b, ldb, c, ldc)
            return
        }
        #endif
        rowProductSIMD8(rows: m, columns: n, depth: k, a: a, lda: lda, b: b, ldb: ldb, epilogue: e)
    }

    /// `rowProduct` in SIMD8 registers: C[i, j] = fma(A[i, k−1], B[k−1, j], … fma(A[i, 0], B[0, j], +0)).
    ///
    /// Tiles of 6 rows × 16 columns: twelve accumulators, two loads of B and six broadcasts of
    /// A per step of k (Haswell/Zen: 16 vector registers). A last partial tile of 1–3 rows runs
    /// as a 3-row tile (`rowTailSIMD8`; at 50 rows the 6-row tile would do 54 rows' work, this
    /// 51), one of 4–5 rows repeats its last row; only the real rows are stored. B's 16-column
    /// panel (k·64 bytes) stays in L1. Each row's chain is the same in any tile.
    /// - Complexity: O(m·n·k).
    @inline(__always)
    static func rowProductSIMD8<E: RowEpilogue>(rows m: Int, columns n: Int, depth k: Int,
                                                a: UnsafePointer<Float>, lda: Int,
                                                b: UnsafePointer<Float>, ldb: Int, epilogue e: E) {
        var i = 0
        while i < m {
            if m - i <= 3 {
                rowTailSIMD8(row: i, rows: m, columns: n, depth: k, a: a, lda: lda, b: b, ldb: ldb, epilogue: e)
                return
            }
            let last = m - 1
            let a0 = a + i * lda
            let a1 = a + Swift.min(i + 1, last) * lda, a2 = a + Swift.min(i + 2, last) * lda
            let a3 = a + Swift.min(i + 3, last) * lda, a4 = a + Swift.min(i + 4, last) * lda
            let a5 = a + Swift.min(i + 5, last) * lda
            let valid = Swift.min(6, m - i)
            var j = 0
            while j + 16 <= n {
                var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
                var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
                var bp = b + j
                for p in 0..<k {
                    let b0 = load(bp), b1 = load(bp + 8)
                    var x = V(repeating: a0[p]); madd(&c00, x, b0); madd(&c01, x, b1)
                    x = V(repeating: a1[p]); madd(&c10, x, b0); madd(&c11, x, b1)
                    x = V(repeating: a2[p]); madd(&c20, x, b0); madd(&c21, x, b1)
                    x = V(repeating: a3[p]); madd(&c30, x, b0); madd(&c31, x, b1)
                    x = V(repeating: a4[p]); madd(&c40, x, b0); madd(&c41, x, b1)
                    x = V(repeating: a5[p]); madd(&c50, x, b0); madd(&c51, x, b1)
                    bp += ldb
                }
                e.finish(row: i, column: j, c00); e.finish(row: i, column: j + 8, c01)
                if valid > 1 { e.finish(row: i + 1, column: j, c10); e.finish(row: i + 1, column: j + 8, c11) }
                if valid > 2 { e.finish(row: i + 2, column: j, c20); e.finish(row: i + 2, column: j + 8, c21) }
                if valid > 3 { e.finish(row: i + 3, column: j, c30); e.finish(row: i + 3, column: j + 8, c31) }
                if valid > 4 { e.finish(row: i + 4, column: j, c40); e.finish(row: i + 4, column: j + 8, c41) }
                if valid > 5 { e.finish(row: i + 5, column: j, c50); e.finish(row: i + 5, column: j + 8, c51) }
                j += 16
            }
            if j < n {  // an 8-column remainder
                var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V()
                var bp = b + j
                for p in 0..<k {
                    let b0 = load(bp)
                    madd(&c0, V(repeating: a0[p]), b0); madd(&c1, V(repeating: a1[p]), b0)
                    madd(&c2, V(repeating: a2[p]), b0); madd(&c3, V(repeating: a3[p]), b0)
                    madd(&c4, V(repeating: a4[p]), b0); madd(&c5, V(repeating: a5[p]), b0)
                    bp += ldb
                }
                e.finish(row: i, column: j, c0)
                if valid > 1 { e.finish(row: i + 1, column: j, c1) }
                if valid > 2 { e.finish(row: i + 2, column: j, c2) }
                if valid > 3 { e.finish(row: i + 3, column: j, c3) }
                if valid > 4 { e.finish(row: i + 4, column: j, c4) }
                if valid > 5 { e.finish(row: i + 5, column: j, c5) }
            }
            i += 6
        }
    }

    /// The last 1–3 rows from `i` of `rowProductSIMD8` in a tile of 3 rows × 16 columns (six
    /// accumulators; a missing row repeats the last and is not stored), the same chains.
    @inline(__always)
    static func rowTailSIMD8<E: RowEpilogue>(row i: Int, rows m: Int, columns n: Int, depth k: Int,
                                             a: UnsafePointer<Float>, lda: Int,
                                             b: UnsafePointer<Float>, ldb: Int, epilogue e: E) {
        let last = m - 1
        let a0 = a + i * lda, a1 = a + Swift.min(i + 1, last) * lda, a2 = a + Swift.min(i + 2, last) * lda
        let valid = m - i
        var j = 0
        while j + 16 <= n {
            var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
            var bp = b + j
            for p in 0..<k {
                let b0 = load(bp), b1 = load(bp + 8)
                var x = V(repeating: a0[p]); madd(&c00, x, b0); madd(&c01, x, b1)
                x = V(repeating: a1[p]); madd(&c10, x, b0); madd(&c11, x, b1)
                x = V(repeating: a2[p]); madd(&c20, x, b0); madd(&c21, x, b1)
                bp += ldb
            }
            e.finish(row: i, column: j, c00); e.finish(row: i, column: j + 8, c01)
            if valid > 1 { e.finish(row: i + 1, column: j, c10); e.finish(row: i + 1, column: j + 8, c11) }
            if valid > 2 { e.finish(row: i + 2, column: j, c20); e.finish(row: i + 2, column: j + 8, c21) }
            j += 16
        }
        if j < n {  // an 8-column remainder
            var c0 = V(), c1 = V(), c2 = V()
            var bp = b + j
            for p in 0..<k {
                let b0 = load(bp)
                madd(&c0, V(repeating: a0[p]), b0); madd(&c1, V(repeating: a1[p]), b0); madd(&c2, V(repeating: a2[p]), b0)
                bp += ldb
            }
            e.finish(row: i, column: j, c0)
            if valid > 1 { e.finish(row: i + 1, column: j, c1) }
            if valid > 2 { e.finish(row: i + 2, column: j, c2) }
        }
    }

    /// C = A·Bᵀ with A m×k (lda) and B n×k row-major (ldb), for a narrow C (n ≤ 4), on the path
    /// `KernelChoice.avx512RowDotProduct` picks (the same bits either way).
    /// - Complexity: O(m·n·k).
    @inline(__always)
    static func rowDotProduct<E: ElementEpilogue>(rows m: Int, columns n: Int, depth k: Int,
                                                  a: UnsafePointer<Float>, lda: Int,
                                                  b: UnsafePointer<Float>, ldb: Int, epilogue e: E) {
        #if arch(x86_64)
        if KernelChoice.avx512RowDotProduct(columns: n, depth: k, fused: !E.storesProduct) {
            rowDotProductAVX512(rows: m, columns: n, depth: k, a: a, lda: lda, b: b, ldb: ldb, epilogue: e)
            return
        }
        #endif
        rowDotProductSIMD8(rows: m, columns: n, depth: k, a: a, lda: lda, b: b, ldb: ldb, epilogue: e)
    }

    /// `rowDotProduct` in SIMD8 registers (the 64 → 2 layer):
    /// each element is a dot product along k, eight lanes at a time, four rows per step; the
    /// lanes are summed in a fixed order and a k % 8 tail is added after.
    /// - Complexity: O(m·n·k).
    @inline(__always)
    static func rowDotProductSIMD8<E: ElementEpilogue>(rows m: Int, columns n: Int, depth k: Int,
                                                       a: UnsafePointer<Float>, lda: Int,
                                                       b: UnsafePointer<Float>, ldb: Int, epilogue e: E) {
        let full = k & ~7
        var i = 0
        while i < m {
            let last = m - 1
            let a0 = a + i * lda, a1 = a + Swift.min(i + 1, last) * lda
            let a2 = a + Swift.min(i + 2, last) * lda, a3 = a + Swift.min(i + 3, last) * lda
            let valid = Swift.min(4, m - i)
            for j in 0..<n {
                let bj = b + j * ldb
                var c0 = V(), c1 = V(), c2 = V(), c3 = V()
                var p = 0
                while p < full {
                    let w = load(bj + p)
                    madd(&c0, load(a0 + p), w); madd(&c1, load(a1 + p), w)
                    madd(&c2, load(a2 + p), w); madd(&c3, load(a3 + p), w)
                    p += 8
                }
                var s0 = sum(c0), s1 = sum(c1), s2 = sum(c2), s3 = sum(c3)
                for q in full..<k {
                    let w = bj[q]
                    s0 += a0[q] * w; s1 += a1[q] * w; s2 += a2[q] * w; s3 += a3[q] * w
                }
                e.finish(row: i, column: j, s0)
                if valid > 1 { e.finish(row: i + 1, column: j, s1) }
                if valid > 2 { e.finish(row: i + 2, column: j, s2) }
                if valid > 3 { e.finish(row: i + 3, column: j, s3) }
            }
            i += 4
        }
    }
}

#if arch(x86_64)
extension SmallProducts {
    /// Rows per call of the AVX-512 dot kernel when an epilogue follows: the block's raw C is
    /// still in L1 when the epilogue reads it back. A multiple of the C tile's 8 rows.
    static var avx512Block: Int { 48 }

    /// `rowDotProduct` on the AVX-512 kernel (`cnf_avx512_row_dot_product`: eight rows, two per
    /// ZMM, × up to four columns; the same eight FMA chains per element as `rowDotProductSIMD8`
    /// and `sum`'s reduction tree, done for 16 elements at once). Cost: the dot products at up
    /// to 2× the SIMD8 rate, plus, with an epilogue, one store and one L1 load of each element.
    @inline(__always)
    static func rowDotProductAVX512<E: ElementEpilogue>(rows m: Int, columns n: Int, depth k: Int,
                                                        a: UnsafePointer<Float>, lda: Int,
                                                        b: UnsafePointer<Float>, ldb: Int, epilogue e: E) {
        let (c, ldc) = e.productDestination
        if E.storesProduct {
            cnf_avx512_row_dot_product(m, n, k, a, lda, b, ldb, c, ldc)
            return
        }
        var i = 0
        while i < m {
            let rows = Swift.min(avx512Block, m - i)
            cnf_avx512_row_dot_product(rows, n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc)
            for row in i..<(i + rows) {
                let cr = c + row * ldc
                for j in 0..<n { e.finish(row: row, column: j, cr[j]) }
            }
            i += rows
        }
    }
}
#endif
