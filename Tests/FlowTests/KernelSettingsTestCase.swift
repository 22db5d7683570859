import CNFCore
import XCTest
@testable import Networks

/// The kernel tests' shared settings: each test may force a path (`KernelChoice.isaPolicy`) or
/// the kernels on (`KernelChoice.enabled`); the run's own settings (from CNF_KERNELS) come back
/// after it.
class KernelSettingsTestCase: XCTestCase {
    var savedPolicy = KernelChoice.isaPolicy, savedEnabled = KernelChoice.enabled

    override func setUp() {
        super.setUp()
        savedPolicy = KernelChoice.isaPolicy
        savedEnabled = KernelChoice.enabled
        KernelChoice.enabled = true
    }

    override func tearDown() {
        KernelChoice.isaPolicy = savedPolicy
        KernelChoice.enabled = savedEnabled
        super.tearDown()
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
