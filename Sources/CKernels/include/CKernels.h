#ifndef CNF_CKERNELS_H
#define CNF_CKERNELS_H

/*
 * cnf's AVX-512 float32 matrix kernels (avx512.c), the 512-bit twins of the Swift SIMD8
 * kernels in Sources/Networks/Kernels/SmallProducts.swift: every output element is the same
 * sequence of fused multiply-adds, in the same order, as there, so both paths give the same
 * bits. Swift calls them only when `cnf_avx512_supported()` is 1 (Networks' KernelChoice).
 *
 * The kernels are declared on x86-64 only; elsewhere (arm64) the Swift SIMD8 kernels are the
 * only path, `cnf_avx512_supported()` returns 0 and `cnf_kernel_scratch` serves them.
 */

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU has AVX-512F and AVX-512VL (and FMA) and the OS saves the ZMM and opmask
 * registers (XCR0), else 0; always 0 off x86-64. Reads cpuid and xgetbv on each call: cache it. */
int cnf_avx512_supported(void);

/* This thread's scratch for `count` floats, 64-byte aligned (thread-local storage, not
 * allocated per call), or NULL when count exceeds its 8192 floats. Valid until the thread's
 * next call: for packing a layer's weights within one kernel call. All platforms. */
float *_Nullable cnf_kernel_scratch(long count);

/* The activations of the fused layers (Networks' Activation; NONE: a layer without one). */
typedef enum cnf_activation {
    CNF_ACTIVATION_NONE = 0,
    CNF_ACTIVATION_TANH = 1,
    CNF_ACTIVATION_SOFTPLUS = 2,
    CNF_ACTIVATION_ELU = 3,
    CNF_ACTIVATION_SWISH = 4,
} cnf_activation;

/* What the fused primal rows store besides y (`stores`, a bit set; the tangent rows read only
 * CNF_STORE_AFFINE): Networks' StoreAll = all three, StoreSlope = SLOPE, StoreOutput = 0. */
enum { CNF_STORE_AFFINE = 1, CNF_STORE_SLOPE = 2, CNF_STORE_CURVATURE = 4 };

/* The buffers of one fused layer call; rows are `n` (the output width) floats apart. */
typedef struct cnf_fused_rows {
    const float *_Nullable bias;     /* b, n floats (primal) */
    const float *_Nullable gate;     /* g, n floats */
    const float *_Nullable shift;    /* c = W_b t, n floats (primal) */
    const float *_Nullable slope_in; /* σ'(a) of the primal rows (tangent rows of a layer with an activation) */
    float *_Nullable affine;         /* h = W x (+ b), m rows, if stored */
    float *_Nonnull output;          /* y (or ẏ), m rows; also holds the raw product before the epilogue */
    float *_Nullable slope;          /* σ'(a), m rows, if stored */
    float *_Nullable curvature;      /* σ''(a), m rows, if stored */
} cnf_fused_rows;

/* The buffers of one layer's backward element-wise pass (Networks' DualLayer.backward); rows
 * are `n` (the output width) floats apart, the m primal rows first, then each tangent block's. */
typedef struct cnf_backward_rows {
    const float *_Nonnull ybar;      /* Ȳ = [ȳ; ẏ̄_1; …; ẏ̄_k], (1 + k)·m rows */
    const float *_Nullable affine;   /* h = [h; h_1; …; h_k], (1 + k)·m rows (ConcatSquash layers) */
    const float *_Nullable gate;     /* g, n floats (ConcatSquash layers) */
    const float *_Nullable slope;    /* σ'(a), m rows (layers with an activation) */
    const float *_Nullable curvature;/* σ''(a), m rows (layers with an activation) */
    float *_Nonnull hbar;            /* H̄, (1 + k)·m rows, written */
    float *_Nonnull gate_bar;        /* ḡ, n floats, written (ConcatSquash layers) */
    float *_Nonnull shift_bar;       /* c̄ = Σ ā, n floats, written (ConcatSquash layers) */
    float *_Nonnull bias_bar;        /* Σ of H̄'s primal rows, n floats, written */
} cnf_backward_rows;

#if defined(__x86_64__)

/* C = A·B: A m×k (leading dimension lda), B k×n row-major (ldb), C m×n (ldc); n % 8 == 0.
 * C[i, j] = fma(A[i, k−1], B[k−1, j], … fma(A[i, 0], B[0, j], +0) …). */
void cnf_avx512_row_product(long m, long n, long k,
                            const float *_Nonnull a, long lda,
                            const float *_Nonnull b, long ldb,
                            float *_Nonnull c, long ldc);

/* dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols (packs Wᵀ for the row kernels). */
void cnf_avx512_transpose(long rows, long cols, const float *_Nonnull src, long lds, float *_Nonnull dst, long ldd);

/* The forward of a fused ConcatSquash/linear layer on m primal rows: C = A·B as
 * cnf_avx512_row_product (into e->output, n wide), then per element, as Networks'
 * FusedPrimalRows: h = C + b, a = h·g + c, y = σ(a), σ'(a), σ''(a) (see avx512.c for the
 * operation order, the same as Swift's). Blocks of 48 rows: product, then epilogue from L1. */
void cnf_avx512_fused_primal_rows(long m, long n, long k,
                                  const float *_Nonnull a, long lda,
                                  const float *_Nonnull b, long ldb,
                                  cnf_activation activation, int stores,
                                  const cnf_fused_rows *_Nonnull e);

/* The same for one block of m tangent rows, as FusedTangentRows: h = C (→ affine if stored),
 * ẏ = σ'(a)·(h·g) (`activated`: σ'(a) from e->slope_in) or h·g. */
void cnf_avx512_fused_tangent_rows(long m, long n, long k,
                                   const float *_Nonnull a, long lda,
                                   const float *_Nonnull b, long ldb,
                                   int activated, int stores,
                                   const cnf_fused_rows *_Nonnull e);

/* A layer's backward element-wise pass on m primal rows, n columns, k tangent blocks, as
 * Networks' `DualLayer.backward` computes it for each element (every multiply and add separately
 * rounded, in the same order):
 *   ā = σ'(a)·ȳ + σ''(a)·d with d = ((+0 + h_1·ẏ̄_1) + …)(·g if squash)    [no activation: ā = ȳ]
 *   ḡ += ā·h, c̄ += ā, h̄ = ā·g (squash; else h̄ = ā), Σh̄ += h̄   (column sums over rows in order)
 *   per tangent block: v = σ'(a)·ẏ̄_k (or ẏ̄_k), ḡ += v·h_k (squash), h̄_k = v·g (squash) or v.
 * The column sums start from +0 and are written to gate_bar, shift_bar, bias_bar. */
void cnf_avx512_backward_rows(long m, long n, long k, int squash, int activated,
                              const cnf_backward_rows *_Nonnull e);

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
