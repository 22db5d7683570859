/*
 * AVX-512 versions of cnf's float32 small-matrix kernels (see CKernels.h and
 * Sources/Networks/Kernels/SmallProducts.swift, whose SIMD8 kernels they mirror bit for bit).
 *
 * Why C: the Swift modules are compiled for `-target-cpu haswell` with cross-module
 * optimization, so Swift code built for AVX-512 could be inlined (or, as a shared generic
 * specialization, linked) into code that runs on an AVX2-only CPU. Here every function that
 * may contain an AVX-512 instruction carries `target("avx512f,avx512vl,fma")` and is either
 * `static` or an entry point Swift calls through the C ABI (Swift cannot inline a C function
 * body from a .c file), and the file is compiled without any -m flag, so nothing outside those
 * functions can use AVX-512. Swift calls the entry points only when `cnf_avx512_supported()`.
 *
 * Bits: each output is the same chain of single-rounding FMAs (vfmadd…ps) in the same order
 * as the Swift kernels; the tile shapes differ (wider vectors, more rows or columns per tile),
 * which changes only which element is computed when, never its arithmetic. Any separate
 * multiply and add (the row-dot tail) must stay unfused, as in Swift: hence FP_CONTRACT OFF.
 */
#pragma STDC FP_CONTRACT OFF

#include "CKernels.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

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
#define INLINE static inline __attribute__((always_inline))

static inline long min_long(long x, long y) { return x < y ? x : y; }

/* ---------------------------------------------------------------------------------------- */
/* rowProduct: C = A·B                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* Rows per tile of the row product and the outer product: 6 rows × up to 4 ZMM (64 columns)
 * is 24 accumulators + 4 of B + 1 broadcast of the 32 registers; per step of k, 4 loads of
 * B and 6 broadcasts feed 24 FMAs. */
enum { TILE_ROWS = 6, TILE_VECTORS = 4 };

/* C[rows, j ..< j + 16·nv] for the six row pointers ar (a repeated last row for a partial
 * tile; only `valid` rows are stored). The last vector is masked by `mask` (8 columns when
 * n % 16 == 8). nv is a constant after inlining, so the accumulators stay in registers. */
