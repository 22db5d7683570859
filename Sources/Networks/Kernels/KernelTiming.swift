import CNFCore
import Dispatch
#if arch(x86_64)
import CKernels
#endif

/// Side-by-side timing of the kernels' instruction-set paths (SIMD8: AVX2+FMA; AVX-512 where
/// the CPU has it) against single-thread sgemm on the network's product shapes, and of whole
/// fused layers on each path (not a test: timings depend on the machine and its load). Used by
/// `cnf bench --kernels` to back `KernelChoice`'s rules.
///
/// Each round times every path in turn on the same operands, alternating, so load from other
/// processes hits them alike; the medians over rounds are reported.
public enum KernelTiming {
    public struct Row: Sendable {
        /// e.g. "forward 64→64: m×64·64×64".
        public let shape: String
        public let rows: Int
        /// The SIMD8 kernel (AVX2+FMA on x86-64).
        public let simd8GFLOPS: Double
        /// The AVX-512 kernel; nil on a CPU without AVX-512.
        public let avx512GFLOPS: Double?
        public let blasGFLOPS: Double
        /// The path `KernelChoice` takes for this shape: "avx512", "avx2"/"simd8" or "BLAS".
        public let chosen: String
    }

    /// A fused layer's forward (product, gate, bias, activation, tangent), µs per call.
    public struct LayerRow: Sendable {
        public let layer: String
        /// Primal rows; the call has (1 + tangents)·rows stacked rows.
        public let rows: Int
        public let tangents: Int
        /// "evaluate" (stores y, σ'), or "forward" (everything backward reads).
        public let mode: String
        public let simd8Microseconds: Double
        public let avx512Microseconds: Double?
        public let blasMicroseconds: Double
        public let chosen: String
    }

    /// Which instruction-set path a run of the SIMD8 path is ("avx2" on x86-64 release builds).
    public static var simd8Name: String { KernelChoice.simd8Name }
    /// Whether this CPU runs the AVX-512 kernels.
    public static var avx512Supported: Bool { KernelChoice.avx512Supported }
    /// One line: the path in effect and why (see `KernelChoice.description`).
    public static var pathDescription: String { KernelChoice.description }

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

    /// The path name `KernelChoice` takes for a kernel shape (given that it takes the kernel).
    static func pathName(kernel: Bool, avx512: Bool) -> String {
        kernel ? (avx512 ? "avx512" : simd8Name) : "BLAS"
    }

