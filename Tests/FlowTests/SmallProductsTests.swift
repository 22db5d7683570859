import CNFCore
import XCTest
@testable import Networks

/// The Swift matrix kernels (Sources/Networks/Kernels) against a Double reference, on random
/// shapes with edge sizes (m = 1, 7, 100, 1000; widths not a multiple of the tiles), and the
/// fused layer path against the BLAS path of the same network.
final class SmallProductsTests: XCTestCase {
    /// |c − ref| ≤ tolerance · Σ_p |a_p b_p| per element: a relative bound that does not
    /// depend on cancellation in the sum.
    func assertClose(_ c: [Float], _ ref: [Double], _ scale: [Double], tolerance: Double = 1e-5,
                     _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(c.count, ref.count, label, file: file, line: line)
        var worst = 0.0
        for i in 0..<c.count { worst = max(worst, abs(Double(c[i]) - ref[i]) / max(scale[i], 1e-30)) }
        XCTAssertLessThan(worst, tolerance, label, file: file, line: line)
    }

    func floats(_ n: Int, _ g: inout Xoshiro256) -> [Float] { (0..<n).map { _ in Float(g.uniform(-1, 1)) } }

    func testRowProductMatchesDouble() {
        var g = Xoshiro256(seed: 21)
        for m in [1, 7, 100, 1000] {
            for (n, k) in [(64, 64), (64, 2), (16, 5), (24, 64), (8, 1), (40, 33)] {
                let a = floats(m * k, &g), b = floats(k * n, &g)
                var c = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                    SmallProducts.rowProduct(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                             epilogue: StoreRows(c: c.baseAddress!, ldc: n))
                }}}
                var ref = [Double](repeating: 0, count: m * n), scale = ref
                for i in 0..<m { for j in 0..<n { for p in 0..<k {
                    ref[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j])
                    scale[i * n + j] += abs(Double(a[i * k + p]) * Double(b[p * n + j]))
                }}}
                assertClose(c, ref, scale, "rowProduct m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    func testRowDotProductMatchesDouble() {
        var g = Xoshiro256(seed: 22)
        for m in [1, 7, 100, 1000] {
            for (n, k) in [(2, 64), (1, 13), (3, 8), (4, 2)] {
                let a = floats(m * k, &g), b = floats(n * k, &g)
                var c = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                    SmallProducts.rowDotProduct(rows: m, columns: n, depth: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k,
                                                epilogue: StoreRows(c: c.baseAddress!, ldc: n))
                }}}
                var ref = [Double](repeating: 0, count: m * n), scale = ref
                for i in 0..<m { for j in 0..<n { for p in 0..<k {
                    ref[i * n + j] += Double(a[i * k + p]) * Double(b[j * k + p])
                    scale[i * n + j] += abs(Double(a[i * k + p]) * Double(b[j * k + p]))
                }}}
                assertClose(c, ref, scale, "rowDotProduct m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    /// D += Uᵀ V, row-major (dv = 1) and transposed (du = 1) output, both tile shapes.
    func testAccumulateOuterMatchesDouble() {
        var g = Xoshiro256(seed: 23)
        for m in [1, 7, 100, 1000] {
            for (p, q, transposed) in [(64, 64, false), (2, 64, false), (2, 64, true), (7, 16, false), (1, 32, true), (13, 48, true)] {
                let u = floats(m * p, &g), v = floats(m * q, &g), d0 = floats(p * q, &g)
                var d = d0
                let (du, dv) = transposed ? (1, p) : (q, 1)
                u.withUnsafeBufferPointer { u in v.withUnsafeBufferPointer { v in d.withUnsafeMutableBufferPointer { d in
                    SmallProducts.accumulateOuter(rows: m, u: u.baseAddress!, ldu: p, p: p, v: v.baseAddress!, ldv: q, q: q,
                                                  d: d.baseAddress!, du: du, dv: dv)
                }}}
                var ref = [Double](repeating: 0, count: p * q), scale = ref
                for a in 0..<p { for b in 0..<q {
                    let o = a * du + b * dv
                    ref[o] = Double(d0[o]); scale[o] = abs(Double(d0[o]))
                    for r in 0..<m {
                        ref[o] += Double(u[r * p + a]) * Double(v[r * q + b])
                        scale[o] += abs(Double(u[r * p + a]) * Double(v[r * q + b]))
                    }
                }}
                assertClose(d, ref, scale, "accumulateOuter m=\(m) p=\(p) q=\(q) transposed=\(transposed)")
            }
        }
    }

    /// The default network (2-64-64-64-2, concatsquash) on the fused path against the BLAS
    /// path and against Double: outputs, tangents, x̄ and θ̄, for every activation and k = 0…2.
    func testFusedNetworkMatchesBLASAndDouble() {
        defer { KernelChoice.enabled = true }
        for activation in Activation.allCases {
            for type in LayerType.allCases {
                for (rows, k) in [(1, 0), (7, 1), (100, 2), (333, 1)] {
                    let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64], activation: activation, layerType: type)
                    var g = Xoshiro256(seed: 31)
                    let double = ODENet<Double>(configuration: c, generator: &g)
                    let single = ODENet<Float>(configuration: c, parameters: double.parameters.map { Float($0) })
                    let x = floats(rows * 2, &g).map { 2 * $0 }, xdot = floats(k * rows * 2, &g)
                    let bar = floats((1 + k) * rows * 2, &g)
                    let label = "\(activation) \(type) rows=\(rows) k=\(k)"

                    func run(fused: Bool) -> (out: [Float], xbar: [Float], thetaBar: [Float]) {
                        KernelChoice.enabled = fused
                        let ws = single.makeWorkspace(maxRows: rows, tangents: k)
                        let out = forwardStacked(single, t: 0.3, x: x, tangents: xdot, rows: rows, k: k, outputWidth: 2, workspace: ws)
                        var xbar = [Float](repeating: 0, count: rows * 2)
                        var thetaBar = [Float](repeating: 0, count: single.parameterCount)
                        single.backward(outputBar: bar, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
                        return (out, xbar, thetaBar)
                    }
                    let fused = run(fused: true), blas = run(fused: false)
                    XCTAssertLessThan(relativeError(fused.out.map(Double.init), blas.out.map(Double.init)), 1e-5, label)
                    XCTAssertLessThan(relativeError(fused.xbar.map(Double.init), blas.xbar.map(Double.init)), 1e-5, label)
                    XCTAssertLessThan(relativeError(fused.thetaBar.map(Double.init), blas.thetaBar.map(Double.init)), 1e-5, label)

                    let ws = double.makeWorkspace(maxRows: rows, tangents: k)
                    let out = forwardStacked(double, t: 0.3, x: x.map(Double.init), tangents: xdot.map(Double.init),
                                             rows: rows, k: k, outputWidth: 2, workspace: ws)
                    var xbar = [Double](repeating: 0, count: rows * 2)
                    var thetaBar = [Double](repeating: 0, count: double.parameterCount)
                    double.backward(outputBar: bar.map(Double.init), inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
                    XCTAssertLessThan(relativeError(fused.out.map(Double.init), out), 1e-5, label)
                    XCTAssertLessThan(relativeError(fused.xbar.map(Double.init), xbar), 1e-5, label)
                    XCTAssertLessThan(relativeError(fused.thetaBar.map(Double.init), thetaBar), 1e-5, label)
                }
            }
        }
    }

    /// A sample's output and tangents on the fused path are the same bits whether it is
    /// evaluated in a call of 100 rows or of 7: nothing depends on the batch or its chunking.
    func testFusedRowsDoNotDependOnBatch() {
        let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64])
        var g = Xoshiro256(seed: 41)
        let net = ODENet<Float>(configuration: c, generator: &g)
        let rows = 100, few = 7, k = 2
        let x = floats(rows * 2, &g), xdot = floats(k * rows * 2, &g)
        let all = forwardStacked(net, t: 0.6, x: x, tangents: xdot, rows: rows, k: k, outputWidth: 2)
        // The same samples 93..99 alone: their rows of x and of each tangent block.
        let pick = { (block: [Float], start: Int) in Array(block[(start * 2)..<((start + few) * 2)]) }
        let xs = pick(x, rows - few)
        var tangents: [Float] = []
        for b in 0..<k { tangents += pick(Array(xdot[(b * rows * 2)..<((b + 1) * rows * 2)]), rows - few) }
        let part = forwardStacked(net, t: 0.6, x: xs, tangents: tangents, rows: few, k: k, outputWidth: 2)
        for b in 0...k {
            for i in 0..<(few * 2) {
                XCTAssertEqual(part[b * few * 2 + i].bitPattern, all[(b * rows + rows - few) * 2 + i].bitPattern, "block \(b) \(i)")
            }
        }
    }
}
