import CNFCore
#if arch(x86_64)
import CKernels
#endif

/// The element-wise part of `DualLayer.backward` for Float in one pass over the rows (ā and ǡ_k,
/// the gate, H̄ and the column sums ḡ, c̄, Σh̄), on the SIMD8 or the AVX-512 path.
///
/// Bits: every element gets the same separately rounded multiplies and adds, in the same order,
/// as the generic loops of `DualLayer.backward` (which Double and `KernelChoice.fusedBackward =
/// false` still run); lanes are columns, so neither the vector width nor the column panels
/// change any element's arithmetic, and each column sum adds its rows in row order (primal
/// row i, then its tangent rows block by block, then row i + 1). Tested in
/// `FusedBackwardTests` against the generic loops on both paths.
///
/// Cost (AMD EPYC Zen 5, 64-wide layer, 50 rows, k = 1): the generic loops ran six passes per
/// row, partly scalar; this is one pass with the column sums in registers.
extension DualLayer {
    /// Writes H̄ ((1 + k)·n rows) to `hbar` and ḡ, c̄, Σh̄ (out each) to `columns`,
    /// `columns + out`, `columns + 2·out`; returns false, having done nothing, when the
    /// generic loops should run (Double, or `KernelChoice.fusedBackward` off).
    func fusedBackwardRows<S: BLASScalar>(rows n: Int, tangents k: Int, buffers b: LayerBuffers<S>,
                                          outputBar ybar: BufferView<S>, scratch hbar: MutableBufferView<S>,
                                          columns: MutableBufferView<S>) -> Bool {
        guard S.self == Float.self, KernelChoice.fusedBackward else { return false }
        let out = outputWidth
        let squash = type == .concatSquash, activated = activation != nil
        let rows = BackwardRows(ybar: floats(ybar), affine: floats(b.affine.readOnly), gate: floats(b.gate.readOnly),
                                slope: floats(b.slope.readOnly), curvature: floats(b.curvature.readOnly), hbar: floats(hbar),
                                gateBar: floats(columns), shiftBar: floats(columns) + out,
                                biasBar: floats(columns) + 2 * out)
        #if arch(x86_64)
        if KernelChoice.avx512Elementwise {
            var e = cnf_backward_rows(ybar: rows.ybar, affine: rows.affine, gate: rows.gate, slope: rows.slope,
                                      curvature: rows.curvature, hbar: rows.hbar, gate_bar: rows.gateBar,
                                      shift_bar: rows.shiftBar, bias_bar: rows.biasBar)
            cnf_avx512_backward_rows(n, out, k, squash ? 1 : 0, activated ? 1 : 0, &e)
            return true
        }
        #endif
        switch (squash, activated) {
        case (true, true): rows.run(BackwardSquash.self, BackwardActivated.self, rows: n, width: out, tangents: k)
        case (true, false): rows.run(BackwardSquash.self, BackwardLinear.self, rows: n, width: out, tangents: k)
        case (false, true): rows.run(BackwardPlain.self, BackwardActivated.self, rows: n, width: out, tangents: k)
        case (false, false): rows.run(BackwardPlain.self, BackwardLinear.self, rows: n, width: out, tangents: k)
        }
        return true
    }
}

/// Whether the layer is ConcatSquash (gate terms) and whether it has an activation (σ', σ''
/// terms), as types so that each combination compiles to its own straight loop.
protocol BackwardFlag { static var on: Bool { get } }
enum BackwardSquash: BackwardFlag { static var on: Bool { true } }
enum BackwardPlain: BackwardFlag { static var on: Bool { false } }
enum BackwardActivated: BackwardFlag { static var on: Bool { true } }
enum BackwardLinear: BackwardFlag { static var on: Bool { false } }

/// The SIMD8 pass (the buffers as in `cnf_backward_rows`, Sources/CKernels/include/CKernels.h).
struct BackwardRows {
    let ybar, affine, gate, slope, curvature: UnsafePointer<Float>
    let hbar, gateBar, shiftBar, biasBar: UnsafeMutablePointer<Float>

    /// Column panels of sixteen (`SIMD16`: two 8-lane vectors, so two independent chains per
    /// column sum), then of eight; a last partial panel is padded with zeros on load and stored
    /// lane by lane. Each panel runs over all n rows with its column sums in registers.
    @inline(__always)
    func run<Q: BackwardFlag, A: BackwardFlag>(_: Q.Type, _: A.Type, rows n: Int, width out: Int, tangents k: Int) {
        var j = 0
        while j + 16 <= out {
            panel(Q.self, A.self, Lanes16(), column: j, rows: n, width: out, tangents: k)
            j += 16
        }
        while j < out {
            let lanes = Swift.min(8, out - j)
            if lanes == 8 {
                panel(Q.self, A.self, Lanes8(), column: j, rows: n, width: out, tangents: k)
            } else {
                panel(Q.self, A.self, PartialLanes(count: lanes), column: j, rows: n, width: out, tangents: k)
            }
            j += 8
        }
    }

    @inline(__always)
    private func panel<Q: BackwardFlag, A: BackwardFlag, L: LaneAccess>(_: Q.Type, _: A.Type, _ lanes: L, column j: Int,
                                                                        rows n: Int, width out: Int, tangents k: Int) {
        let zero = L.V()
        var gb = zero, cb = zero, bb = zero
        let g = Q.on ? lanes.load(gate + j) : zero
        let block = n &* out  // one tangent block's rows
        var o = j
        for _ in 0..<n {
            let y = lanes.load(ybar + o)
            var s = zero, abar = y
            if A.on {
                s = lanes.load(slope + o)
                var d = zero
                var r = o
                for _ in 0..<k {
                    r = r &+ block
                    d = lanes.load(affine + r) * lanes.load(ybar + r) + d
                }
                if Q.on && k > 0 { d = d * g }
                abar = s * y + lanes.load(curvature + o) * d
            }
            var hb = abar
            if Q.on {
                gb = abar * lanes.load(affine + o) + gb
                cb = abar + cb
                hb = abar * g
            }
            lanes.store(hb, hbar + o)
            bb = hb + bb
            var r = o
            for _ in 0..<k {
                r = r &+ block
                let yk = lanes.load(ybar + r)
                let t = A.on ? s * yk : yk
                if Q.on {
                    gb = t * lanes.load(affine + r) + gb
                    lanes.store(t * g, hbar + r)
                } else {
                    lanes.store(t, hbar + r)
                }
            }
            o = o &+ out
        }
        lanes.store(gb, gateBar + j)
        lanes.store(cb, shiftBar + j)
        lanes.store(bb, biasBar + j)
    }
}

/// How `BackwardRows` reads and writes one panel's lanes (`V` wide; lanes are columns).
protocol LaneAccess {
    associatedtype V: SIMD where V.Scalar == Float
    func load(_ p: UnsafePointer<Float>) -> V
    func store(_ v: V, _ p: UnsafeMutablePointer<Float>)
}

struct Lanes8: LaneAccess {
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { SmallProducts.load(p) }
    @inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { SmallProducts.store(v, p) }
}

struct Lanes16: LaneAccess {
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}

/// The first `count` (< 8) lanes; the others load as 0 and are not stored.
struct PartialLanes: LaneAccess {
    let count: Int
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        var v = SIMD8<Float>()
        for l in 0..<count { v[l] = p[l] }
        return v
    }
    @inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        for l in 0..<count { p[l] = v[l] }
    }
}
