// swift-tools-version:6.0
import PackageDescription

let v5: SwiftSetting = .swiftLanguageMode(.v5)

// The hot loops (activations, element-wise dual-number work, the solvers' vector updates) use
// 8-lane SIMD; on x86-64 they need AVX2/FMA code generation to run at full width. Measured with
// `cnf bench` (benchmarks/RESULTS.md): 12–15 % less time per evaluation. Every x86-64 CPU since
// 2013 (Haswell, Zen) has it; other architectures build without the flag.
#if arch(x86_64)
let hot: [SwiftSetting] = [v5, .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
#else
let hot: [SwiftSetting] = [v5]
#endif

let package = Package(
    name: "cnf",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnf", targets: ["cnf"]),
        .library(name: "Flow", targets: ["Flow"]),
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

        // MARK: Library modules (arrows point down: cnf → Render, Flow, ToyData → ODE → CNFCore)
        .target(name: "CNFCore",
                dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: [v5]),
        .target(name: "ODE", dependencies: ["CNFCore"], swiftSettings: hot),
        .target(name: "Flow", dependencies: ["CNFCore", "ODE"], swiftSettings: hot),
        .target(name: "ToyData", dependencies: ["CNFCore"], swiftSettings: [v5]),
        .target(name: "Render", dependencies: ["CPNG", "CFreeType", "CNFCore"], swiftSettings: [v5]),

        // MARK: Command line
        .executableTarget(name: "cnf",
                          dependencies: ["Flow", "ToyData", "Render", "ODE", "CNFCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: [v5]),

        // MARK: Tests
        .testTarget(name: "CNFCoreTests", dependencies: ["CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "ODETests", dependencies: ["ODE", "CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "FlowTests", dependencies: ["Flow", "ODE", "CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "ToyDataTests", dependencies: ["ToyData", "CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "RenderTests", dependencies: ["Render", "CPNG", "CNFCore"], swiftSettings: [v5]),
        .testTarget(name: "CLITests", dependencies: ["cnf"], swiftSettings: [v5]),
    ]
)
