import CNFCore
import XCTest
@testable import Networks

/// `ODENet` packs each layer's Wᵀ once per parameter update (`PackedWeights`) instead of on
/// every call: the same bits as packing per call, and never stale after θ changes.
final class PackedWeightsTests: KernelSettingsTestCase {

    var paths: [KernelChoice.ISAPolicy] { KernelChoice.avx512Supported ? [.simd8, .avx512] : [.simd8] }

    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    /// `ODENet.forward` then `backward` as the network runs them, with `packed` false: every
    /// layer given no packed Wᵀ (so it packs into scratch per call, as before `PackedWeights`).
    func run(_ net: ODENet<Float>, x: [Float], bar: [Float], rows n: Int, k: Int, packed: Bool) -> [Float] {
        let ws = net.makeWorkspace(maxRows: n, tangents: k)
        let d = net.inputWidth
        var output = [Float](repeating: 0, count: (1 + k) * n * d)
        var xbar = [Float](repeating: 0, count: n * d), thetaBar = [Float](repeating: 0, count: net.parameterCount)
        if packed {
            net.forward(t: 0.4, input: x, rows: n, tangents: k, output: &output, workspace: ws)
            net.backward(outputBar: bar, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
            return output + xbar + thetaBar
        }
        let theta = net.parameters
        theta.withBufferView { theta in
            x.withBufferView { x in
                output.withMutableBufferView { out in
                    ws.begin(rows: n, tangents: k, time: 0.4)
                    ws.regions[0].update(from: x, count: x.count)
                    var input = ws.regions[0].readOnly
                    for (l, layer) in net.layers.enumerated() {
                        let y = l == net.layers.count - 1 ? out : net.layerOutput(l, ws)
                        var b = net.buffers(l, ws, output: y)
                        b.packedWeights = nil
                        layer.forward(theta: theta, t: 0.4, input: input, rows: n, tangents: k, buffers: b)
                        input = y.readOnly
                    }
                }
            }
            bar.withBufferView { bar in
                xbar.withMutableBufferView { xbar in
                    thetaBar.withMutableBufferView { thetaBar in
                        let base = 1 + 5 * net.layers.count
                        let scratch = ws.regions[base], carried = ws.regions[base + 1], columns = ws.regions[base + 2]
                        var ybar = bar
                        for l in stride(from: net.layers.count - 1, through: 0, by: -1) {
                            let input = l == 0 ? ws.regions[0].readOnly : net.layerOutput(l - 1, ws).readOnly
                            var b = net.buffers(l, ws, output: net.layerOutput(l, ws))
                            b.packedWeights = nil
                            net.layers[l].backward(theta: theta, t: 0.4, input: input, rows: n, tangents: k, buffers: b,
                                                   outputBar: ybar, scratch: scratch, columns: columns,
                                                   inputBar: l == 0 ? xbar : carried, inputBarRows: l == 0 ? n : (1 + k) * n,
                                                   thetaBar: thetaBar)
                            ybar = carried.readOnly
                        }
                    }
                }
            }
        }
        return output + xbar + thetaBar
    }

    /// Packed once vs packed per call: output, x̄ and θ̄ bit for bit on both paths, for the
    /// default network and one with 16×16-block edges (3→24→40→3, 2→48→128→2).
    func testPackedSameBitsAsPerCall() {
        for (dimension, hidden) in [(2, [64, 64, 64]), (3, [24, 40]), (2, [48, 128])] {
            for type in LayerType.allCases {
                let c = ODENetConfiguration(dimension: dimension, hiddenWidths: hidden, activation: .tanh, layerType: type)
                var g = Xoshiro256(seed: 97)
                let net = ODENet<Float>(configuration: c, generator: &g)
                for (rows, k) in [(1, 1), (7, 0), (50, 1), (131, 2)] {
                    let x = (0..<((1 + k) * rows * dimension)).map { _ in Float(g.uniform(-2, 2)) }
                    let bar = (0..<((1 + k) * rows * dimension)).map { _ in Float(g.uniform(-1, 1)) }
                    for path in paths {
                        KernelChoice.isaPolicy = path
                        XCTAssertEqual(bits(run(net, x: x, bar: bar, rows: rows, k: k, packed: true)),
                                       bits(run(net, x: x, bar: bar, rows: rows, k: k, packed: false)),
                                       "\(dimension)→\(hidden) \(type) rows=\(rows) k=\(k) \(path)")
                    }
                }
            }
        }
    }

    /// After θ changes through `withParameters` (as `Adam.step` does) or `parameters`, the
    /// network computes what a network built with the new θ computes, on both paths.
    func testRepackedAfterParameterChange() {
        let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64])
        var g = Xoshiro256(seed: 101)
        let net = ODENet<Float>(configuration: c, generator: &g)
        let rows = 20, k = 1
        let x = (0..<((1 + k) * rows * 2)).map { _ in Float(g.uniform(-2, 2)) }
        let bar = (0..<((1 + k) * rows * 2)).map { _ in Float(g.uniform(-1, 1)) }
        for path in paths {
            KernelChoice.isaPolicy = path
            let before = run(net, x: x, bar: bar, rows: rows, k: k, packed: true)
            net.withParameters { p in for i in 0..<p.count { p[i] = p[i] * 0.75 + 0.01 } }
            let fresh = ODENet<Float>(configuration: c, parameters: net.parameters)
            let after = run(net, x: x, bar: bar, rows: rows, k: k, packed: true)
            XCTAssertNotEqual(bits(before), bits(after), "withParameters changed nothing? \(path)")
            XCTAssertEqual(bits(after), bits(run(fresh, x: x, bar: bar, rows: rows, k: k, packed: true)), "withParameters \(path)")
            net.parameters = net.parameters.map { $0 * -1.5 }
            let fresh2 = ODENet<Float>(configuration: c, parameters: net.parameters)
            XCTAssertEqual(bits(run(net, x: x, bar: bar, rows: rows, k: k, packed: true)),
                           bits(run(fresh2, x: x, bar: bar, rows: rows, k: k, packed: true)), "parameters setter \(path)")
        }
    }
}
