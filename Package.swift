// swift-tools-version:6.0
import PackageDescription

let v5: SwiftSetting = .swiftLanguageMode(.v5)

// The hot loops (activations, element-wise dual-number work, the solvers' vector updates) use
// 8-lane SIMD; on x86-64 they need AVX2/FMA code generation to run at full width. Measured with
// `cnf bench` (benchmarks/RESULTS.md): 12–15 % less time per evaluation. Every x86-64 CPU since
// 2013 (Haswell, Zen) has it; other architectures build without the flag.
// The hot modules are split by concern (Networks, Flow, ODE); cross-module optimization lets the
// compiler specialize and inline the generic network kernels across the module boundaries as it
// did when they shared one module.
// FUSED_MULTIPLY_ADD tells the matrix kernels (Sources/Networks/Kernels) that FMA is an
// instruction here (haswell on x86-64 release builds; always on arm64, where it is baseline).
#if arch(x86_64)
let hot: [SwiftSetting] = [v5, .unsafeFlags(["-target-cpu", "haswell", "-cross-module-optimization"], .when(configuration: .release)),
                           .define("FUSED_MULTIPLY_ADD", .when(configuration: .release))]
#else
let hot: [SwiftSetting] = [v5, .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
                           .define("FUSED_MULTIPLY_ADD")]
#endif

let package = Package(
    name: "cnf",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnf", targets: ["cnf"]),
        .library(name: "Flow", targets: ["CNFCore", "ODE", "Networks", "Flow", "Training", "Persistence", "ToyData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CFreeType", pkgConfig: "freetype2", providers: [.apt(["libfreetype-dev"])]),

        // MARK: Library modules. Arrows point down; each target lists exactly what its files import:
        //   cnf → Persistence → Training → Flow → Networks → CNFCore
        //                                   Flow → ODE;  cnf → ToyData → CNFCore;  cnf → Render
        // CNFCore: matrices on BLAS, the seeded generator and its named streams, the fork-join
        // pool, the monotonic clock. ODE: solvers (no dependency). Networks: dual layers,
        // activations, the ODE net. Flow: the CNF (dynamics, density, sampling, encoding).
        // Training: loss options, Adam, schedules, the trainer, the fit configuration.
        // Persistence: safetensors and checkpoints.
        .target(name: "CNFCore",
                dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: [v5]),
        .target(name: "ODE", dependencies: [], swiftSettings: hot),
        // CKernels: the AVX-512 matrix kernels, in C so that no AVX-512 instruction can be inlined
        // into (or linked as a shared specialization for) the haswell-compiled Swift modules;
        // Networks calls them only on CPUs that have AVX-512 (KernelChoice, Sources/CKernels).
        .target(name: "CKernels"),
        .target(name: "Networks", dependencies: ["CNFCore", "CKernels"], swiftSettings: hot),
        .target(name: "Flow", dependencies: ["CNFCore", "ODE", "Networks"], swiftSettings: hot),
        .target(name: "Training", dependencies: ["CNFCore", "ODE", "Networks", "Flow"], swiftSettings: hot),
        .target(name: "Persistence", dependencies: ["CNFCore", "Networks", "Flow", "Training"], swiftSettings: [v5]),
        .target(name: "ToyData", dependencies: ["CNFCore"], swiftSettings: [v5]),
        .target(name: "Render", dependencies: ["CPNG", "CFreeType"], swiftSettings: [v5]),

        // MARK: Command line
        .executableTarget(name: "cnf",
                          dependencies: ["Networks", "Flow", "Training", "Persistence", "ToyData", "Render", "ODE", "CNFCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: [v5]),

        // MARK: Tests
        .testTarget(name: "CNFCoreTests", dependencies: ["CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "ODETests", dependencies: ["ODE"], swiftSettings: [v5]),
        .testTarget(name: "FlowTests", dependencies: ["Networks", "Flow", "Training", "Persistence", "ODE", "CNFCore", "ToyData"],
                    swiftSettings: [v5]),
        .testTarget(name: "ToyDataTests", dependencies: ["ToyData", "CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "RenderTests", dependencies: ["Render", "CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "CLITests", dependencies: ["cnf", "CNFCore", "Networks", "Flow", "ODE", "Render", "Training"], swiftSettings: [v5]),
    ]
)
