import CNFCore
import XCTest
@testable import Networks

/// The kernels' two instruction-set paths, SIMD8 (AVX2+FMA) and AVX-512, give the same bits:
/// each product on its own (network shapes and edge shapes), and whole fused layers and
/// networks (forward in both store modes, evaluate, backward) for every activation.
/// On a CPU without AVX-512 the comparisons are skipped (there is nothing to compare), and the
/// path choice is checked never to pick AVX-512 there.
final class KernelPathTests: KernelSettingsTestCase {
    static let rowCounts = [1, 7, 100, 131]

    func testPolicyNeverPicksAVX512WithoutIt() {
        KernelChoice.isaPolicy = .avx512
        if !KernelChoice.avx512Supported {
            XCTAssertEqual(KernelChoice.policy, .simd8)
            XCTAssertFalse(KernelChoice.avx512RowProduct(columns: 64, depth: 64, fused: true))
            XCTAssertFalse(KernelChoice.avx512RowDotProduct(columns: 2, depth: 64, fused: true))
            XCTAssertFalse(KernelChoice.avx512Outer(p: 64, q: 64))
        } else {
            XCTAssertEqual(KernelChoice.policy, .avx512)
            XCTAssertTrue(KernelChoice.avx512RowProduct(columns: 64, depth: 64, fused: true))
        }
        KernelChoice.isaPolicy = .simd8
        XCTAssertFalse(KernelChoice.avx512RowProduct(columns: 64, depth: 64, fused: false))
        XCTAssertFalse(KernelChoice.avx512RowDotProduct(columns: 2, depth: 64, fused: false))
        XCTAssertFalse(KernelChoice.avx512Outer(p: 64, q: 64))
    }

