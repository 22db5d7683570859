/*
 * AVX-512 versions of cnf's float32 small-matrix kernels (see CKernels.h and
 * Sources/Networks/Kernels/SmallProducts.swift, whose SIMD8 kernels they mirror bit for bit),
 * and of the fused layers' gate, bias and activation epilogue (DualLayer+Fused.swift).
 *
 * Why C, and not a Swift target compiled with an AVX-512 -target-cpu (both measured on the
 * AMD EPYC Zen 5 these numbers come from):
 * - Safety. A Swift module emits the stdlib generics it specializes (Array, sort, …) as weak
 *   symbols, and every module that specializes the same one emits the same symbol; the linker
 *   keeps one copy. In a two-target experiment (one module with -target-cpu znver4, one with
 *   haswell and -cross-module-optimization, as cnf's `hot` modules) both objects defined 17
 *   identical weak specializations, and the znver4 copy of `_stableSortImpl` held EVEX
 *   (AVX-512) instructions: which copy the haswell code calls is up to link order, and an
 *   AVX2-only CPU would fault in it. Here every function that may contain an AVX-512
 *   instruction carries `target("avx512f,avx512vl,fma")` and is `static` or an entry point
 *   that Swift calls through the C ABI (Swift cannot inline a C body from a .c file; no LTO),
 *   the file is compiled without any -m flag, and `cnf_avx512_supported` is baseline x86-64.
 *   `objdump -d` of the release `cnf`: EVEX instructions occur in this file's kernels only
 *   (the cnf_avx512_* kernels and row_product), none elsewhere.
 * - Speed. The same 6×64 tile in Swift (`SIMD16<Float>`, `addProduct`, znver4): 218 GFLOP/s
 *   on 1000×64·64×64; this file's: 259. Intrinsics also give the exact instructions where
 *   the bits depend on them (the reduction tree, NaN-preserving selects).
 *
 * Bits: each output is the same chain of single-rounding FMAs (vfmadd…ps) in the same order
 * as the Swift kernels; the tile shapes differ (wider vectors, more rows or columns per tile),
 * which changes only which element is computed when, never its arithmetic. Every separate
 * multiply and add (the row-dot tail, the activations) stays unfused, as in Swift: hence
 * FP_CONTRACT OFF, and intrinsics for every vector operation.
 *
 * Off x86-64 (arm64) only `cnf_avx512_supported` is compiled, returning 0: the Swift SIMD8
 * kernels are the portable path.
 */
#pragma STDC FP_CONTRACT OFF

#include "CKernels.h"

/* Per-thread scratch for packed weights (Wᵀ): 64-byte aligned, in thread-local storage, so the
 * kernels allocate nothing per call (withUnsafeTemporaryAllocation put 16 KB on the heap, and
 * anything 64-byte aligned, whatever its size). */
enum { SCRATCH_FLOATS = 8192 };
static _Thread_local float scratch[SCRATCH_FLOATS] __attribute__((aligned(64)));

float *cnf_kernel_scratch(long count) { return count <= SCRATCH_FLOATS ? scratch : 0; }

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>

