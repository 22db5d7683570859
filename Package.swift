// swift-tools-version:6.0
import PackageDescription

let v5: SwiftSetting = .swiftLanguageMode(.v5)

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

        // MARK: Library modules (arrows point down: cnf → Render, Flow, ToyData → ODE → CNFCore)
        .target(name: "CNFCore",
                dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: [v5]),
        .target(name: "ODE", dependencies: ["CNFCore"], swiftSettings: [v5]),
        .target(name: "Flow", dependencies: ["CNFCore", "ODE"], swiftSettings: [v5]),
        .target(name: "ToyData", dependencies: ["CNFCore"], swiftSettings: [v5]),
        .target(name: "Render", dependencies: ["CPNG", "CNFCore"], swiftSettings: [v5]),

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
