import CNFCore
#if arch(x86_64)
import CKernels
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which code computes a layer's products: BLAS, or cnf's kernels (`SmallProducts`) on one of
/// two instruction-set paths that give the same bits: SIMD8 (Swift `SIMD8<Float>`: AVX2+FMA on
/// x86-64, NEON on arm64) or AVX-512 (the C kernels of Sources/CKernels, on x86-64 CPUs whose
/// cpuid reports AVX-512F/VL, checked once at run time; see `avx512Supported`).
///
/// Kernels vs BLAS, measured with `cnf bench --kernels` on an AVX2-only AMD EPYC Zen 3 (family
/// 25 model 1, Debian OpenBLAS 0.3.21 core "Zen", one thread, load 12–15 on 2 cores, medians
/// of 7 alternated rounds). GFLOP/s, SIMD8 kernel vs sgemm, at m = 100 / 1000 stacked rows:
///
///     forward 64→64  m×64·64×64      69 vs 58  /  76 vs 62
///     x̄ 64→64       m×64·64×64      85 vs 61  /  83 vs 65
///     W̄ 64→64       64×m·m×64       81 vs 76  /  79 vs 73
///     forward 2→64   m×2·2×64        35 vs 1.9 /  24 vs 1.3  (store-bound; OpenBLAS ≈ call overhead)
///     forward 64→2   m×64·64×2       26 vs 11  /  17 vs 11
///     x̄, W̄ of 2→64 and 64→2                  1.0–40× sgemm
///     256→256 (not the network's shape)     kernel 0.7–0.9× sgemm (x̄ at m = 100: 1.1×) → BLAS
///
/// So: the kernels for Float when the widths fit their tiles and the weights fit in L1
/// (k·n ≤ 8192, widths ≤ 128), BLAS otherwise and always for Double. Without FMA code
/// generation (`FUSED_MULTIPLY_ADD` unset: debug builds, or x86-64 without `-target-cpu`) the
/// same kernels run with a multiply and an add (the 6×16 tile then spills: 44 GFLOP/s on the
/// 64→64 forward, below OpenBLAS), so there the deep products (k ≥ 16, and W̄ unless one
/// side is ≤ 2 wide) go back to BLAS and only the narrow ones stay on the kernels.
///
/// SIMD8 vs AVX-512, measured with `cnf bench --kernels` on an AMD EPYC Zen 5 (family 26
/// model 2, AVX-512 with a full 512-bit datapath, ~4 GHz; OpenBLAS 0.3.21 with
/// OPENBLAS_CORETYPE=Haswell as set on these machines; one thread pinned with `taskset -c 1`;
/// load average 4–6 on 2 cores from other jobs; medians of 9 alternated rounds, 64-byte-aligned
/// operands as in the network's workspace). GFLOP/s, avx2 / avx512 / sgemm:
///
///                                   m = 100              m = 1000
///     forward 64→64  m×64·64×64     126 / 251 / 115      130 / 259 / 120
///     x̄ 64→64       m×64·64×64     127 / 253 / 116      130 / 259 / 119
///     W̄ 64→64       64×m·m×64      124 / 210 / 116      124 / 219 / 114
///     forward 2→64   m×2·2×64        71 / 115 /  42       68 / 101 /  46
///     x̄ 2→64        m×64·64×2       55 / 116 /  25       54 / 110 /  27
///     W̄ 2→64        64×m·m×2        88 / 129 /  25       92 / 114 /  24
///     forward 64→2   m×64·64×2       56 / 116 /  25       55 / 113 /  27
///     x̄ 64→2        m×2·2×64        71 / 116 /  42       68 /  99 /  46
///     W̄ 64→2        2×m·m×64       115 / 191 /  30      113 / 148 /  23
///     256→256 (not the network's)   avx512 2.0× avx2 and 2.0–2.2× sgemm; left on BLAS (rule above)
///
/// (Later, same machine and method, 5 rounds: the AVX-512 W̄ with D's row-major case compiled
/// as such and exact-size last tiles reached 254 / 262 GFLOP/s on 64→64 and 232 on 64→2 at
/// m = 100 / 1000, the SIMD8 W̄ 64→64 133; benchmarks/KERNELS.md.)
///
/// and whole fused ConcatSquash layers (forward, 1 tangent block, evaluate store mode), µs per
/// call at 50 / 500 primal rows, avx2 / avx512 / BLAS path:
///
///     2→64 tanh      2.2 / 1.7 / 2.6       20.2 / 13.9 / 24.0
///     64→64 tanh    10.5 / 5.0 / 9.4       82.2 / 44.3 / 89.2
///     64→2 linear   0.61 / 0.45 / 1.22     5.7 / 4.0 / 11.3
///
/// AVX-512 is faster on every shape the kernels take (1.24–2.1×; the narrow W̄ least, being
/// a latency-bound chain of one FMA per row over data streamed from L2), so `.measured` takes
/// it on all of them wherever the CPU has it. (Unaligned operands cost AVX-512 more: with
/// 16-byte-aligned arrays the narrow W̄ swung between 0.95× and 1.3× from run to run.)
///
/// With OPENBLAS_CORETYPE unset, Debian's OpenBLAS picks its Cooperlake (AVX-512) kernels on
/// this Zen 5: sgemm then reaches 240–245 GFLOP/s on the 64×64 shapes at m = 100, level with the
/// AVX-512 kernels on forward and x̄ (0.98–1.17× sgemm) but ahead on W̄ 64→64 at m = 100 (kernel
/// 0.82× sgemm; 1.13× at m = 1000) and on the narrow products of width 2 (kernel 0.64–0.96×,
/// except at m = 1000 where sgemm drops to 28 on two of them), while the fused layers stay
/// ahead of the BLAS path (64→64 tanh at 50 rows: 5.3 vs 7.0 µs). The kernels stay chosen for
/// those products anyway: their bits are the same on every machine (AVX2 or AVX-512), whereas
/// OpenBLAS's depend on the core type it picks.
enum KernelChoice {
    /// Which instruction-set path the kernels may take.
    enum ISAPolicy: String, Sendable {
        /// AVX-512 on the shapes where it measured faster (below), when the CPU has it.
        case measured
        /// The SIMD8 kernels everywhere (`CNF_KERNELS=avx2`, or `simd8`).
        case simd8
        /// AVX-512 on every shape the kernels take (`CNF_KERNELS=avx512`), when the CPU has it;
        /// on a CPU without it this acts as `simd8` (AVX-512 code never runs there).
        case avx512
    }