int cnf_avx512_supported(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned fma = 1u << 12, osxsave = 1u << 27;
    if ((c & fma) == 0 || (c & osxsave) == 0) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    /* XCR0: SSE (1), AVX (2), opmask (5), ZMM0–15 upper halves (6), ZMM16–31 (7). */
    if ((lo & 0xE6u) != 0xE6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned avx512f = 1u << 16, avx512vl = 1u << 31;
    return (b & avx512f) != 0 && (b & avx512vl) != 0;
}

#define AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define UNROLL _Pragma("clang loop unroll(full)")
#define INLINE static inline __attribute__((always_inline))

static inline long min_long(long x, long y) { return x < y ? x : y; }

/* ---------------------------------------------------------------------------------------- */
/* rowProduct: C = A·B                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* Rows per tile of the row product and the outer product: 6 rows × up to 4 ZMM (64 columns)
 * is 24 accumulators + 4 of B + 1 broadcast of the 32 registers; per step of k, 4 loads of
 * B and 6 broadcasts feed 24 FMAs. */
enum { TILE_ROWS = 6, TILE_VECTORS = 4 };

/* C[rows, j ..< j + 16·nv] for the `rows` (≤ 6) row pointers ar. The last vector is masked by
 * `mask` (8 columns when n % 16 == 8). rows and nv are constants after inlining, so the
 * accumulators stay in registers. A last tile of fewer than six rows computes only those rows
 * (each row's FMA chain is the same whatever tile it sits in). */
INLINE AVX512 void row_tile(const int rows, const int nv, long k, const float *const *ar, const float *b, long ldb,
                            __mmask16 mask, float *const *cr) {
    __m512 acc[TILE_ROWS][TILE_VECTORS];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    const float *bp = b;
    for (long p = 0; p < k; p++) {
        __m512 bv[TILE_VECTORS];
        for (int v = 0; v < nv - 1; v++) bv[v] = _mm512_loadu_ps(bp + 16 * v);
        bv[nv - 1] = _mm512_maskz_loadu_ps(mask, bp + 16 * (nv - 1));
        for (int r = 0; r < rows; r++) {
            const __m512 x = _mm512_set1_ps(ar[r][p]);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
        bp += ldb;
    }
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(cr[r] + 16 * v, acc[r][v]);
        _mm512_mask_storeu_ps(cr[r] + 16 * (nv - 1), mask, acc[r][nv - 1]);
    }
}

/* One tile row (`rows` rows from ar/cr) across all n columns, in panels of up to 64. */
INLINE AVX512 void row_tiles(const int rows, long n, long k, const float *const *ar, const float *b, long ldb,
                             float *const *cr) {
    for (long j = 0; j < n; j += 16 * TILE_VECTORS) {
        const long width = min_long(16 * TILE_VECTORS, n - j);
        const int nv = (int)((width + 15) / 16);
        const __mmask16 mask = (width % 16) ? (__mmask16)((1u << (width % 16)) - 1) : (__mmask16)0xFFFF;
        float *cj[TILE_ROWS];
        for (int r = 0; r < rows; r++) cj[r] = cr[r] + j;
        switch (nv) {
        case 4: row_tile(rows, 4, k, ar, b + j, ldb, mask, cj); break;
        case 3: row_tile(rows, 3, k, ar, b + j, ldb, mask, cj); break;
        case 2: row_tile(rows, 2, k, ar, b + j, ldb, mask, cj); break;
        default: row_tile(rows, 1, k, ar, b + j, ldb, mask, cj); break;
        }
    }
}

static AVX512 void row_product(long m, long n, long k, const float *a, long lda,
                               const float *b, long ldb, float *c, long ldc) {
    for (long i = 0; i < m; i += TILE_ROWS) {
        const int valid = (int)min_long(TILE_ROWS, m - i);
        const float *ar[TILE_ROWS];
        float *cr[TILE_ROWS];
        for (int r = 0; r < valid; r++) {
            ar[r] = a + (i + r) * lda;
            cr[r] = c + (i + r) * ldc;
        }
        switch (valid) {
        case 6: row_tiles(6, n, k, ar, b, ldb, cr); break;
        case 5: row_tiles(5, n, k, ar, b, ldb, cr); break;
        case 4: row_tiles(4, n, k, ar, b, ldb, cr); break;
        case 3: row_tiles(3, n, k, ar, b, ldb, cr); break;
        case 2: row_tiles(2, n, k, ar, b, ldb, cr); break;
        default: row_tiles(1, n, k, ar, b, ldb, cr); break;
        }
    }
}

AVX512 void cnf_avx512_row_product(long m, long n, long k, const float *a, long lda,
                                   const float *b, long ldb, float *c, long ldc) {
    row_product(m, n, k, a, lda, b, ldb, c, ldc);
}

/* Bᵀ for the row kernels: dst[c·ldd + r] = src[r·lds + c], 16×16 blocks in registers (unpack,
 * 128-bit-lane shuffle, then two rounds of 128-bit-block shuffles: 64 shuffles, 16 loads and 16
 * stores per block), the edges element by element. Moves bits only. */
static AVX512 void transpose_block(const float *src, long lds, float *dst, long ldd) {
    __m512 r[16], a[16], b[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* b[4i + c], c < 4: rows 4i…4i+3 of columns c, c+4, c+8, c+12 (one per 128-bit block). */
    for (int i = 0; i < 4; i++) {
        b[4 * i] = _mm512_shuffle_ps(a[4 * i], a[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        b[4 * i + 1] = _mm512_shuffle_ps(a[4 * i], a[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        b[4 * i + 2] = _mm512_shuffle_ps(a[4 * i + 1], a[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        b[4 * i + 3] = _mm512_shuffle_ps(a[4 * i + 1], a[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c++) {
        const __m512 t0 = _mm512_shuffle_f32x4(b[c], b[4 + c], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 t1 = _mm512_shuffle_f32x4(b[c], b[4 + c], _MM_SHUFFLE(3, 1, 3, 1));
        const __m512 t2 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 t3 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], _MM_SHUFFLE(3, 1, 3, 1));
        _mm512_storeu_ps(dst + c * ldd, _mm512_shuffle_f32x4(t0, t2, _MM_SHUFFLE(2, 0, 2, 0)));
        _mm512_storeu_ps(dst + (c + 4) * ldd, _mm512_shuffle_f32x4(t1, t3, _MM_SHUFFLE(2, 0, 2, 0)));
        _mm512_storeu_ps(dst + (c + 8) * ldd, _mm512_shuffle_f32x4(t0, t2, _MM_SHUFFLE(3, 1, 3, 1)));
        _mm512_storeu_ps(dst + (c + 12) * ldd, _mm512_shuffle_f32x4(t1, t3, _MM_SHUFFLE(3, 1, 3, 1)));
    }
}

AVX512 void cnf_avx512_transpose(long rows, long cols, const float *src, long lds, float *dst, long ldd) {
    const long full_rows = rows & ~15L, full_cols = cols & ~15L;
    for (long r = 0; r < full_rows; r += 16)
        for (long c = 0; c < full_cols; c += 16) transpose_block(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    for (long r = 0; r < rows; r++)
        for (long c = r < full_rows ? full_cols : 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}

/* ---------------------------------------------------------------------------------------- */
/* Fused layer rows: the product, then gate, bias and activation on 16 lanes                */
/* ---------------------------------------------------------------------------------------- */

/* The activations of Sources/Networks/FastMath.swift and Activation.swift (TanhLanes, …),
 * operation for operation: the same constants (bit patterns checked), every product and sum
 * rounded separately (FP_CONTRACT OFF; no FMA), clamps by compare-and-select (a NaN passes
 * through as in Swift's `replace(with:where:)`), so each lane is the same bits as Swift's
 * eight-lane version. Lanes are independent, so 16 at a time changes nothing. */

INLINE AVX512 __m512 splat(float x) { return _mm512_set1_ps(x); }
INLINE AVX512 __m512 mul(__m512 x, __m512 y) { return _mm512_mul_ps(x, y); }
INLINE AVX512 __m512 add(__m512 x, __m512 y) { return _mm512_add_ps(x, y); }
INLINE AVX512 __m512 sub(__m512 x, __m512 y) { return _mm512_sub_ps(x, y); }
/* x.replacing(with: value, where: mask) */
INLINE AVX512 __m512 replacing(__m512 x, __m512 value, __mmask16 where) { return _mm512_mask_blend_ps(where, x, value); }
INLINE AVX512 __mmask16 less(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_LT_OQ); }
INLINE AVX512 __mmask16 greater(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_GT_OQ); }
INLINE AVX512 __mmask16 greater_equal(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_GE_OQ); }
/* Swift's prefix minus on SIMD vectors is 0 − x (not a sign flip): −(+0) = +0, and a NaN
 * keeps its sign. */
INLINE AVX512 __m512 negate(__m512 x) { return _mm512_sub_ps(_mm512_setzero_ps(), x); }
INLINE AVX512 __m512 absolute(__m512 x) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7FFFFFFF)));
}

/* FastMath.exp */
INLINE AVX512 __m512 fast_exp(__m512 input) {
    __m512 x = input;
    x = replacing(x, splat(-87.3f), less(x, splat(-87.3f)));
    x = replacing(x, splat(88.7f), greater(x, splat(88.7f)));
    const __m512 magic = splat(12582912.0f);
    const __m512 shifted = add(mul(x, splat(1.44269504f)), magic);
    const __m512 n = sub(shifted, magic);
    __m512 r = sub(x, mul(n, splat(0.693359375f)));
    r = sub(r, mul(n, splat(-2.1219444e-4f)));
    const __m512 r2 = mul(r, r);
    __m512 p = splat(1.98756915e-4f);
    p = add(mul(p, r), splat(1.39819995e-3f));
    p = add(mul(p, r), splat(8.3334519e-3f));
    p = add(mul(p, r), splat(4.16657959e-2f));
    p = add(mul(p, r), splat(1.66666655e-1f));
    p = add(mul(p, r), splat(5.00000012e-1f));
    const __m512 er = add(add(mul(p, r2), r), splat(1.0f));
    const __m512i n32 = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n32, _mm512_set1_epi32(127)), 23));
    return mul(er, scale);
}

/* FastMath.tanh */
INLINE AVX512 __m512 fast_tanh(__m512 input) {
    __m512 x = input;
    x = replacing(x, splat(-7.905311107635498f), less(x, splat(-7.905311107635498f)));
    x = replacing(x, splat(7.905311107635498f), greater(x, splat(7.905311107635498f)));
    const __m512 z = mul(x, x);
    __m512 p = splat(-2.76076847742355e-16f);
    p = add(mul(p, z), splat(2.00018790482477e-13f));
    p = sub(mul(p, z), splat(8.60467152213735e-11f));
    p = add(mul(p, z), splat(5.12229709037114e-08f));
    p = add(mul(p, z), splat(1.48572235717979e-05f));
    p = add(mul(p, z), splat(6.37261928875436e-04f));
    p = add(mul(p, z), splat(4.89352455891786e-03f));
    __m512 q = splat(1.19825839466702e-06f);
    q = add(mul(q, z), splat(1.18534705686654e-04f));
    q = add(mul(q, z), splat(2.26843463243900e-03f));
    q = add(mul(q, z), splat(4.89352518554385e-03f));
    return _mm512_div_ps(mul(x, p), q);
}

/* σ, σ', σ'' of `activation` (a constant after inlining). */
INLINE AVX512 void activate(const cnf_activation activation, __m512 a, __m512 *y, __m512 *s, __m512 *c) {
    const __m512 one = splat(1.0f), zero = _mm512_setzero_ps();
    switch (activation) {
    case CNF_ACTIVATION_TANH: { /* TanhLanes */
        *y = fast_tanh(a);
        *s = sub(one, mul(*y, *y));
        *c = mul(mul(splat(-2.0f), *y), *s);
        return;
    }
    case CNF_ACTIVATION_SOFTPLUS: { /* SoftplusLanes (log1p per lane through libm, as Swift) */
        const __m512 e = fast_exp(negate(absolute(a)));
        const __mmask16 positive = greater_equal(a, zero);
        *s = _mm512_div_ps(replacing(one, e, (__mmask16)~positive), add(one, e));
        __m512 v = replacing(a, zero, (__mmask16)~positive);
        float lanes[16], ex[16];
        _mm512_storeu_ps(lanes, v);
        _mm512_storeu_ps(ex, e);
        for (int j = 0; j < 16; j++) lanes[j] += log1pf(ex[j]);
        *y = _mm512_loadu_ps(lanes);
        *c = mul(*s, sub(one, *s));
        return;
    }
    case CNF_ACTIVATION_ELU: { /* ELULanes */
        const __mmask16 positive = greater(a, zero);
        const __m512 e = fast_exp(replacing(a, zero, positive));
        *y = replacing(sub(e, one), a, positive);
        *s = replacing(e, one, positive);
        *c = replacing(e, zero, positive);
        return;
    }
    case CNF_ACTIVATION_SWISH: { /* SwishLanes */
        const __m512 sg = _mm512_div_ps(one, add(one, fast_exp(negate(a))));
        const __m512 t = sub(one, sg);
        *y = mul(a, sg);
        *s = mul(sg, add(one, mul(a, t)));
        *c = mul(mul(sg, t), add(splat(2.0f), mul(a, sub(one, mul(splat(2.0f), sg)))));
        return;
    }
    default:
        *y = a;
        *s = zero;
        *c = zero;
        return;
    }
}

/* FusedPrimalRows on nv vectors of row i from column j (the last masked by `last`): h = acc + b
 * (→ affine), a = h ⊙ g + c, y = σ(a) (→ output), σ' (→ slope), σ'' (→ curvature). nv is a
 * constant after inlining: the nv activations are independent chains that overlap (one tanh is
 * a ~50-cycle chain through its polynomial and division; one at a time left the pass
 * latency-bound). */
INLINE AVX512 void primal_vectors(const cnf_activation activation, const int store_affine, const int store_slope,
                                  const int store_curvature, const int nv, long i, long j, long n, __mmask16 last,
                                  const cnf_fused_rows *e) {
    __m512 a[TILE_VECTORS];
    UNROLL for (int v = 0; v < nv; v++) {
        const __mmask16 mask = v == nv - 1 ? last : (__mmask16)0xFFFF;
        const long o = i * n + j + 16 * v;
        const __m512 h = add(_mm512_maskz_loadu_ps(mask, e->output + o), _mm512_maskz_loadu_ps(mask, e->bias + j + 16 * v));
        if (store_affine) _mm512_mask_storeu_ps(e->affine + o, mask, h);
        a[v] = add(mul(h, _mm512_maskz_loadu_ps(mask, e->gate + j + 16 * v)), _mm512_maskz_loadu_ps(mask, e->shift + j + 16 * v));
    }
    UNROLL for (int v = 0; v < nv; v++) {
        const __mmask16 mask = v == nv - 1 ? last : (__mmask16)0xFFFF;
        const long o = i * n + j + 16 * v;
        if (activation == CNF_ACTIVATION_NONE) {
            _mm512_mask_storeu_ps(e->output + o, mask, a[v]);
            continue;
        }
        __m512 y, s, c;
        activate(activation, a[v], &y, &s, &c);
        _mm512_mask_storeu_ps(e->output + o, mask, y);
        if (store_slope) _mm512_mask_storeu_ps(e->slope + o, mask, s);
        if (store_curvature) _mm512_mask_storeu_ps(e->curvature + o, mask, c);
    }
}

/* FusedPrimalRows on rows [i0, i1) of the n-wide output, which holds the raw product: each
 * row in panels of 64 columns (four vectors at once), then one vector at a time. */
INLINE AVX512 void primal_pass(const cnf_activation activation, const int store_affine, const int store_slope,
                               const int store_curvature, long i0, long i1, long n, const cnf_fused_rows *rows) {
    /* A local copy: the stores through its float pointers cannot change it, so they stay in registers. */
    const cnf_fused_rows local = *rows, *e = &local;
    for (long i = i0; i < i1; i++) {
        long j = 0;
        for (; j + 64 <= n; j += 64)
            primal_vectors(activation, store_affine, store_slope, store_curvature, 4, i, j, n, (__mmask16)0xFFFF, e);
        for (; j < n; j += 16) {
            const __mmask16 mask = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            primal_vectors(activation, store_affine, store_slope, store_curvature, 1, i, j, n, mask, e);
        }
    }
}

INLINE AVX512 void primal_pass_stores(const cnf_activation activation, int stores, long i0, long i1, long n,
                                      const cnf_fused_rows *e) {
    switch (stores) {
    case 0: primal_pass(activation, 0, 0, 0, i0, i1, n, e); break;
    case CNF_STORE_SLOPE: primal_pass(activation, 0, 1, 0, i0, i1, n, e); break;
    case CNF_STORE_AFFINE | CNF_STORE_SLOPE | CNF_STORE_CURVATURE: primal_pass(activation, 1, 1, 1, i0, i1, n, e); break;
    default:
        primal_pass(activation, (stores & CNF_STORE_AFFINE) != 0, (stores & CNF_STORE_SLOPE) != 0,
                    (stores & CNF_STORE_CURVATURE) != 0, i0, i1, n, e);
    }
}

/* Rows per block: the block's raw product (48 × 64 floats, 12 KB) is still in L1 when the pass
 * reads it back. */
enum { FUSED_BLOCK = 48 };

AVX512 void cnf_avx512_fused_primal_rows(long m, long n, long k, const float *a, long lda,
                                         const float *b, long ldb, cnf_activation activation, int stores,
                                         const cnf_fused_rows *e) {
    for (long i0 = 0; i0 < m; i0 += FUSED_BLOCK) {
        const long i1 = min_long(i0 + FUSED_BLOCK, m);
        row_product(i1 - i0, n, k, a + i0 * lda, lda, b, ldb, e->output + i0 * n, n);
        switch (activation) {
        case CNF_ACTIVATION_TANH: primal_pass_stores(CNF_ACTIVATION_TANH, stores, i0, i1, n, e); break;
        case CNF_ACTIVATION_SOFTPLUS: primal_pass_stores(CNF_ACTIVATION_SOFTPLUS, stores, i0, i1, n, e); break;
        case CNF_ACTIVATION_ELU: primal_pass_stores(CNF_ACTIVATION_ELU, stores, i0, i1, n, e); break;
        case CNF_ACTIVATION_SWISH: primal_pass_stores(CNF_ACTIVATION_SWISH, stores, i0, i1, n, e); break;
        default: primal_pass_stores(CNF_ACTIVATION_NONE, stores, i0, i1, n, e); break;
        }
    }
}

/* FusedTangentRows: h = acc (→ affine), ẏ = σ'(a) ⊙ (h ⊙ g) with σ'(a) of the same sample
 * (slope_in), or h ⊙ g without activation. */
INLINE AVX512 void tangent_pass(const int activated, const int store_affine, long i0, long i1, long n,
                                const cnf_fused_rows *rows) {
    const cnf_fused_rows local = *rows, *e = &local;
    for (long i = i0; i < i1; i++) {
        for (long j = 0; j < n; j += 16) {
            const __mmask16 mask = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            const long o = i * n + j;
            const __m512 h = _mm512_maskz_loadu_ps(mask, e->output + o);
            if (store_affine) _mm512_mask_storeu_ps(e->affine + o, mask, h);
            const __m512 a = mul(h, _mm512_maskz_loadu_ps(mask, e->gate + j));
            _mm512_mask_storeu_ps(e->output + o, mask, activated ? mul(_mm512_maskz_loadu_ps(mask, e->slope_in + o), a) : a);
        }
    }
}

AVX512 void cnf_avx512_fused_tangent_rows(long m, long n, long k, const float *a, long lda,
                                          const float *b, long ldb, int activated, int stores,
                                          const cnf_fused_rows *e) {
    const int store_affine = (stores & CNF_STORE_AFFINE) != 0;
    for (long i0 = 0; i0 < m; i0 += FUSED_BLOCK) {
        const long i1 = min_long(i0 + FUSED_BLOCK, m);
        row_product(i1 - i0, n, k, a + i0 * lda, lda, b, ldb, e->output + i0 * n, n);
        if (activated) {
            if (store_affine) tangent_pass(1, 1, i0, i1, n, e); else tangent_pass(1, 0, i0, i1, n, e);
        } else {
            if (store_affine) tangent_pass(0, 1, i0, i1, n, e); else tangent_pass(0, 0, i0, i1, n, e);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The backward element-wise pass of a layer                                                 */
/* ---------------------------------------------------------------------------------------- */

/* One panel of nv strips of 16 columns from j (the last strip masked by `last` at the right
 * edge) over all m rows: the column sums ḡ, c̄, Σh̄ stay in registers across the rows (nv
 * independent chains each), and each element is the chain of DualLayer.backward's Swift loops
 * (see CKernels.h), lanes being columns. nv, and k for k ≤ 2 (Hutchinson: 1; exact in 2-D: 2),
 * are constants after inlining, so the loops over them unroll and the arrays live in registers. */
INLINE AVX512 void backward_panel(const int squash, const int activated, const int nv, const long k, long m, long n,
                                  long j, __mmask16 last, const cnf_backward_rows *e) {
    const float *restrict ybar = e->ybar + j, *restrict affine = e->affine + j, *restrict slope = e->slope + j;
    const float *restrict curvature = e->curvature + j;
    float *restrict hbar = e->hbar + j;
    const long block = m * n; /* one tangent block's rows */
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 mk[TILE_VECTORS];
    __m512 g[TILE_VECTORS], gb[TILE_VECTORS], cb[TILE_VECTORS], bb[TILE_VECTORS];
    UNROLL for (int v = 0; v < nv; v++) {
        mk[v] = v == nv - 1 ? last : (__mmask16)0xFFFF;
        g[v] = squash ? _mm512_maskz_loadu_ps(mk[v], e->gate + j + 16 * v) : zero;
        gb[v] = zero;
        cb[v] = zero;
        bb[v] = zero;
    }
    for (long o = 0; o < block; o += n) {
        UNROLL for (int v = 0; v < nv; v++) {
            const long ov = o + 16 * v;
            const __m512 y = _mm512_maskz_loadu_ps(mk[v], ybar + ov);
            __m512 s = zero, abar = y;
            if (activated) {
                s = _mm512_maskz_loadu_ps(mk[v], slope + ov);
                __m512 d = zero;
                for (long r = ov + block, b = 1; b <= k; b++, r += block)
                    d = add(mul(_mm512_maskz_loadu_ps(mk[v], affine + r), _mm512_maskz_loadu_ps(mk[v], ybar + r)), d);
                if (squash && k > 0) d = mul(d, g[v]);
                abar = add(mul(s, y), mul(_mm512_maskz_loadu_ps(mk[v], curvature + ov), d));
            }
            __m512 hb = abar;
            if (squash) {
                gb[v] = add(mul(abar, _mm512_maskz_loadu_ps(mk[v], affine + ov)), gb[v]);
                cb[v] = add(abar, cb[v]);
                hb = mul(abar, g[v]);
            }
            _mm512_mask_storeu_ps(hbar + ov, mk[v], hb);
            bb[v] = add(hb, bb[v]);
            for (long r = ov + block, b = 1; b <= k; b++, r += block) {
                const __m512 yk = _mm512_maskz_loadu_ps(mk[v], ybar + r);
                const __m512 t = activated ? mul(s, yk) : yk;
                if (squash) {
                    gb[v] = add(mul(t, _mm512_maskz_loadu_ps(mk[v], affine + r)), gb[v]);
                    _mm512_mask_storeu_ps(hbar + r, mk[v], mul(t, g[v]));
                } else {
                    _mm512_mask_storeu_ps(hbar + r, mk[v], t);
                }
            }
        }
    }
    UNROLL for (int v = 0; v < nv; v++) {
        _mm512_mask_storeu_ps(e->gate_bar + j + 16 * v, mk[v], gb[v]);
        _mm512_mask_storeu_ps(e->shift_bar + j + 16 * v, mk[v], cb[v]);
        _mm512_mask_storeu_ps(e->bias_bar + j + 16 * v, mk[v], bb[v]);
    }
}

INLINE AVX512 void backward_panels(const int squash, const int activated, const long k, long m, long n,
                                   const cnf_backward_rows *e) {
    for (long j = 0; j < n; j += 16 * TILE_VECTORS) {
        const long width = min_long(16 * TILE_VECTORS, n - j);
        const __mmask16 last = (width % 16) ? (__mmask16)((1u << (width % 16)) - 1) : (__mmask16)0xFFFF;
        switch ((width + 15) / 16) {
        case 4: backward_panel(squash, activated, 4, k, m, n, j, last, e); break;
        case 3: backward_panel(squash, activated, 3, k, m, n, j, last, e); break;
        case 2: backward_panel(squash, activated, 2, k, m, n, j, last, e); break;
        default: backward_panel(squash, activated, 1, k, m, n, j, last, e); break;
        }
    }
}

INLINE AVX512 void backward_panels_k(const int squash, const int activated, long k, long m, long n,
                                     const cnf_backward_rows *e) {
    switch (k) {
    case 0: backward_panels(squash, activated, 0, m, n, e); break;
    case 1: backward_panels(squash, activated, 1, m, n, e); break;
    case 2: backward_panels(squash, activated, 2, m, n, e); break;
    default: backward_panels(squash, activated, k, m, n, e); break;
    }
}

AVX512 void cnf_avx512_backward_rows(long m, long n, long k, int squash, int activated, const cnf_backward_rows *e) {
    if (squash) {
        if (activated) backward_panels_k(1, 1, k, m, n, e); else backward_panels_k(1, 0, k, m, n, e);
    } else {
        if (activated) backward_panels_k(0, 1, k, m, n, e); else backward_panels_k(0, 0, k, m, n, e);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* rowDotProduct: C = A·Bᵀ for a few columns                                                */
/* ---------------------------------------------------------------------------------------- */

/* Two rows' eight lanes side by side: [x0[0..8) | x1[0..8)]. */
INLINE AVX512 __m512 row_pair(const float *x0, const float *x1) {
    const __m512d low = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(x0)));
    return _mm512_castpd_ps(_mm512_insertf64x4(low, _mm256_castps_pd(_mm256_loadu_ps(x1)), 1));
}

/* The same eight lanes in both halves. */
INLINE AVX512 __m512 both_halves(const float *x) {
    return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(x))));
}

/* The lane sums of eight accumulators, each holding two 8-lane dots (low and high 256 bits),
 * in SmallProducts.sum's order: four[l] = v[l] + v[l+4], two[l] = four[l] + four[l+2],
 * two[0] + two[1]. Three rounds, each pairing two registers so that one shuffle pair and one
 * add serve both. Returns the 16 sums: lane 4·b + i is dot b of the 128-bit block order
 * [x.lo, x.hi, y.lo, y.hi] of pair i = (acc[2i], acc[2i+1]). */
INLINE AVX512 __m512 lane_sums(const __m512 acc[8]) {
    __m512 four[4];
    for (int i = 0; i < 4; i++) {
        const __m512 x = acc[2 * i], y = acc[2 * i + 1];
        /* blocks [x0, x2, y0, y2] + [x1, x3, y1, y3]: each dot's lanes 0–3 plus its lanes 4–7. */
        const __m512 even = _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 odd = _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1));
        four[i] = _mm512_add_ps(even, odd);
    }
    __m512 two[2];
    for (int i = 0; i < 2; i++) {
        /* per 128-bit block: [x0, x1, y0, y1] + [x2, x3, y2, y3]. */
        const __m512 x = four[2 * i], y = four[2 * i + 1];
        two[i] = _mm512_add_ps(_mm512_shuffle_ps(x, y, _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm512_shuffle_ps(x, y, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    /* per block: [x0, x2, y0, y2] + [x1, x3, y1, y3]. */
    return _mm512_add_ps(_mm512_shuffle_ps(two[0], two[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(two[0], two[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

enum { DOT_ROWS = 8 };

/* Eight rows (four pairs) × nc ≤ 4 columns: acc[c][q] holds rows 2q and 2q+1 of column c.
 * Per step of eight along k: four pair loads, nc broadcasts of B, 4·nc FMAs. */
INLINE AVX512 void dot_tile(const int nc, long k, const float *const *ar, const float *b, long ldb,
                            float *const *cr, int valid) {
    const long full = k & ~7L;
    __m512 acc[4][4];
    for (int c = 0; c < nc; c++)
        for (int q = 0; q < 4; q++) acc[c][q] = _mm512_setzero_ps();
    for (long p = 0; p < full; p += 8) {
        __m512 x[4];
        for (int q = 0; q < 4; q++) x[q] = row_pair(ar[2 * q] + p, ar[2 * q + 1] + p);
        for (int c = 0; c < nc; c++) {
            const __m512 w = both_halves(b + c * ldb + p);
            for (int q = 0; q < 4; q++) acc[c][q] = _mm512_fmadd_ps(x[q], w, acc[c][q]);
        }
    }
    /* Sums for columns (c, c + 1): register pairs (acc[c][0], acc[c][1]), (acc[c][2], acc[c][3]),
     * then the same of c + 1; zeros stand in for a missing c + 1. */
    float s[4][DOT_ROWS];
    for (int c = 0; c < nc; c += 2) {
        __m512 group[8];
        for (int q = 0; q < 4; q++) {
            group[q] = acc[c][q];
            group[4 + q] = c + 1 < nc ? acc[c + 1][q] : _mm512_setzero_ps();
        }
        float lanes[16];
        _mm512_storeu_ps(lanes, lane_sums(group));
        /* lane 4·b + i: pair i = 0, 1 → column c, rows 4i + b; pair i = 2, 3 → column c + 1, rows 4(i − 2) + b. */
        for (int bl = 0; bl < 4; bl++) {
            s[c][bl] = lanes[4 * bl + 0];
            s[c][4 + bl] = lanes[4 * bl + 1];
            if (c + 1 < nc) {
                s[c + 1][bl] = lanes[4 * bl + 2];
                s[c + 1][4 + bl] = lanes[4 * bl + 3];
            }
        }
    }
    for (int c = 0; c < nc; c++) {
        const float *bj = b + c * ldb;
        for (int r = 0; r < valid; r++) {
            float sum = s[c][r];
            for (long q = full; q < k; q++) sum += ar[r][q] * bj[q]; /* unfused, as in Swift */
            cr[r][c] = sum;
        }
    }
}

/* dot_tile for two columns stored side by side (n = ldc = 2, the 64 → 2 layer and the x̄ of
 * 2 → 64) and no k % 8 tail: the 16 sums of eight rows are C's 16 consecutive floats, put in
 * place by one permutation and one (masked) store instead of 16 scalar stores. */
INLINE AVX512 void dot_two_columns(long k, const float *const *ar, const float *b, long ldb, float *c, int valid) {
    __m512 acc[8];
    for (int q = 0; q < 8; q++) acc[q] = _mm512_setzero_ps();
    const float *b1 = b + ldb;
    for (long p = 0; p < k; p += 8) {
        __m512 x[4];
        for (int q = 0; q < 4; q++) x[q] = row_pair(ar[2 * q] + p, ar[2 * q + 1] + p);
        const __m512 w0 = both_halves(b + p), w1 = both_halves(b1 + p);
        for (int q = 0; q < 4; q++) {
            acc[q] = _mm512_fmadd_ps(x[q], w0, acc[q]);
            acc[4 + q] = _mm512_fmadd_ps(x[q], w1, acc[4 + q]);
        }
    }
    /* lane 4·b + i of the sums: (row b, column 0), (row 4 + b, column 0), (row b, column 1),
     * (row 4 + b, column 1) for i = 0…3; C[r, j] is float 2r + j of the block. */
    const __m512i order = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    const __m512 sums = _mm512_permutexvar_ps(order, lane_sums(acc));
    _mm512_mask_storeu_ps(c, (__mmask16)((1u << (2 * valid)) - 1), sums);
}

AVX512 void cnf_avx512_row_dot_product(long m, long n, long k, const float *a, long lda,
                                       const float *b, long ldb, float *c, long ldc) {
    const int pairs = n == 2 && ldc == 2 && (k & 7) == 0;
    for (long i = 0; i < m; i += DOT_ROWS) {
        const float *ar[DOT_ROWS];
        float *cr[DOT_ROWS];
        for (int r = 0; r < DOT_ROWS; r++) {
            const long row = min_long(i + r, m - 1);
            ar[r] = a + row * lda;
            cr[r] = c + row * ldc;
        }
        const int valid = (int)min_long(DOT_ROWS, m - i);
        if (pairs) {
            dot_two_columns(k, ar, b, ldb, c + i * 2, valid);
            continue;
        }
        for (long j = 0; j < n; j += 4) {
            float *cj[DOT_ROWS];
            for (int r = 0; r < DOT_ROWS; r++) cj[r] = cr[r] + j;
            switch (min_long(4, n - j)) {
            case 4: dot_tile(4, k, ar, b + j * ldb, ldb, cj, valid); break;
            case 3: dot_tile(3, k, ar, b + j * ldb, ldb, cj, valid); break;
            case 2: dot_tile(2, k, ar, b + j * ldb, ldb, cj, valid); break;
            default: dot_tile(1, k, ar, b + j * ldb, ldb, cj, valid); break;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* accumulateOuter: D += Uᵀ·V                                                               */
/* ---------------------------------------------------------------------------------------- */

INLINE AVX512 __m512 load_d(const float *d, long dv) {
    if (dv == 1) return _mm512_loadu_ps(d);
    float x[16];
    for (int l = 0; l < 16; l++) x[l] = d[l * dv];
    return _mm512_loadu_ps(x);
}

INLINE AVX512 void store_d(__m512 value, float *d, long dv) {
    if (dv == 1) { _mm512_storeu_ps(d, value); return; }
    float x[16];
    _mm512_storeu_ps(x, value);
    for (int l = 0; l < 16; l++) d[l * dv] = x[l];
}

/* D[i + x, y ..< y + 16·nv] for the `rows` (≤ 6) values x of u from i, over data rows
 * r0 ..< r1; dr[x] points at D[i + x, y]. rows and nv are constants after inlining. */
INLINE AVX512 void outer_tile(const int rows, const int nv, long r0, long r1,
                              const float *u, long ldu, long i,
                              const float *v, long ldv, float *const *dr, long dv) {
    __m512 acc[TILE_ROWS][TILE_VECTORS];
    for (int x = 0; x < rows; x++)
        for (int w = 0; w < nv; w++) acc[x][w] = load_d(dr[x] + 16 * w * dv, dv);
    const float *ur = u + r0 * ldu + i, *vr = v + r0 * ldv;
    for (long r = r0; r < r1; r++) {
        __m512 bv[TILE_VECTORS];
        for (int w = 0; w < nv; w++) bv[w] = _mm512_loadu_ps(vr + 16 * w);
        for (int x = 0; x < rows; x++) {
            const __m512 s = _mm512_set1_ps(ur[x]);
            for (int w = 0; w < nv; w++) acc[x][w] = _mm512_fmadd_ps(s, bv[w], acc[x][w]);
        }
        ur += ldu;
        vr += ldv;
    }
    for (int x = 0; x < rows; x++)
        for (int w = 0; w < nv; w++) store_d(acc[x][w], dr[x] + 16 * w * dv, dv);
}

/* The tiles of `rows` values of u from i × all q values of v, in panels of up to 64. */
INLINE AVX512 void outer_tiles(const int rows, long i, long r0, long r1, const float *u, long ldu,
                               const float *v, long ldv, long q, float *d, long du, long dv) {
    for (long j = 0; j < q; j += 16 * TILE_VECTORS) {
        float *dr[TILE_ROWS];
        for (int x = 0; x < rows; x++) dr[x] = d + (i + x) * du + j * dv;
        switch (min_long(TILE_VECTORS, (q - j) / 16)) {
        case 4: outer_tile(rows, 4, r0, r1, u, ldu, i, v + j, ldv, dr, dv); break;
        case 3: outer_tile(rows, 3, r0, r1, u, ldu, i, v + j, ldv, dr, dv); break;
        case 2: outer_tile(rows, 2, r0, r1, u, ldu, i, v + j, ldv, dr, dv); break;
        default: outer_tile(rows, 1, r0, r1, u, ldu, i, v + j, ldv, dr, dv); break;
        }
    }
}

/* One row block [r0, r1) in tiles of `rows` values of u × up to 64 values of v; a last
 * partial tile takes exactly the values left (each D element's chain is the same whatever
 * tile it sits in: one FMA per data row, in row order). */
INLINE AVX512 void outer_block(const int rows, long r0, long r1, const float *u, long ldu, long p,
                               const float *v, long ldv, long q, float *d, long du, long dv) {
    long i = 0;
    for (; i + rows <= p; i += rows) outer_tiles(rows, i, r0, r1, u, ldu, v, ldv, q, d, du, dv);
    switch (p - i) {
    case 0: break;
    case 5: outer_tiles(5, i, r0, r1, u, ldu, v, ldv, q, d, du, dv); break;
    case 4: outer_tiles(4, i, r0, r1, u, ldu, v, ldv, q, d, du, dv); break;
    case 3: outer_tiles(3, i, r0, r1, u, ldu, v, ldv, q, d, du, dv); break;
    case 2: outer_tiles(2, i, r0, r1, u, ldu, v, ldv, q, d, du, dv); break;
    default: outer_tiles(1, i, r0, r1, u, ldu, v, ldv, q, d, du, dv); break;
    }
}

AVX512 void cnf_avx512_accumulate_outer(long m, const float *u, long ldu, long p,
                                        const float *v, long ldv, long q,
                                        float *d, long du, long dv) {
    /* Rows in blocks of 64, as the Swift kernel: a block of U and V stays in L1 while every
     * tile passes over it; D goes to memory between blocks (exact: a store and a load). */
    const long block = 64;
    for (long r0 = 0; r0 < m; r0 += block) {
        const long r1 = min_long(r0 + block, m);
        /* dv == 1 (row-major D, W̄ of the 64-wide layers) as a constant: D moves straight
         * between memory and the accumulators (a run-time dv sent the tile setup through the stack). */
        if (dv == 1) {
            if (p > 2)
                outer_block(TILE_ROWS, r0, r1, u, ldu, p, v, ldv, q, d, du, 1);
            else
                outer_block(2, r0, r1, u, ldu, p, v, ldv, q, d, du, 1);
        } else {
            if (p > 2)
                outer_block(TILE_ROWS, r0, r1, u, ldu, p, v, ldv, q, d, du, dv);
            else
                outer_block(2, r0, r1, u, ldu, p, v, ldv, q, d, du, dv);
        }
    }
}

#else

int cnf_avx512_supported(void) { return 0; }

#endif