INLINE AVX512 void row_tile(const int nv, long k, const float *const *ar, const float *b, long ldb,
                            __mmask16 mask, float *const *cr, int valid) {
    __m512 acc[TILE_ROWS][TILE_VECTORS];
    for (int r = 0; r < TILE_ROWS; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    const float *bp = b;
    for (long p = 0; p < k; p++) {
        __m512 bv[TILE_VECTORS];
        for (int v = 0; v < nv - 1; v++) bv[v] = _mm512_loadu_ps(bp + 16 * v);
        bv[nv - 1] = _mm512_maskz_loadu_ps(mask, bp + 16 * (nv - 1));
        for (int r = 0; r < TILE_ROWS; r++) {
            const __m512 x = _mm512_set1_ps(ar[r][p]);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
        }
        bp += ldb;
    }
    for (int r = 0; r < TILE_ROWS; r++) {
        if (r >= valid) break;
        for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(cr[r] + 16 * v, acc[r][v]);
        _mm512_mask_storeu_ps(cr[r] + 16 * (nv - 1), mask, acc[r][nv - 1]);
    }
}

AVX512 void cnf_avx512_row_product(long m, long n, long k, const float *a, long lda,
                                   const float *b, long ldb, float *c, long ldc) {
    for (long i = 0; i < m; i += TILE_ROWS) {
        const float *ar[TILE_ROWS];
        float *cr[TILE_ROWS];
        for (int r = 0; r < TILE_ROWS; r++) {
            const long row = min_long(i + r, m - 1);
            ar[r] = a + row * lda;
            cr[r] = c + row * ldc;
        }
        const int valid = (int)min_long(TILE_ROWS, m - i);
        for (long j = 0; j < n; j += 16 * TILE_VECTORS) {
            const long width = min_long(16 * TILE_VECTORS, n - j);
            const int nv = (int)((width + 15) / 16);
            const __mmask16 mask = (width % 16) ? (__mmask16)((1u << (width % 16)) - 1) : (__mmask16)0xFFFF;
            float *cj[TILE_ROWS];
            for (int r = 0; r < TILE_ROWS; r++) cj[r] = cr[r] + j;
            const float *ak[TILE_ROWS];
            for (int r = 0; r < TILE_ROWS; r++) ak[r] = ar[r];
            switch (nv) {
            case 4: row_tile(4, k, ak, b + j, ldb, mask, cj, valid); break;
            case 3: row_tile(3, k, ak, b + j, ldb, mask, cj, valid); break;
            case 2: row_tile(2, k, ak, b + j, ldb, mask, cj, valid); break;
            default: row_tile(1, k, ak, b + j, ldb, mask, cj, valid); break;
            }
        }
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

AVX512 void cnf_avx512_row_dot_product(long m, long n, long k, const float *a, long lda,
                                       const float *b, long ldb, float *c, long ldc) {
    for (long i = 0; i < m; i += DOT_ROWS) {
        const float *ar[DOT_ROWS];
        float *cr[DOT_ROWS];
        for (int r = 0; r < DOT_ROWS; r++) {
            const long row = min_long(i + r, m - 1);
            ar[r] = a + row * lda;
            cr[r] = c + row * ldc;
        }
        const int valid = (int)min_long(DOT_ROWS, m - i);
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

/* D[x_r, y ..< y + 16·nv] for the `rows` (6 or 2) values x_r of ui, over data rows r0 ..< r1;
 * dr[x] points at D[x_r, y]. A partial tile repeats its last value of u (ui and dr); only the
 * first `valid` are stored. */
INLINE AVX512 void outer_tile(const int rows, const int nv, long r0, long r1,
                              const float *u, long ldu, const long *ui,
                              const float *v, long ldv, float *const *dr, long dv, long valid) {
    __m512 acc[TILE_ROWS][TILE_VECTORS];
    for (int x = 0; x < rows; x++)
        for (int w = 0; w < nv; w++) acc[x][w] = load_d(dr[x] + 16 * w * dv, dv);
    const float *ur = u + r0 * ldu, *vr = v + r0 * ldv;
    for (long r = r0; r < r1; r++) {
        __m512 bv[TILE_VECTORS];
        for (int w = 0; w < nv; w++) bv[w] = _mm512_loadu_ps(vr + 16 * w);
        for (int x = 0; x < rows; x++) {
            const __m512 s = _mm512_set1_ps(ur[ui[x]]);
            for (int w = 0; w < nv; w++) acc[x][w] = _mm512_fmadd_ps(s, bv[w], acc[x][w]);
        }
        ur += ldu;
        vr += ldv;
    }
    for (int x = 0; x < rows; x++) {
        if (x >= valid) break;
        for (int w = 0; w < nv; w++) store_d(acc[x][w], dr[x] + 16 * w * dv, dv);
    }
}

/* One row block [r0, r1) in tiles of `rows` values of u × up to 64 values of v. */
INLINE AVX512 void outer_block(const int rows, long r0, long r1, const float *u, long ldu, long p,
                               const float *v, long ldv, long q, float *d, long du, long dv) {
    for (long i = 0; i < p; i += rows) {
        long ui[TILE_ROWS];
        for (int x = 0; x < rows; x++) ui[x] = min_long(i + x, p - 1);
        const long valid = min_long(rows, p - i);
        for (long j = 0; j < q; j += 16 * TILE_VECTORS) {
            float *dr[TILE_ROWS];
            for (int x = 0; x < rows; x++) dr[x] = d + ui[x] * du + j * dv;
            switch (min_long(TILE_VECTORS, (q - j) / 16)) {
            case 4: outer_tile(rows, 4, r0, r1, u, ldu, ui, v + j, ldv, dr, dv, valid); break;
            case 3: outer_tile(rows, 3, r0, r1, u, ldu, ui, v + j, ldv, dr, dv, valid); break;
            case 2: outer_tile(rows, 2, r0, r1, u, ldu, ui, v + j, ldv, dr, dv, valid); break;
            default: outer_tile(rows, 1, r0, r1, u, ldu, ui, v + j, ldv, dr, dv, valid); break;
            }
        }
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
        if (p > 2)
            outer_block(TILE_ROWS, r0, r1, u, ldu, p, v, ldv, q, d, du, dv);
        else
            outer_block(2, r0, r1, u, ldu, p, v, ldv, q, d, du, dv);
    }
}

#else

int cnf_avx512_supported(void) { return 0; }

#endif
