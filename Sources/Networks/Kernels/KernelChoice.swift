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
/// two instruction-set paths that give the same bits: SIMD8 (AVX2+FMA on x86-64, NEON on arm64)
/// or AVX-512 (x86-64 CPUs with AVX-512F/VL, detected at run time by cpuid).
///
/// MEASUREMENTS (filled in below).
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

    /// Whether `SmallProducts.rowProduct` runs on AVX-512 for n columns and depth k, with a
    /// fused epilogue (the layers' forward) or a plain store (x̄).
    static func avx512RowProduct(columns n: Int, depth k: Int, fused: Bool) -> Bool {
        switch policy {
        case .simd8: return false
        case .avx512: return true
        case .measured: return true
        }
    }

    /// Whether `SmallProducts.rowDotProduct` runs on AVX-512.
    static func avx512RowDotProduct(columns n: Int, depth k: Int, fused: Bool) -> Bool {
        switch policy {
        case .simd8: return false
        case .avx512: return true
        case .measured: return true
        }
    }

    /// Whether `SmallProducts.accumulateOuter` runs on AVX-512.
    static func avx512Outer(p: Int, q: Int) -> Bool {
        switch policy {
        case .simd8: return false
        case .avx512: return true
        case .measured: return true
        }
    }

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
