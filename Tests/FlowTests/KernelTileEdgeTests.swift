import CNFCore
import XCTest
@testable import Networks

/// The AVX-512 kernels' last partial tiles compute exactly the rows (row product) or values of
/// u (outer product) left, in tiles of 1–5; the same bits as the SIMD8 kernels for every
/// remainder (KernelPathTests' row counts leave some remainders out): row counts 2, 3, 8, 9, 50,
/// 52 and u widths 4, 5, 8, 10, 11, and whole networks at 2, 3, 50, 51 rows (the fused forward's
/// 48-row blocks plus 2 or 3).
final class KernelTileEdgeTests: KernelSettingsTestCase {
    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    func testRowProductRemainders() throws {
        try requireBothPaths()
        var g = Xoshiro256(seed: 103)
        for m in [2, 3, 8, 9, 50, 52] {
            for (n, k) in [(64, 64), (64, 2), (24, 9), (8, 1)] {
                let a = floats(m * k, &g), b = floats(k * n, &g)
                let (x, y) = onBothPaths { () -> [Float] in
                    var c = [Float](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                        SmallProducts.rowProduct(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                                 epilogue: StoreRows(c: c.baseAddress!, ldc: n))
                    }}}
                    return c
                }
                XCTAssertEqual(bits(x), bits(y), "rowProduct m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    func testAccumulateOuterRemainders() throws {
        try requireBothPaths()
        var g = Xoshiro256(seed: 107)
        for m in [3, 50, 100] {
            for (p, q, transposed) in [(4, 64, false), (5, 16, false), (8, 64, false), (10, 32, true), (11, 64, false)] {
                let u = floats(m * p, &g), v = floats(m * q, &g), d0 = floats(p * q, &g)
                let (x, y) = onBothPaths { accumulateOuter(rows: m, u: u, p: p, v: v, q: q, onto: d0, transposed: transposed) }
                XCTAssertEqual(bits(x), bits(y), "accumulateOuter m=\(m) p=\(p) q=\(q) transposed=\(transposed)")
            }
        }
    }

    func testNetworkRemainders() throws {
        try requireBothPaths()
        let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64])
        var g = Xoshiro256(seed: 109)
        let net = ODENet<Float>(configuration: c, generator: &g)
        for rows in [2, 3, 50, 51] {
            for k in 0...2 {
                let x = floats((1 + k) * rows * 2, &g).map { 2 * $0 }, bar = floats((1 + k) * rows * 2, &g)
                let (s, w) = onBothPaths { () -> [Float] in
                    let ws = net.makeWorkspace(maxRows: rows, tangents: k)
                    var out = [Float](repeating: 0, count: x.count)
                    net.forward(t: 0.3, input: x, rows: rows, tangents: k, output: &out, workspace: ws)
                    var xbar = [Float](repeating: 0, count: rows * 2), thetaBar = [Float](repeating: 0, count: net.parameterCount)
                    net.backward(outputBar: bar, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
                    var evaluated = [Float](repeating: 0, count: x.count)
                    x.withBufferView { input in
                        evaluated.withMutableBufferView { out in
                            net.evaluate(t: 0.3, input: input, rows: rows, tangents: k, output: out, workspace: ws)
                        }
                    }
                    return out + xbar + thetaBar + evaluated
                }
                XCTAssertEqual(bits(s), bits(w), "network rows=\(rows) k=\(k)")
            }
        }
    }
}
