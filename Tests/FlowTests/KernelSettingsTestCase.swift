import CNFCore
import XCTest
@testable import Networks

/// The kernel tests' shared settings and helpers: each test may force a path
/// (`KernelChoice.isaPolicy`), the kernels on (`KernelChoice.enabled`) or the fused backward
/// pass on or off; the run's own settings (from CNF_KERNELS) come back after it.
class KernelSettingsTestCase: XCTestCase {
    var savedPolicy = KernelChoice.isaPolicy, savedEnabled = KernelChoice.enabled, savedFused = KernelChoice.fusedBackward

    override func setUp() {
        super.setUp()
        savedPolicy = KernelChoice.isaPolicy
        savedEnabled = KernelChoice.enabled
        savedFused = KernelChoice.fusedBackward
        KernelChoice.enabled = true
    }

    override func tearDown() {
        KernelChoice.isaPolicy = savedPolicy
        KernelChoice.enabled = savedEnabled
        KernelChoice.fusedBackward = savedFused
        super.tearDown()
    }

    /// n values uniform in [−1, 1].
    func floats(_ n: Int, _ g: inout Xoshiro256) -> [Float] { (0..<n).map { _ in Float(g.uniform(-1, 1)) } }

    /// `body` on each path, from the same inputs; returns (SIMD8, AVX-512) results.
    func onBothPaths<R>(_ body: () -> R) -> (simd8: R, avx512: R) {
        KernelChoice.isaPolicy = .simd8
        let a = body()
        KernelChoice.isaPolicy = .avx512
        let b = body()
        KernelChoice.isaPolicy = savedPolicy
        return (a, b)
    }

    /// d0 + Uᵀ·V through `SmallProducts.accumulateOuter` (U m×p, V m×q; D stored transposed
    /// when asked) on the current path.
    func accumulateOuter(rows m: Int, u: [Float], p: Int, v: [Float], q: Int, onto d0: [Float], transposed: Bool) -> [Float] {
        let (du, dv) = transposed ? (1, p) : (q, 1)
        var d = d0
        u.withUnsafeBufferPointer { u in v.withUnsafeBufferPointer { v in d.withUnsafeMutableBufferPointer { d in
            SmallProducts.accumulateOuter(rows: m, u: u.baseAddress!, ldu: p, p: p, v: v.baseAddress!, ldv: q, q: q,
                                          d: d.baseAddress!, du: du, dv: dv)
        }}}
        return d
    }

    /// Whether two NaNs count as the same result whatever their bits (see FusedBackwardTests).
    var nanCountsAsEqual: Bool { false }

    /// x and y have the same bit patterns, element by element; names the first that differs.
    func assertSameBits(_ x: [Float], _ y: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.count, y.count, label, file: file, line: line)
        let nanEqual = nanCountsAsEqual
        let differing = (0..<min(x.count, y.count)).filter {
            x[$0].bitPattern != y[$0].bitPattern && !(nanEqual && x[$0].isNaN && y[$0].isNaN)
        }
        let first = differing.first.map { i in
            ", first at \(i): \(String(x[i].bitPattern, radix: 16)) vs \(String(y[i].bitPattern, radix: 16))"
        } ?? ""
        XCTAssertEqual(differing.count, 0, "\(label): \(differing.count) of \(x.count) elements differ in their bits\(first)",
                       file: file, line: line)
    }

    /// Skips a comparison of the two paths where there is only one (no AVX-512) or where the
    /// SIMD8 path rounds differently (a debug build, without FMA).
    func requireBothPaths() throws {
        guard KernelChoice.avx512Supported else {
            throw XCTSkip("this CPU has no AVX-512F/VL: only the SIMD8 path runs here")
        }
        guard KernelChoice.hardwareFMA else {
            throw XCTSkip("the SIMD8 kernels are built without FMA (debug build): they round differently from AVX-512")
        }
    }
}
