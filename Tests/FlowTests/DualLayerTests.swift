import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

/// Each dual layer alone (affine 3 → 4, with and without an activation), checked against
/// central differences: tangents u = J ẋ, and backward x̄ and every parameter gradient.
final class DualLayerTests: XCTestCase {
    func testSingleLayers() {
        var seed: UInt64 = 100
        for type in LayerType.allCases {
            for activation in [nil] + Activation.allCases.map(Optional.some) {
                var g = Xoshiro256(seed: seed)
                let spec = ODENet<Double>.LayerSpec(outputWidth: 4, type: type, activation: activation)
                let count = DualLayer(type: type, inputWidth: 3, outputWidth: 4, activation: activation, offset: 0).parameterCount
                let net = ODENet<Double>(configuration: nil, inputWidth: 3, specs: [spec],
                                         parameters: randomValues(count, &g))
                checkNetworkDerivatives(net, rows: 3, k: 2, t: 0.37, seed: seed,
                                        label: "\(type) \(activation.map(\.rawValue) ?? "no activation")")
                seed += 1
            }
        }
    }

    func testParameterLayoutNamesAndShapes() {
        let c = ODENetConfiguration(dimension: 2, hiddenWidths: [5, 7])
        let net = ODENet<Double>(configuration: c, parameters: Array(repeating: 0, count: ODENet<Double>.parameterCount(for: c)))
        let names = net.parameterTensors.map(\.name)
        XCTAssertEqual(names.prefix(5), ["layers.0.weight", "layers.0.bias", "layers.0.gate.weight",
                                          "layers.0.gate.bias", "layers.0.hyper_bias.weight"])
        XCTAssertEqual(net.parameterTensors.first?.shape, [5, 2])
        XCTAssertEqual(net.parameterTensors.last?.name, "layers.2.hyper_bias.weight")
        // The views tile θ exactly, in order.
        var next = 0
        for tensor in net.parameterTensors {
            XCTAssertEqual(tensor.offset, next, tensor.name)
            next += tensor.count
        }
        XCTAssertEqual(next, net.parameterCount)
        XCTAssertEqual(net.parameterCount, (2 * 5 + 5 + 15) + (5 * 7 + 7 + 21) + (7 * 2 + 2 + 6))
    }

    /// PyTorch's nn.Linear default: every weight and bias within ±1/√fan_in, and spread over it.
    func testInitializationBounds() {
        let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64])
        var g = Xoshiro256(seed: 7)
        let net = ODENet<Double>(configuration: c, generator: &g)
        let theta = net.parameters
        for tensor in net.parameterTensors {
            let fanIn = tensor.name.contains("gate") || tensor.name.contains("hyper_bias")
                ? 1.0 : Double(net.layers[Int(tensor.name.split(separator: ".")[1])!].inputWidth)
            let bound = 1 / fanIn.squareRoot()
            let values = theta[tensor.offset..<(tensor.offset + tensor.count)]
            XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, tensor.name)
            if tensor.count >= 64 {
                XCTAssertGreaterThan(values.map(abs).max()!, 0.8 * bound, tensor.name)
            }
        }
        // Same seed, same network; Float is the rounded Double.
        var g2 = Xoshiro256(seed: 7)
        let single = ODENet<Float>(configuration: c, generator: &g2)
        XCTAssertEqual(single.parameters, theta.map { Float($0) })
    }
}
