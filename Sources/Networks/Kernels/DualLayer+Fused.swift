import CNFCore
import CKernels

/// σ on eight lanes for the fused epilogue; `present` is false for a layer without activation.
/// `code` names the same σ to the AVX-512 kernels (`cnf_activation`, Sources/CKernels), whose
/// 16-lane copy of it computes the same bits (tested in `KernelPathTests`); nil (the default)
/// for a σ they lack, whose fused layers then take the SIMD8 path on every CPU.
protocol FusedActivationLanes: ActivationLanes {
    static var present: Bool { get }
    static var code: UInt32? { get }
}

extension FusedActivationLanes { static var code: UInt32? { nil } }

extension TanhLanes: FusedActivationLanes { static var present: Bool { true }; static var code: UInt32? { 1 } }
extension SoftplusLanes: FusedActivationLanes { static var present: Bool { true }; static var code: UInt32? { 2 } }
extension ELULanes: FusedActivationLanes { static var present: Bool { true }; static var code: UInt32? { 3 } }
extension SwishLanes: FusedActivationLanes { static var present: Bool { true }; static var code: UInt32? { 4 } }

enum NoActivationLanes: FusedActivationLanes {
    static var present: Bool { false }
    static var code: UInt32? { 0 }
    @inline(__always)
    static func lanes(_ a: FastMath.Vector) -> (FastMath.Vector, FastMath.Vector, FastMath.Vector) { (a, FastMath.Vector(), FastMath.Vector()) }
}

/// What the forward epilogues store besides the output, as a type so that each choice
/// compiles to its own straight-line tile (a run-time flag there cost the tiles their speed).
protocol StoreMode {
    /// affine and σ'' (only `backward` reads them).
    static var backward: Bool { get }
    /// σ'(a) (the tangent rows read it).
    static var slope: Bool { get }
}
/// A backward pass follows: keep everything.
enum StoreAll: StoreMode { static var backward: Bool { true }; static var slope: Bool { true } }
/// No backward, tangents follow: σ'(a) too.
enum StoreSlope: StoreMode { static var backward: Bool { false }; static var slope: Bool { true } }
/// No backward, no tangents: the output alone.
enum StoreOutput: StoreMode { static var backward: Bool { false }; static var slope: Bool { false } }

/// Primal rows: h = acc + b, a = h ⊙ g + c, y = σ(a), σ'(a), σ''(a), all from registers;
/// `M` says which of them are stored besides y.
struct FusedPrimalRows<L: FusedActivationLanes, M: StoreMode>: RowEpilogue {
    let bias, gate, shift: UnsafePointer<Float>
    let affine, output, slope, curvature: UnsafeMutablePointer<Float>
    let width: Int

    @inline(__always) func finish(row: Int, column: Int, _ value: SIMD8<Float>) {
        let o = row * width + column
        let h = value + SmallProducts.load(bias + column)
        if M.backward { SmallProducts.store(h, affine + o) }
        let a = h * SmallProducts.load(gate + column) + SmallProducts.load(shift + column)
        if L.present {
            let (y, s, c) = L.lanes(a)
            SmallProducts.store(y, output + o)
            if M.slope { SmallProducts.store(s, slope + o) }
            if M.backward { SmallProducts.store(c, curvature + o) }
        } else {
            SmallProducts.store(a, output + o)
        }
    }
}

/// Tangent rows of one block: h = acc, ẏ = σ'(a) ⊙ (h ⊙ g) with σ'(a) of the same sample.
struct FusedTangentRows<L: FusedActivationLanes, M: StoreMode>: RowEpilogue {
    let gate: UnsafePointer<Float>
    let slope: UnsafePointer<Float>
    let affine, output: UnsafeMutablePointer<Float>
    let width: Int

    @inline(__always) func finish(row: Int, column: Int, _ value: SIMD8<Float>) {
        let o = row * width + column
        if M.backward { SmallProducts.store(value, affine + o) }
        let a = value * SmallProducts.load(gate + column)
        SmallProducts.store(L.present ? SmallProducts.load(slope + o) * a : a, output + o)
    }
}

/// The narrow-layer versions (σ is applied afterwards, by `Activation.apply`).
struct FusedPrimalElements: ElementEpilogue {
    let bias, gate, shift: UnsafePointer<Float>
    let affine, output: UnsafeMutablePointer<Float>
    let width: Int
    var productDestination: (UnsafeMutablePointer<Float>, Int) { (output, width) }
    @inline(__always) func finish(row: Int, column: Int, _ value: Float) {
        let h = value + bias[column]
        affine[row * width + column] = h
        output[row * width + column] = h * gate[column] + shift[column]
    }
}

