import CNFCore
import Dispatch

/// Side-by-side timing of the Swift kernels against single-thread sgemm on the network's
/// product shapes (not a test: timings depend on the machine and its load). Used by
/// `cnf bench --kernels` to back `KernelChoice`'s rule.
///
/// Each round times the kernel and then sgemm on the same operands, alternating, so load
/// from other processes hits both alike; the medians over rounds are reported.
public enum KernelTiming {
    public struct Row: Sendable {
        /// e.g. "forward 64→64 (m×64·64×64)".
        public let shape: String
        public let rows: Int
        public let kernelGFLOPS: Double
        public let blasGFLOPS: Double
        /// Whether `KernelChoice` sends this shape to the kernel.
        public let chosen: Bool
    }

    enum Product { case rows, dots, outer, outerTransposed }

    /// Times every product shape of a widths[0] → … network layer at each stacked row count.
    public static func compare(rows list: [Int], widths: [(Int, Int)] = [(2, 64), (64, 64), (64, 2), (256, 256)],
                               rounds: Int = 7) -> [Row] {
        BLAS.setThreads(1)
        var result: [Row] = []
        for m in list {
            for (inW, out) in widths {
                // forward: C (m×out) = X (m×in) Wᵀ
                let forward: Product = out % 8 == 0 ? .rows : .dots
                result.append(time("forward \(inW)→\(out): m×\(inW)·\(inW)×\(out)", m: m, inW: inW, out: out,
                                   product: forward, rounds: rounds))
                // X̄ (m×in) = H̄ (m×out) W
                let back: Product = inW % 8 == 0 ? .rows : .dots
                result.append(time("x̄ \(inW)→\(out): m×\(out)·\(out)×\(inW)", m: m, inW: out, out: inW,
                                   product: back, rounds: rounds))
                // W̄ (out×in) += H̄ᵀ X
                let outer: Product = inW % 16 == 0 ? .outer : .outerTransposed
                result.append(time("W̄ \(inW)→\(out): \(out)×m·m×\(inW)", m: m, inW: inW, out: out,
                                   product: outer, rounds: rounds))
            }
        }
        return result
    }

    /// For .rows/.dots: C (m×out) = A (m×inW) · B with B inW×out (rows) or out×inW (dots).
    /// For .outer(.Transposed): D (out×inW) += Hᵀ X with H m×out, X m×inW.
    static func time(_ shape: String, m: Int, inW: Int, out: Int, product: Product, rounds: Int) -> Row {
        var g = Xoshiro256(seed: 3)
        let outer = product == .outer || product == .outerTransposed
        let a = (0..<(m * (outer ? out : inW))).map { _ in Float(g.uniform(-1, 1)) }
        let b = (0..<(outer ? m * inW : inW * out)).map { _ in Float(g.uniform(-1, 1)) }
        var c = [Float](repeating: 0, count: outer ? out * inW : m * out)
        let flops = 2.0 * Double(m * inW * out)
        let calls = max(1, Int(2e7 / flops))
        let chosen: Bool
        switch product {
        case .rows: chosen = KernelChoice.rowProduct(columns: out, depth: inW)
        case .dots: chosen = KernelChoice.rowDotProduct(columns: out, depth: inW)
        case .outer: chosen = KernelChoice.outer(p: out, q: inW)
        case .outerTransposed: chosen = KernelChoice.outer(p: inW, q: out)
        }
        var kernelTimes: [Double] = [], blasTimes: [Double] = []
        a.withBufferView { av in b.withBufferView { bv in c.withMutableBufferView { cv in
            let a = av.kernelStart, b = bv.kernelStart, c = cv.kernelStart
            func kernel() {
                switch product {
                case .rows:
                    SmallProducts.rowProduct(rows: m, columns: out, depth: inW, a: a, lda: inW, b: b, ldb: out,
                                             epilogue: StoreRows(c: c, ldc: out))
                case .dots:
                    SmallProducts.rowDotProduct(rows: m, columns: out, depth: inW, a: a, lda: inW, b: b, ldb: inW,
                                                epilogue: StoreRows(c: c, ldc: out))
                case .outer:
                    SmallProducts.accumulateOuter(rows: m, u: a, ldu: out, p: out, v: b, ldv: inW, q: inW, d: c, du: inW, dv: 1)
                case .outerTransposed:
                    SmallProducts.accumulateOuter(rows: m, u: b, ldu: inW, p: inW, v: a, ldv: out, q: out, d: c, du: 1, dv: inW)
                }
            }
            func blas() {
                switch product {
                case .rows:
                    Float.gemm(transA: false, transB: false, m: m, n: out, k: inW, alpha: 1, a: av, lda: inW, b: bv, ldb: out,
                               beta: 0, c: cv, ldc: out)
                case .dots:
                    Float.gemm(transA: false, transB: true, m: m, n: out, k: inW, alpha: 1, a: av, lda: inW, b: bv, ldb: inW,
                               beta: 0, c: cv, ldc: out)
                case .outer, .outerTransposed:
                    Float.gemm(transA: true, transB: false, m: out, n: inW, k: m, alpha: 1, a: av, lda: out, b: bv, ldb: inW,
                               beta: 1, c: cv, ldc: inW)
                }
            }
            kernel(); blas()
            for _ in 0..<max(rounds, 1) {
                var start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<calls { kernel() }
                kernelTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls))
                start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<calls { blas() }
                blasTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls))
                if outer { cv.update(repeating: 0, count: cv.count) }
            }
        }}}
        let median = { (x: [Double]) in x.sorted()[x.count / 2] }
        return Row(shape: shape, rows: m, kernelGFLOPS: flops / median(kernelTimes), blasGFLOPS: flops / median(blasTimes),
                   chosen: chosen)
    }
}
