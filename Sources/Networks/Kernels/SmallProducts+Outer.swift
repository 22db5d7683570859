#if arch(x86_64)
import CKernels
#endif

// The third kind of product, D += Uᵀ·V (the weight gradients of the backward pass): the same
// SIMD8 conventions as SmallProducts.swift and the same bits on both paths.

extension SmallProducts {
    /// D[u, v] += Σ_r U[r, u] · V[r, v] for u < p, v < q, with D[u, v] at d[u·du + v·dv]
    /// (dv = 1: D row-major; du = 1: D transposed). q % 16 == 0. On the path
    /// `KernelChoice.avx512Outer` picks (the same bits either way).
    /// - Complexity: O(m·p·q).
    static func accumulateOuter(rows m: Int, u: UnsafePointer<Float>, ldu: Int, p: Int,
                                v: UnsafePointer<Float>, ldv: Int, q: Int,
                                d: UnsafeMutablePointer<Float>, du: Int, dv: Int) {
        #if arch(x86_64)
        if KernelChoice.avx512Outer(p: p, q: q) {
            cnf_avx512_accumulate_outer(m, u, ldu, p, v, ldv, q, d, du, dv)
            return
        }
        #endif
        accumulateOuterSIMD8(rows: m, u: u, ldu: ldu, p: p, v: v, ldv: ldv, q: q, d: d, du: du, dv: dv)
    }

    /// `accumulateOuter` in SIMD8 registers.
    ///
    /// Tiles of `rowsPerTile` (6 or 2) values of u × 16 or 32 values of v, twelve or eight
    /// accumulators; the m rows are walked in blocks of 64, so a block of U and V stays in L1
    /// while every tile passes over it. Each D element gets one FMA per row, in row order,
    /// whatever the blocking.
    /// - Complexity: O(m·p·q).
    static func accumulateOuterSIMD8(rows m: Int, u: UnsafePointer<Float>, ldu: Int, p: Int,
                                     v: UnsafePointer<Float>, ldv: Int, q: Int,
                                     d: UnsafeMutablePointer<Float>, du: Int, dv: Int) {
        let block = 64
        var r0 = 0
        while r0 < m {
            let r1 = Swift.min(r0 + block, m)
            if q % 32 != 0 {
                outerTile6x16(r0, r1, u, ldu, 0, p, v, ldv, q, d, du, dv)
            } else {
                // 6-row tiles, then a remainder of 2 or 4 values of u in 2-row tiles rather than a
                // 6-row tile with repeats (W̄ 64×64: 64 values, not 66); 1, 3, 5 stay in the 6-row tile.
                let rest = p % 6
                let split = p < 6 ? 0 : (rest == 2 || rest == 4 ? p - rest : p)
                if split > 0 { outerTile6x16(r0, r1, u, ldu, 0, split, v, ldv, q, d, du, dv) }
                if split < p { outerTile2x32(r0, r1, u, ldu, split, p, v, ldv, q, d, du, dv) }
            }
            r0 = r1
        }
    }

    @inline(__always)
    private static func loadD(_ d: UnsafeMutablePointer<Float>, _ dv: Int) -> V {
        if dv == 1 { return load(d) }
        var x = V()
        for l in 0..<8 { x[l] = d[l * dv] }
        return x
    }

    @inline(__always)
    private static func storeD(_ x: V, _ d: UnsafeMutablePointer<Float>, _ dv: Int) {
        if dv == 1 { store(x, d); return }
        for l in 0..<8 { d[l * dv] = x[l] }
    }

