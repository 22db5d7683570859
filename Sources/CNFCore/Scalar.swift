import CBLAS
import RealModule

/// A floating-point type with BLAS matrix products: `Float` (sgemm) or `Double` (dgemm).
///
/// Training runs in `Float` where it is faster and still passes the gradient checks;
/// every gradient check runs in `Double`.
public protocol BLASScalar: Real, BinaryFloatingPoint, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// C = alpha · op(A) · op(B) + beta · C on row-major storage.
    /// op(X) = X or Xᵀ (no copy: the transpose is a BLAS flag). The views are handed to BLAS
    /// as their start addresses; BLAS reads and writes within the shapes given.
    /// - Complexity: O(m·n·k).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     alpha: Self, a: BufferView<Self>, lda: Int,
                     b: BufferView<Self>, ldb: Int,
                     beta: Self, c: MutableBufferView<Self>, ldc: Int)
    /// A short name for messages and file metadata: "F32" / "F64" (safetensors dtype names).
    static var dtypeName: String { get }
}

@inline(__always)
private func trans(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: BLASScalar {
    @inlinable public static var dtypeName: String { "F32" }
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: BufferView<Float>, lda: Int,
                            b: BufferView<Float>, ldb: Int,
                            beta: Float, c: MutableBufferView<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, trans(transA), trans(transB), Int32(m), Int32(n), Int32(k),
                    alpha, a.start, Int32(lda), b.start, Int32(ldb), beta, c.start, Int32(ldc))
    }
}

extension Double: BLASScalar {
    @inlinable public static var dtypeName: String { "F64" }
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            alpha: Double, a: BufferView<Double>, lda: Int,
                            b: BufferView<Double>, ldb: Int,
                            beta: Double, c: MutableBufferView<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, trans(transA), trans(transB), Int32(m), Int32(n), Int32(k),
                    alpha, a.start, Int32(lda), b.start, Int32(ldb), beta, c.start, Int32(ldc))
    }
}

extension BLASScalar {
    /// `gemm` on arrays (benchmarks, tests): C = alpha · op(A) · op(B) + beta · C.
    /// - Complexity: O(m·n·k).
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            alpha: Self, a: [Self], lda: Int, b: [Self], ldb: Int,
                            beta: Self, c: inout [Self], ldc: Int) {
        a.withBufferView { a in
            b.withBufferView { b in
                c.withMutableBufferView { c in
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                         b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
                }
            }
        }
    }
}

/// BLAS threading. cnf runs OpenBLAS single-threaded: its products here are small
/// (batch ≤ 1000, width 64), where OpenBLAS's own threads make them slower; cnf splits
/// the batch across cores itself, deterministically.
public enum BLAS {
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}