    /// `CNF_KERNELS` from the environment: `blas`, `avx2` (or `simd8`), `avx512`, or unset.
    static let environment: String? = getenv("CNF_KERNELS").map { String(cString: $0) }

    /// Set to false to force BLAS everywhere (tests compare the two paths). Starts false when
    /// the environment has `CNF_KERNELS=blas`: the products then run as cnf 0.1 ran them, so a
    /// run made before the kernels replays bit for bit (the kernels sum in another order).
    nonisolated(unsafe) static var enabled: Bool = environment != "blas"

    /// Starts from `CNF_KERNELS` (`avx2`/`simd8` → `.simd8`, `avx512` → `.avx512`, else
    /// `.measured`); tests and `cnf bench --kernels` set it to time or compare the paths.
    nonisolated(unsafe) static var isaPolicy: ISAPolicy = {
        switch environment {
        case "avx2", "simd8": return .simd8
        case "avx512": return .avx512
        case nil, "", "blas": return .measured
        case let other?:
            fputs("cnf: CNF_KERNELS=\(other) is not one of blas, avx2, simd8, avx512; ignored\n", stderr)
            return .measured
        }
    }()

    /// Whether this CPU (and OS) can run the AVX-512 kernels: cpuid's AVX-512F, AVX-512VL and
    /// FMA, and XCR0's ZMM and opmask state. Always false off x86-64.
    static let avx512Supported: Bool = {
        #if arch(x86_64)
        return cnf_avx512_supported() != 0
        #else
        return false
        #endif
    }()

    /// Whether `madd` is one FMA instruction in this build (see `SmallProducts.madd`).
    static var hardwareFMA: Bool {
        #if FUSED_MULTIPLY_ADD
        true
        #else
        false
        #endif
    }

