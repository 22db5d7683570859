#ifndef CNF_CKERNELS_H
#define CNF_CKERNELS_H

/*
 * cnf's AVX-512 float32 matrix kernels (avx512.c), the 512-bit twins of the Swift SIMD8
 * kernels in Sources/Networks/Kernels/SmallProducts.swift: every output element is the same
 * sequence of fused multiply-adds, in the same order, as there, so both paths give the same
 * bits. Swift calls them only when `cnf_avx512_supported()` is 1 (Networks' KernelChoice).
 *
 * The kernels are declared on x86-64 only; elsewhere (arm64) the Swift SIMD8 kernels are the
 * only path and `cnf_avx512_supported()` returns 0.
 */

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU has AVX-512F and AVX-512VL (and FMA) and the OS saves the ZMM and opmask
 * registers (XCR0), else 0; always 0 off x86-64. Reads cpuid and xgetbv on each call: cache it. */
int cnf_avx512_supported(void);

#if defined(__x86_64__)

/* C = A·B: A m×k (leading dimension lda), B k×n row-major (ldb), C m×n (ldc); n % 8 == 0.
 * C[i, j] = fma(A[i, k−1], B[k−1, j], … fma(A[i, 0], B[0, j], +0) …). */
void cnf_avx512_row_product(long m, long n, long k,
                            const float *_Nonnull a, long lda,
                            const float *_Nonnull b, long ldb,
                            float *_Nonnull c, long ldc);

/* C = A·Bᵀ: A m×k (lda), B n×k row-major (ldb), C m×n (ldc), for n of a few columns.
 * C[i, j]: eight FMA chains over p ≡ l (mod 8), p < k & ~7, summed as ((l, l+4), (l, l+2),
 * (0, 1)), then + A[i, q]·B[j, q] (a product and a sum, unfused) for each q of the k % 8 tail. */
void cnf_avx512_row_dot_product(long m, long n, long k,
                                const float *_Nonnull a, long lda,
                                const float *_Nonnull b, long ldb,
                                float *_Nonnull c, long ldc);

/* D[x, y] += Σ_r U[r, x]·V[r, y] for x < p, y < q, D[x, y] at d[x·du + y·dv]; q % 16 == 0.
 * One FMA per row r, in row order, onto D's value. */
void cnf_avx512_accumulate_outer(long m,
                                 const float *_Nonnull u, long ldu, long p,
                                 const float *_Nonnull v, long ldv, long q,
                                 float *_Nonnull d, long du, long dv);

#endif

#ifdef __cplusplus
}
#endif

#endif