    /// For .rows/.dots: C (m×out) = A (m×inW) · B with B inW×out (rows) or out×inW (dots).
    /// For .outer(.Transposed): D (out×inW) += Hᵀ X with H m×out, X m×inW.
    static func time(_ shape: String, m: Int, inW: Int, out: Int, product: Product, rounds: Int) -> Row {
        var g = Xoshiro256(seed: 3)
        let outer = product == .outer || product == .outerTransposed
        // Operands 64-byte aligned, as the network's workspace regions are (an AVX-512 load
        // that straddles two cache lines costs two: Swift arrays, 16-byte aligned, made the
        // AVX-512 W̄ timings swing by 30 % from run to run).
        let sizes = [m * (outer ? out : inW), outer ? m * inW : inW * out, outer ? out * inW : m * out]
        let storage = AlignedBuffer<Float>(regionSizes: sizes)
        let (av, bv, cv) = (storage.regions[0].readOnly, storage.regions[1].readOnly, storage.regions[2])
        for i in 0..<sizes[0] { storage.regions[0][i] = Float(g.uniform(-1, 1)) }
        for i in 0..<sizes[1] { storage.regions[1][i] = Float(g.uniform(-1, 1)) }
        let flops = 2.0 * Double(m * inW * out)
        let calls = max(1, Int(2e7 / flops))
        let chosen: String
        switch product {
        case .rows:
            chosen = pathName(kernel: KernelChoice.rowProduct(columns: out, depth: inW),
                              avx512: KernelChoice.avx512RowProduct(columns: out, depth: inW, fused: false))
        case .dots:
            chosen = pathName(kernel: KernelChoice.rowDotProduct(columns: out, depth: inW),
                              avx512: KernelChoice.avx512RowDotProduct(columns: out, depth: inW, fused: false))
        case .outer:
            chosen = pathName(kernel: KernelChoice.outer(p: out, q: inW), avx512: KernelChoice.avx512Outer(p: out, q: inW))
        case .outerTransposed:
            chosen = pathName(kernel: KernelChoice.outer(p: inW, q: out), avx512: KernelChoice.avx512Outer(p: inW, q: out))
        }
        let avx512 = KernelChoice.avx512Supported
        var simd8Times: [Double] = [], avx512Times: [Double] = [], blasTimes: [Double] = []
        do {
            let a = av.kernelStart, b = bv.kernelStart, c = cv.kernelStart
            func simd8() {
                switch product {
                case .rows:
                    SmallProducts.rowProductSIMD8(rows: m, columns: out, depth: inW, a: a, lda: inW, b: b, ldb: out,
                                                  epilogue: StoreRows(c: c, ldc: out))
                case .dots:
                    SmallProducts.rowDotProductSIMD8(rows: m, columns: out, depth: inW, a: a, lda: inW, b: b, ldb: inW,
                                                     epilogue: StoreRows(c: c, ldc: out))
                case .outer:
                    SmallProducts.accumulateOuterSIMD8(rows: m, u: a, ldu: out, p: out, v: b, ldv: inW, q: inW,
                                                       d: c, du: inW, dv: 1)
                case .outerTransposed:
                    SmallProducts.accumulateOuterSIMD8(rows: m, u: b, ldu: inW, p: inW, v: a, ldv: out, q: out,
                                                       d: c, du: 1, dv: inW)
                }
            }
            func wide() {
                #if arch(x86_64)
                switch product {
                case .rows: cnf_avx512_row_product(m, out, inW, a, inW, b, out, c, out)
                case .dots: cnf_avx512_row_dot_product(m, out, inW, a, inW, b, inW, c, out)
                case .outer: cnf_avx512_accumulate_outer(m, a, out, out, b, inW, inW, c, inW, 1)
                case .outerTransposed: cnf_avx512_accumulate_outer(m, b, inW, inW, a, out, out, c, 1, inW)
                }
                #endif
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
            func timed(_ body: () -> Void) -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<calls { body() }
                let t = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls)
                if outer { cv.update(repeating: 0, count: sizes[2]) }
                return t
            }
            simd8(); blas()
            if avx512 { wide() }
            for _ in 0..<max(rounds, 1) {
                simd8Times.append(timed(simd8))
                if avx512 { avx512Times.append(timed(wide)) }
                blasTimes.append(timed(blas))
            }
        }
        return Row(shape: shape, rows: m, simd8GFLOPS: flops / median(simd8Times),
                   avx512GFLOPS: avx512 ? flops / median(avx512Times) : nil,
                   blasGFLOPS: flops / median(blasTimes), chosen: chosen)
    }

    static func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }

    /// Times one ConcatSquash layer's fused forward (tanh on the hidden layers, none on the
    /// last) per path: SIMD8, AVX-512 (both through `KernelChoice.isaPolicy`) and BLAS
    /// (`KernelChoice.enabled = false`), at `rows` primal rows with `tangents` tangent blocks,
    /// in the evaluate (keep = false) and forward (keep = true) store modes.
    public static func compareLayers(rows list: [Int], tangents k: Int = 1,
                                     widths: [(Int, Int, Activation?)] = [(2, 64, .tanh), (64, 64, .tanh), (64, 2, nil)],
                                     rounds: Int = 7) -> [LayerRow] {
        BLAS.setThreads(1)
        let savedEnabled = KernelChoice.enabled, savedPolicy = KernelChoice.isaPolicy
        defer { KernelChoice.enabled = savedEnabled; KernelChoice.isaPolicy = savedPolicy }
        var result: [LayerRow] = []
        for n in list {
            for (inW, out, activation) in widths {
                for keep in [false, true] {
                    result.append(timeLayer(inW: inW, out: out, activation: activation, rows: n, tangents: k, keep: keep,
                                            rounds: rounds, enabled: savedEnabled, policy: savedPolicy))
                }
            }
        }
        return result
    }

    static func timeLayer(inW: Int, out: Int, activation: Activation?, rows n: Int, tangents k: Int, keep: Bool,
                          rounds: Int, enabled: Bool, policy: KernelChoice.ISAPolicy) -> LayerRow {
        let layer = DualLayer(type: .concatSquash, inputWidth: inW, outputWidth: out, activation: activation, offset: 0)
        let m = (1 + k) * n
        let storage = AlignedBuffer<Float>(regionSizes: [layer.parameterCount, m * inW, m * out, 2 * out, n * out, n * out, m * out,
                                                         inW * out])
        let r = storage.regions
        var g = Xoshiro256(seed: 5)
        for i in 0..<layer.parameterCount { r[0][i] = Float(g.uniform(-0.3, 0.3)) }
        for i in 0..<(m * inW) { r[1][i] = Float(g.uniform(-1, 1)) }
        // Wᵀ packed once, as `ODENet` packs it once per parameter update (`PackedWeights`).
        layer.packTransposedWeights(floats(r[0]) + layer.weightOffset, into: floats(r[7]))
        var buffers = LayerBuffers(affine: r[2], gate: r[3], slope: r[4], curvature: r[5], output: r[6],
                                   packedWeights: r[7].readOnly)
        buffers.keep = keep
        let flops = 2.0 * Double(m * inW * out)
        let calls = max(1, Int(1e7 / flops))
        func call() {
            layer.forward(theta: r[0].readOnly, t: 0.4, input: r[1].readOnly, rows: n, tangents: k, buffers: buffers)
        }
        func timed(kernels: Bool, _ p: KernelChoice.ISAPolicy) -> Double {
            KernelChoice.enabled = kernels
            KernelChoice.isaPolicy = p
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<calls { call() }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls) / 1e3
        }
        let avx512 = KernelChoice.avx512Supported
        var simd8Times: [Double] = [], avx512Times: [Double] = [], blasTimes: [Double] = []
        _ = timed(kernels: true, .simd8); _ = timed(kernels: false, .simd8)
        if avx512 { _ = timed(kernels: true, .avx512) }
        for _ in 0..<max(rounds, 1) {
            simd8Times.append(timed(kernels: true, .simd8))
            if avx512 { avx512Times.append(timed(kernels: true, .avx512)) }
            blasTimes.append(timed(kernels: false, .simd8))
        }
        // The path the caller's settings take for this layer's forward product.
        KernelChoice.enabled = enabled
        KernelChoice.isaPolicy = policy
        let chosen: String
        if out % 8 == 0 {
            chosen = pathName(kernel: KernelChoice.rowProduct(columns: out, depth: inW),
                              avx512: KernelChoice.avx512RowProduct(columns: out, depth: inW, fused: true))
        } else {
            chosen = pathName(kernel: KernelChoice.rowDotProduct(columns: out, depth: inW),
                              avx512: KernelChoice.avx512RowDotProduct(columns: out, depth: inW, fused: true))
        }
        let name = "\(inW)→\(out) \(activation.map { "\($0)" } ?? "linear")"
        return LayerRow(layer: name, rows: n, tangents: k, mode: keep ? "forward" : "evaluate",
                        simd8Microseconds: median(simd8Times), avx512Microseconds: avx512 ? median(avx512Times) : nil,
                        blasMicroseconds: median(blasTimes), chosen: chosen)
    }
}