    /// D rows (values of u) i0 ..< p.
    private static func outerTile6x16(_ r0: Int, _ r1: Int, _ u: UnsafePointer<Float>, _ ldu: Int, _ i0: Int, _ p: Int,
                                      _ v: UnsafePointer<Float>, _ ldv: Int, _ q: Int,
                                      _ d: UnsafeMutablePointer<Float>, _ du: Int, _ dv: Int) {
        var i = i0
        while i < p {
            let last = p - 1
            let u1 = Swift.min(i + 1, last), u2 = Swift.min(i + 2, last), u3 = Swift.min(i + 3, last)
            let u4 = Swift.min(i + 4, last), u5 = Swift.min(i + 5, last)
            let valid = Swift.min(6, p - i)
            var j = 0
            while j < q {
                let d0 = d + i * du + j * dv, d1 = d + u1 * du + j * dv, d2 = d + u2 * du + j * dv
                let d3 = d + u3 * du + j * dv, d4 = d + u4 * du + j * dv, d5 = d + u5 * du + j * dv
                let h = 8 * dv
                var c00 = loadD(d0, dv), c01 = loadD(d0 + h, dv), c10 = loadD(d1, dv), c11 = loadD(d1 + h, dv)
                var c20 = loadD(d2, dv), c21 = loadD(d2 + h, dv), c30 = loadD(d3, dv), c31 = loadD(d3 + h, dv)
                var c40 = loadD(d4, dv), c41 = loadD(d4 + h, dv), c50 = loadD(d5, dv), c51 = loadD(d5 + h, dv)
                var ur = u + r0 * ldu, vr = v + r0 * ldv + j
                for _ in r0..<r1 {
                    let b0 = load(vr), b1 = load(vr + 8)
                    var x = V(repeating: ur[i]); madd(&c00, x, b0); madd(&c01, x, b1)
                    x = V(repeating: ur[u1]); madd(&c10, x, b0); madd(&c11, x, b1)
                    x = V(repeating: ur[u2]); madd(&c20, x, b0); madd(&c21, x, b1)
                    x = V(repeating: ur[u3]); madd(&c30, x, b0); madd(&c31, x, b1)
                    x = V(repeating: ur[u4]); madd(&c40, x, b0); madd(&c41, x, b1)
                    x = V(repeating: ur[u5]); madd(&c50, x, b0); madd(&c51, x, b1)
                    ur += ldu; vr += ldv
                }
                storeD(c00, d0, dv); storeD(c01, d0 + h, dv)
                if valid > 1 { storeD(c10, d1, dv); storeD(c11, d1 + h, dv) }
                if valid > 2 { storeD(c20, d2, dv); storeD(c21, d2 + h, dv) }
                if valid > 3 { storeD(c30, d3, dv); storeD(c31, d3 + h, dv) }
                if valid > 4 { storeD(c40, d4, dv); storeD(c41, d4 + h, dv) }
                if valid > 5 { storeD(c50, d5, dv); storeD(c51, d5 + h, dv) }
                j += 16
            }
            i += 6
        }
    }

    /// D rows (values of u) i0 ..< p.
    private static func outerTile2x32(_ r0: Int, _ r1: Int, _ u: UnsafePointer<Float>, _ ldu: Int, _ i0: Int, _ p: Int,
                                      _ v: UnsafePointer<Float>, _ ldv: Int, _ q: Int,
                                      _ d: UnsafeMutablePointer<Float>, _ du: Int, _ dv: Int) {
        var i = i0
        while i < p {
            let u1 = Swift.min(i + 1, p - 1)
            let valid = Swift.min(2, p - i)
            var j = 0
            while j < q {
                let d0 = d + i * du + j * dv, d1 = d + u1 * du + j * dv
                let h = 8 * dv
                var c00 = loadD(d0, dv), c01 = loadD(d0 + h, dv), c02 = loadD(d0 + 2 * h, dv), c03 = loadD(d0 + 3 * h, dv)
                var c10 = loadD(d1, dv), c11 = loadD(d1 + h, dv), c12 = loadD(d1 + 2 * h, dv), c13 = loadD(d1 + 3 * h, dv)
                var ur = u + r0 * ldu, vr = v + r0 * ldv + j
                for _ in r0..<r1 {
                    let b0 = load(vr), b1 = load(vr + 8), b2 = load(vr + 16), b3 = load(vr + 24)
                    var x = V(repeating: ur[i]); madd(&c00, x, b0); madd(&c01, x, b1); madd(&c02, x, b2); madd(&c03, x, b3)
                    x = V(repeating: ur[u1]); madd(&c10, x, b0); madd(&c11, x, b1); madd(&c12, x, b2); madd(&c13, x, b3)
                    ur += ldu; vr += ldv
                }
                storeD(c00, d0, dv); storeD(c01, d0 + h, dv); storeD(c02, d0 + 2 * h, dv); storeD(c03, d0 + 3 * h, dv)
                if valid > 1 {
                    storeD(c10, d1, dv); storeD(c11, d1 + h, dv); storeD(c12, d1 + 2 * h, dv); storeD(c13, d1 + 3 * h, dv)
                }
                j += 32
            }
            i += 2
        }
    }
}