    /// C = A·B with n columns (a multiple of 8), depth k (a deep product needs FMA to beat BLAS).
    static func rowProduct(columns n: Int, depth k: Int) -> Bool {
        enabled && n % 8 == 0 && n <= 128 && k <= 128 && k * n <= 8192 && (hardwareFMA || k < 16)
    }

    /// C = A·Bᵀ with a few columns n, depth k.
    static func rowDotProduct(columns n: Int, depth k: Int) -> Bool {
        enabled && n <= 4 && k <= 256
    }

    /// D (p×q) += Uᵀ V with q % 16 == 0.
    static func outer(p: Int, q: Int) -> Bool {
        enabled && q % 16 == 0 && p <= 128 && q <= 128 && (hardwareFMA || p <= 2)
    }

    /// Whether the AVX-512 kernel computes C = A·B with n columns and depth k: the fused layer
    /// forward (`fused`) or a plain store (x̄). Measured faster on every such shape (above).
    static func avx512RowProduct(columns n: Int, depth k: Int, fused: Bool) -> Bool { avx512Measured }

    /// Whether the AVX-512 kernel computes C = A·Bᵀ with a few columns n, depth k (the 64→2
    /// forward, the x̄ of 2→64). Measured faster on every such shape (above).
    static func avx512RowDotProduct(columns n: Int, depth k: Int, fused: Bool) -> Bool { avx512Measured }

    /// Whether the AVX-512 kernel computes D (p×q) += Uᵀ V (W̄). Measured faster on every such
    /// shape (above).
    static func avx512Outer(p: Int, q: Int) -> Bool { avx512Measured }

    /// Whether the AVX-512 kernel runs a layer's backward element-wise pass
    /// (`cnf_avx512_backward_rows`; the same bits as the SIMD8 pass).
    static var avx512Elementwise: Bool { avx512Measured }

    /// Whether Wᵀ is packed by the AVX-512 16×16 transpose (moves bits only: the same result).
    static var avx512Transpose: Bool { avx512Measured }

    /// Whether Float layers run their backward element-wise work in one fused pass
    /// (`DualLayer.fusedBackwardRows`) rather than the generic loops; the same bits either way.
    /// Tests turn it off to compare the two.
    nonisolated(unsafe) static var fusedBackward = true

    /// `.measured`'s answer for the shapes measured (all of the kernels' shapes): AVX-512
    /// wherever the policy allows it and the CPU has it. A shape found slower would get its own
    /// condition in the function above that decides it.
    private static var avx512Measured: Bool { policy != .simd8 }

    /// The policy in effect: `.simd8` whatever was asked when the CPU lacks AVX-512.
    static var policy: ISAPolicy { avx512Supported ? isaPolicy : .simd8 }

    /// One line for reports: which products path runs and why, e.g.
    /// "kernels: avx512 where measured faster, else avx2 (CPU has AVX-512F/VL)".
    static var description: String {
        let simd8 = simd8Name
        guard enabled else { return "kernels: off, every product on BLAS (CNF_KERNELS=blas)" }
        let cpu = avx512Supported ? "CPU has AVX-512F/VL" : "CPU without AVX-512"
        switch (policy, isaPolicy) {
        case (.avx512, _): return "kernels: avx512 on every kernel shape (CNF_KERNELS=avx512; \(cpu))"
        case (.measured, _): return "kernels: avx512 where measured faster, else \(simd8) (\(cpu))"
        case (.simd8, .avx512): return "kernels: \(simd8) (CNF_KERNELS=avx512 asked, but \(cpu))"
        case (.simd8, .simd8): return "kernels: \(simd8) (CNF_KERNELS=\(environment ?? "avx2"); \(cpu))"
        case (.simd8, .measured): return "kernels: \(simd8) (\(cpu))"
        }
    }

    /// What the SIMD8 path is on this build: "avx2" on x86-64 (with FMA in release builds),
    /// "simd8" elsewhere.
    static var simd8Name: String {
        #if arch(x86_64)
        return hardwareFMA ? "avx2" : "simd8 (no FMA: debug build)"
        #else
        return "simd8"
        #endif
    }
}