struct FusedTangentElements: ElementEpilogue {
    let gate: UnsafePointer<Float>
    let slope: UnsafePointer<Float>?
    let affine, output: UnsafeMutablePointer<Float>
    let width: Int
    var productDestination: (UnsafeMutablePointer<Float>, Int) { (output, width) }
    @inline(__always) func finish(row: Int, column: Int, _ value: Float) {
        let o = row * width + column
        affine[o] = value
        let a = value * gate[column]
        output[o] = slope.map { $0[o] * a } ?? a
    }
}

/// `body` with this thread's scratch for `count` floats (packed Wᵀ), 64-byte aligned so that
/// no 512-bit load of a packed row straddles two cache lines: `cnf_kernel_scratch`'s
/// thread-local 8192 floats (enough for every shape `KernelChoice` gives the kernels), nothing
/// allocated; a larger count falls back to `withUnsafeTemporaryAllocation`.
@inline(__always)
func withPackedScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    if let scratch = cnf_kernel_scratch(count) { return body(scratch) }
    return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { body($0.baseAddress!) }
}

@inline(__always)
func floats<S>(_ p: UnsafePointer<S>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
func floats<S>(_ p: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
func floats<S>(_ v: BufferView<S>) -> UnsafePointer<Float> { floats(v.kernelStart) }

@inline(__always)
func floats<S>(_ v: MutableBufferView<S>) -> UnsafeMutablePointer<Float> { floats(v.kernelStart) }

extension DualLayer {
    /// `forward` for Float in one pass per row block: the product, the gate and bias, the
    /// activation and the tangents' σ'(a) ⊙ ȧ in the product's epilogue (primal rows first, then
    /// each tangent block; Wᵀ, 16 KB for 64×64, stays in L1 across the blocks; `ODENet` packs
    /// it once per parameter update, a layer given none packs it per call). Returns false,
    /// having done nothing, when `KernelChoice` leaves this shape to BLAS.
    ///
    /// Summation order: each output is Σ_p x_p·W_jp by FMAs in p order from +0, on the SIMD8
    /// and the AVX-512 path alike (the same bits on AVX2 and AVX-512 CPUs; OpenBLAS's order
    /// differs, so low bits differ from the BLAS path); a row's result depends only on that
    /// row, not on the batch size or chunking.
    func fusedForward<S: BLASScalar>(theta: BufferView<S>, t: S, input: BufferView<S>,
                                     rows n: Int, tangents k: Int, buffers b: LayerBuffers<S>) -> Bool {
        guard S.self == Float.self else { return false }
        let out = outputWidth, inW = inputWidth
        let rowPath = KernelChoice.rowProduct(columns: out, depth: inW)
        guard rowPath || KernelChoice.rowDotProduct(columns: out, depth: inW) else { return false }
        let theta = floats(theta), x = floats(input), t = unsafeBitCast(t, to: Float.self)
        let g = floats(b.gate), c = floats(b.gate) + out
        if type == .concatSquash {
            let wg = theta + gateWeightOffset, bg = theta + gateBiasOffset, wb = theta + hyperBiasOffset
            for j in 0..<out {
                g[j] = Activation.sigmoid(wg[j] * t + bg[j])
                c[j] = wb[j] * t
            }
        } else {
            for j in 0..<out { g[j] = 1; c[j] = 0 }
        }
        let fb = FloatBuffers(affine: floats(b.affine), gate: g, slope: floats(b.slope),
                              curvature: floats(b.curvature), output: floats(b.output), keep: b.keep,
                              packed: b.packedWeights.map { floats($0) })
        guard rowPath else {
            narrowForward(theta: theta, input: x, rows: n, tangents: k, buffers: fb)
            if let activation {
                activation.apply(count: n * out, values: b.output, slope: b.slope, curvature: b.curvature)
            }
            narrowTangents(theta: theta, input: x, rows: n, tangents: k, buffers: fb)
            return true
        }
        if b.keep {
            rowForward(StoreAll.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        } else if k > 0 {
            rowForward(StoreSlope.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        } else {
            rowForward(StoreOutput.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        }
        return true
    }

    private func rowForward<M: StoreMode>(_ mode: M.Type, theta: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                                          rows n: Int, tangents k: Int, buffers fb: FloatBuffers) {
        switch activation {
        case nil: rowForward(NoActivationLanes.self, M.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        case .tanh: rowForward(TanhLanes.self, M.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        case .softplus: rowForward(SoftplusLanes.self, M.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        case .elu: rowForward(ELULanes.self, M.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        case .swish: rowForward(SwishLanes.self, M.self, theta: theta, input: x, rows: n, tangents: k, buffers: fb)
        }
    }

    struct FloatBuffers {
        var affine, gate, slope, curvature, output: UnsafeMutablePointer<Float>
        var keep: Bool
        /// Wᵀ packed once per parameter update, or nil (packed into scratch per call).
        var packed: UnsafePointer<Float>?
    }

    private func rowForward<L: FusedActivationLanes, M: StoreMode>(_: L.Type, _: M.Type, theta: UnsafePointer<Float>,
                                                                   input x: UnsafePointer<Float>,
                                                                   rows n: Int, tangents k: Int, buffers b: FloatBuffers) {
        if let wt = b.packed {
            rowForward(L.self, M.self, theta: theta, input: x, wt: wt, rows: n, tangents: k, buffers: b)
            return
        }
        withPackedScratch(inputWidth * outputWidth) { wt in
            packTransposedWeights(theta + weightOffset, into: wt)
            rowForward(L.self, M.self, theta: theta, input: x, wt: wt, rows: n, tangents: k, buffers: b)
        }
    }

    /// `rowForward` with Wᵀ (in × out, row-major: the kernel's B) at `wt`.
    private func rowForward<L: FusedActivationLanes, M: StoreMode>(_: L.Type, _: M.Type, theta: UnsafePointer<Float>,
                                                                   input x: UnsafePointer<Float>, wt: UnsafePointer<Float>,
                                                                   rows n: Int, tangents k: Int, buffers b: FloatBuffers) {
        let out = outputWidth, inW = inputWidth
        #if arch(x86_64)
        if let code = L.code, KernelChoice.avx512RowProduct(columns: out, depth: inW, fused: true) {
            avx512Forward(L.self, M.self, activation: code, theta: theta, input: x, wt: wt, rows: n, tangents: k,
                          buffers: b)
            return
        }
        #endif
        let g = UnsafePointer(b.gate)
        SmallProducts.rowProduct(rows: n, columns: out, depth: inW, a: x, lda: inW, b: wt, ldb: out,
                                 epilogue: FusedPrimalRows<L, M>(bias: theta + biasOffset, gate: g, shift: g + out,
                                                              affine: b.affine, output: b.output, slope: b.slope,
                                                              curvature: b.curvature, width: out))
        guard k > 0 else { return }
        for block in 1...k {
            let r = block * n
            SmallProducts.rowProduct(rows: n, columns: out, depth: inW, a: x + r * inW, lda: inW, b: wt, ldb: out,
                                     epilogue: FusedTangentRows<L, M>(gate: g, slope: b.slope, affine: b.affine + r * out,
                                                                   output: b.output + r * out, width: out))
        }
    }

    #if arch(x86_64)
    /// `rowForward` on the AVX-512 kernels: `cnf_avx512_fused_primal_rows` (the product in 6×64
    /// tiles, then the epilogue on 16 lanes from L1, 48 rows at a time) and one
    /// `cnf_avx512_fused_tangent_rows` per tangent block. The same bits as the SIMD8 tiles:
    /// each h the same FMA chain over p, and the epilogue the same operations per element.
    /// Cost: the product at up to 2× the SIMD8 FMA rate and the epilogue at up to 2× its lane
    /// rate, for one extra store and L1 load of each element of h.
    private func avx512Forward<L: FusedActivationLanes, M: StoreMode>(_: L.Type, _: M.Type, activation code: UInt32,
                                                                      theta: UnsafePointer<Float>,
                                                                      input x: UnsafePointer<Float>,
                                                                      wt: UnsafePointer<Float>, rows n: Int, tangents k: Int,
                                                                      buffers b: FloatBuffers) {
        let out = outputWidth, inW = inputWidth
        let g = UnsafePointer(b.gate)
        let stores = Int32(M.backward ? CNF_STORE_AFFINE | CNF_STORE_CURVATURE : 0) | Int32(M.slope ? CNF_STORE_SLOPE : 0)
        var primal = cnf_fused_rows(bias: theta + biasOffset, gate: g, shift: g + out, slope_in: nil,
                                    affine: b.affine, output: b.output, slope: b.slope, curvature: b.curvature)
        cnf_avx512_fused_primal_rows(n, out, inW, x, inW, wt, out, cnf_activation(code), stores, &primal)
        guard k > 0 else { return }
        for block in 1...k {
            let r = block * n
            var tangent = cnf_fused_rows(bias: nil, gate: g, shift: nil, slope_in: UnsafePointer(b.slope),
                                         affine: b.affine + r * out, output: b.output + r * out, slope: nil, curvature: nil)
            cnf_avx512_fused_tangent_rows(n, out, inW, x + r * inW, inW, wt, out, L.present ? 1 : 0,
                                          M.backward ? Int32(CNF_STORE_AFFINE) : 0, &tangent)
        }
    }
    #endif

    private func narrowForward(theta: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                               rows n: Int, tangents k: Int, buffers b: FloatBuffers) {
        let out = outputWidth, inW = inputWidth
        let w = theta + weightOffset, g = UnsafePointer(b.gate)
        SmallProducts.rowDotProduct(rows: n, columns: out, depth: inW, a: x, lda: inW, b: w, ldb: inW,
                                    epilogue: FusedPrimalElements(bias: theta + biasOffset, gate: g, shift: g + out,
                                                                  affine: b.affine, output: b.output, width: out))
    }

    /// The tangent blocks of `narrowForward` (after the activation has filled σ'(a)).
    private func narrowTangents(theta: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                                rows n: Int, tangents k: Int, buffers b: FloatBuffers) {
        let out = outputWidth, inW = inputWidth
        let w = theta + weightOffset, g = UnsafePointer(b.gate)
        guard k > 0 else { return }
        for block in 1...k {
            let r = block * n
            SmallProducts.rowDotProduct(rows: n, columns: out, depth: inW, a: x + r * inW, lda: inW, b: w, ldb: inW,
                                        epilogue: FusedTangentElements(gate: g, slope: activation == nil ? nil : UnsafePointer(b.slope),
                                                                       affine: b.affine + r * out, output: b.output + r * out,
                                                                       width: out))
        }
    }

    /// W̄ += H̄ᵀ X over m stacked rows (H̄ m×out, X m×in): `SmallProducts.accumulateOuter` for
    /// Float where `KernelChoice` says so, else BLAS.
    func accumulateWeightBar<S: BLASScalar>(rows m: Int, outputBar hbar: BufferView<S>, input x: BufferView<S>,
                                            thetaBar: MutableBufferView<S>) {
        let out = outputWidth, inW = inputWidth
        if S.self == Float.self {
            let wbar = floats(thetaBar) + weightOffset
            if KernelChoice.outer(p: out, q: inW) {
                SmallProducts.accumulateOuter(rows: m, u: floats(hbar), ldu: out, p: out, v: floats(x), ldv: inW, q: inW,
                                              d: wbar, du: inW, dv: 1)
                return
            }
            if KernelChoice.outer(p: inW, q: out) {  // transposed: W̄ᵀ (in×out) += Xᵀ H̄
                SmallProducts.accumulateOuter(rows: m, u: floats(x), ldu: inW, p: inW, v: floats(hbar), ldv: out, q: out,
                                              d: wbar, du: 1, dv: inW)
                return
            }
        }
        S.gemm(transA: true, transB: false, m: out, n: inW, k: m, alpha: 1,
               a: hbar, lda: out, b: x, ldb: inW,
               beta: 1, c: thetaBar + weightOffset, ldc: inW)
    }

    /// X̄ = H̄ W for m rows (H̄ m×out, W out×in): the Swift kernels for Float where
    /// `KernelChoice` says so, else BLAS.
    func inputBar<S: BLASScalar>(rows m: Int, outputBar hbar: BufferView<S>, theta: BufferView<S>,
                                 packedWeights: BufferView<S>? = nil, inputBar xbar: MutableBufferView<S>) {
        let out = outputWidth, inW = inputWidth
        if S.self == Float.self {
            let w = floats(theta) + weightOffset
            if KernelChoice.rowProduct(columns: inW, depth: out) {
                SmallProducts.rowProduct(rows: m, columns: inW, depth: out, a: floats(hbar), lda: out, b: w, ldb: inW,
                                         epilogue: StoreRows(c: floats(xbar), ldc: inW))
                return
            }
            if KernelChoice.rowDotProduct(columns: inW, depth: out) {
                // Wᵀ (in × out): the dot kernel's B.
                if let packed = packedWeights {
                    SmallProducts.rowDotProduct(rows: m, columns: inW, depth: out, a: floats(hbar), lda: out,
                                                b: floats(packed), ldb: out, epilogue: StoreRows(c: floats(xbar), ldc: inW))
                    return
                }
                withPackedScratch(inW * out) { wt in
                    packTransposedWeights(w, into: wt)
                    SmallProducts.rowDotProduct(rows: m, columns: inW, depth: out, a: floats(hbar), lda: out,
                                                b: wt, ldb: out, epilogue: StoreRows(c: floats(xbar), ldc: inW))
                }
                return
            }
        }
        S.gemm(transA: false, transB: false, m: m, n: inW, k: out, alpha: 1,
               a: hbar, lda: out, b: theta + weightOffset, ldb: inW,
               beta: 0, c: xbar, ldc: inW)
    }
}