    /// C = A·B: the network's shapes (n, k) = (64, 2), (64, 64), and edge shapes (masked last
    /// vector, several column panels, k = 1).
    func testRowProductSameBits() throws {
        try requireBothPaths()
        var g = Xoshiro256(seed: 51)
        for m in Self.rowCounts {
            for (n, k) in [(64, 2), (64, 64), (2 * 64, 64), (8, 1), (16, 5), (24, 64), (40, 33), (72, 7), (120, 3)] {
                let a = floats(m * k, &g).map { 3 * $0 }, b = floats(k * n, &g)
                let (x, y) = onBothPaths { () -> [Float] in
                    var c = [Float](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                        SmallProducts.rowProduct(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                                 epilogue: StoreRows(c: c.baseAddress!, ldc: n))
                    }}}
                    return c
                }
                assertSameBits(x, y, "rowProduct m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    /// C = A·Bᵀ for 1–4 columns, k with and without a k % 8 tail.
    func testRowDotProductSameBits() throws {
        try requireBothPaths()
        var g = Xoshiro256(seed: 52)
        for m in Self.rowCounts {
            for (n, k) in [(2, 64), (1, 13), (3, 8), (4, 2), (2, 67), (4, 64), (3, 24), (1, 1)] {
                let a = floats(m * k, &g), b = floats(n * k, &g)
                let (x, y) = onBothPaths { () -> [Float] in
                    var c = [Float](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                        SmallProducts.rowDotProduct(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k,
                                                    epilogue: StoreRows(c: c.baseAddress!, ldc: n))
                    }}}
                    return c
                }
                assertSameBits(x, y, "rowDotProduct m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    /// D += Uᵀ V, row-major and transposed D, both tile heights, more than one 64-row block.
    func testAccumulateOuterSameBits() throws {
        try requireBothPaths()
        var g = Xoshiro256(seed: 53)
        for m in Self.rowCounts + [1000] {
            for (p, q, transposed) in [(64, 64, false), (2, 64, false), (2, 64, true), (64, 2 * 64, false), (7, 16, false),
                                       (1, 32, true), (13, 48, true), (3, 80, false), (6, 16, true)] {
                let u = floats(m * p, &g), v = floats(m * q, &g), d0 = floats(p * q, &g)
                let (x, y) = onBothPaths { accumulateOuter(rows: m, u: u, p: p, v: v, q: q, onto: d0, transposed: transposed) }
                assertSameBits(x, y, "accumulateOuter m=\(m) p=\(p) q=\(q) transposed=\(transposed)")
            }
        }
    }

    /// Whole networks through every fused layer kind: 2→64→64→2 (every activation, both layer
    /// types), 3→24→40→3 (masked vectors, three-column dots) and 2→48→128→2 (two column panels,
    /// Wᵀ packed in several 16×16 blocks and edges), k = 0…2 tangent blocks, rows
    /// 1/7/100/131. Forward keeps everything (the StoreAll epilogues) and is followed by
    /// backward (x̄ and W̄ products); evaluate stores only y (StoreOutput) or y and σ'
    /// (StoreSlope). Every output, every buffer forward wrote, x̄ and θ̄ are compared bit for bit.
    func testFusedLayersSameBits() throws {
        try requireBothPaths()
        for (dimension, hidden) in [(2, [64, 64]), (3, [24, 40]), (2, [48, 128])] {
            for activation in Activation.allCases {
                for type in LayerType.allCases {
                    let c = ODENetConfiguration(dimension: dimension, hiddenWidths: hidden, activation: activation, layerType: type)
                    var g = Xoshiro256(seed: 61)
                    let net = ODENet<Float>(configuration: c, generator: &g)
                    for rows in Self.rowCounts {
                        for k in 0...2 {
                            let x = floats((1 + k) * rows * dimension, &g).map { 2 * $0 }
                            let bar = floats((1 + k) * rows * dimension, &g)
                            let label = "\(dimension)→\(hidden)→\(dimension) \(activation) \(type) rows=\(rows) k=\(k)"
                            let (s, w) = onBothPaths { () -> [[Float]] in
                                let ws = net.makeWorkspace(maxRows: rows, tangents: k)
                                let out = forwardStacked(net, t: 0.3, x: Array(x.prefix(rows * dimension)),
                                                         tangents: Array(x.dropFirst(rows * dimension)), rows: rows, k: k,
                                                         outputWidth: dimension, workspace: ws)
                                // Everything forward wrote (affine, gate, σ', σ'', layer outputs), before backward reuses scratch.
                                let regions = ws.regions.flatMap { Array($0.readOnly) }
                                var xbar = [Float](repeating: 0, count: rows * dimension)
                                var thetaBar = [Float](repeating: 0, count: net.parameterCount)
                                net.backward(outputBar: bar, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
                                let evaluated = evaluateStacked(net, x: x, rows: rows, k: k, dimension: dimension)
                                return [out, regions, xbar, thetaBar, evaluated]
                            }
                            for (i, part) in ["output", "forward buffers", "x̄", "θ̄", "evaluate output"].enumerated() {
                                assertSameBits(s[i], w[i], "\(label) \(part)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The activations' clamps and special values: one fused layer (8 → 64, both layer types)
    /// on inputs up to ±300 (tanh saturates, exp clamps at −87.3 and 88.7), ±0, subnormals,
    /// ±∞ and NaN, so that each activation's 16-lane copy meets every branch of the Swift one.
    func testFusedActivationExtremesSameBits() throws {
        try requireBothPaths()
        var g = Xoshiro256(seed: 71)
        let special: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .infinity, -.infinity, .nan,
                                87.3, -87.3, 88.7, -88.7, 7.905_311, -7.905_311, 1e-30, -1e-30, 1e30]
        for type in LayerType.allCases {
            for activation in [nil] + Activation.allCases.map(Optional.some) {
                let layer = DualLayer(type: type, inputWidth: 8, outputWidth: 64, activation: activation, offset: 0)
                let rows = 40, k = 1, m = (1 + k) * rows
                let theta = floats(layer.parameterCount, &g)
                var x = floats(m * 8, &g).enumerated().map { i, v in v * Float([1, 10, 300][i % 3]) }
                for (i, v) in special.enumerated() { x[i * 8 + i % 8] = v }  // one special value in each of rows 0…15
                for keep in [true, false] {
                    let label = "\(type) \(activation.map(\.rawValue) ?? "no activation") keep=\(keep)"
                    let (s, w) = onBothPaths { () -> [Float] in
                        let storage = AlignedBuffer<Float>(regionSizes: [theta.count, x.count, m * 64, 128, rows * 64, rows * 64, m * 64])
                        let r = storage.regions
                        r[0].update(from: theta)
                        r[1].update(from: x)
                        var b = LayerBuffers(affine: r[2], gate: r[3], slope: r[4], curvature: r[5], output: r[6])
                        b.keep = keep
                        layer.forward(theta: r[0].readOnly, t: 0.45, input: r[1].readOnly, rows: rows, tangents: k, buffers: b)
                        return (2...6).flatMap { Array(r[$0].readOnly) }
                    }
                    assertSameBits(s, w, label)
                }
            }
        }
    }

    /// `ODENet.evaluate` (no backward follows: the StoreOutput/StoreSlope epilogues).
    func evaluateStacked(_ net: ODENet<Float>, x: [Float], rows: Int, k: Int, dimension: Int) -> [Float] {
        let ws = net.makeWorkspace(maxRows: rows, tangents: k)
        var output = [Float](repeating: .nan, count: (1 + k) * rows * dimension)
        x.withBufferView { input in
            output.withMutableBufferView { out in
                net.evaluate(t: 0.7, input: input, rows: rows, tangents: k, output: out, workspace: ws)
            }
        }
        return output
    }
}
