import CNFCore
import XCTest
@testable import Networks

/// The fused backward element-wise pass of Float layers (`DualLayer.fusedBackwardRows`, SIMD8
/// and AVX-512) gives the same bits as the generic loops (`DualLayer.backwardRows`): H̄ and the
/// column sums of single layers fed special values, and x̄, θ̄ of whole networks.
final class FusedBackwardTests: KernelSettingsTestCase {
    /// The ISA paths to run the fused pass on here: SIMD8 always, AVX-512 where the CPU has it.
    var paths: [KernelChoice.ISAPolicy] { KernelChoice.avx512Supported ? [.simd8, .avx512] : [.simd8] }

    /// Equal bit patterns, except that two NaNs count as equal whatever their sign and payload:
    /// when both operands of an add are NaN, x86 returns the first operand's, and LLVM commutes
    /// IEEE adds freely (e.g. to fold a load as the memory operand), so which NaN a sum of two
    /// NaNs keeps is not decided by the source even for the generic loops (their scalar and
    /// vectorized copies differ). Every non-NaN result must match bit for bit.
    override var nanCountsAsEqual: Bool { true }

    static let special: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .infinity, -.infinity, .nan,
                                   1e30, -1e30, 1e-30, -1e-30, .greatestFiniteMagnitude, 1, -1]

    /// Values in [−3, 3] with every special value sprinkled in (one in about seven elements).
    func values(_ n: Int, _ g: inout Xoshiro256) -> [Float] {
        (0..<n).map { _ in
            let u = g.uniform(0, 1)
            if u < 0.15 { return Self.special[Int(g.uniform(0, Double(Self.special.count))) % Self.special.count] }
            return Float(g.uniform(-3, 3))
        }
    }

    /// One layer's element-wise pass alone: widths with partial vectors and several panels,
    /// k = 0…3, both layer types, with and without an activation, inputs with ±0, subnormals,
    /// ±∞, NaN and huge values (products overflow, 0·∞). H̄ and ḡ, c̄, Σh̄ compared bit for bit.
    func testLayerPassSameBitsAsLoops() {
        var g = Xoshiro256(seed: 83)
        for out in [1, 2, 7, 8, 13, 16, 24, 40, 64, 70, 128] {
            for type in LayerType.allCases {
                for activation in [nil, Activation.tanh] {
                    let layer = DualLayer(type: type, inputWidth: 4, outputWidth: out, activation: activation, offset: 0)
                    for rows in [1, 5, 50] {
                        for k in 0...3 {
                            let m = (1 + k) * rows
                            let inputs = (ybar: values(m * out, &g), affine: values(m * out, &g), gate: values(2 * out, &g),
                                          slope: values(rows * out, &g), curvature: values(rows * out, &g))
                            func run() -> [Float] {
                                let storage = AlignedBuffer<Float>(regionSizes: [m * out, m * out, 2 * out, rows * out, rows * out,
                                                                                 m * out, m * out, 4 * out])
                                let r = storage.regions
                                r[0].update(from: inputs.ybar)
                                r[1].update(from: inputs.affine)
                                r[2].update(from: inputs.gate)
                                r[3].update(from: inputs.slope)
                                r[4].update(from: inputs.curvature)
                                let b = LayerBuffers(affine: r[1], gate: r[2], slope: r[3], curvature: r[4], output: r[5])
                                if !layer.fusedBackwardRows(rows: rows, tangents: k, buffers: b, outputBar: r[0].readOnly,
                                                            scratch: r[6], columns: r[7]) {
                                    layer.backwardRows(rows: rows, tangents: k, buffers: b, outputBar: r[0].readOnly,
                                                       scratch: r[6], columns: r[7])
                                }
                                return Array(r[6].readOnly) + Array(r[7].readOnly.prefix(3 * out))
                            }
                            KernelChoice.fusedBackward = false
                            let reference = run()
                            KernelChoice.fusedBackward = true
                            for path in paths {
                                KernelChoice.isaPolicy = path
                                assertSameBits(reference, run(),
                                               "out=\(out) \(type) \(activation.map(\.rawValue) ?? "none") rows=\(rows) k=\(k) \(path)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whole networks, forward then backward, generic loops vs the fused pass on each path:
    /// x̄ and θ̄ (every product the same path in both). Every activation, both layer types,
    /// k = 0…2, rows 1/7/100/131, widths with partial vectors (3→13→40→3) and the default's.
    func testNetworkBackwardSameBits() {
        for (dimension, hidden) in [(2, [64, 64, 64]), (3, [13, 40])] {
            for activation in Activation.allCases {
                for type in LayerType.allCases {
                    let c = ODENetConfiguration(dimension: dimension, hiddenWidths: hidden, activation: activation, layerType: type)
                    var g = Xoshiro256(seed: 89)
                    let net = ODENet<Float>(configuration: c, generator: &g)
                    for rows in [1, 7, 100, 131] {
                        for k in 0...2 {
                            let x = (0..<((1 + k) * rows * dimension)).map { _ in Float(g.uniform(-2, 2)) }
                            let bar = (0..<((1 + k) * rows * dimension)).map { _ in Float(g.uniform(-1, 1)) }
                            func run() -> [Float] {
                                let ws = net.makeWorkspace(maxRows: rows, tangents: k)
                                var out = [Float](repeating: 0, count: x.count)
                                net.forward(t: 0.3, input: x, rows: rows, tangents: k, output: &out, workspace: ws)
                                var xbar = [Float](repeating: 0, count: rows * dimension)
                                var thetaBar = [Float](repeating: 0, count: net.parameterCount)
                                net.backward(outputBar: bar, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
                                return xbar + thetaBar
                            }
                            for path in paths {
                                KernelChoice.isaPolicy = path
                                KernelChoice.fusedBackward = false
                                let reference = run()
                                KernelChoice.fusedBackward = true
                                assertSameBits(reference, run(),
                                               "\(dimension)→\(hidden)→\(dimension) \(activation) \(type) rows=\(rows) k=\(k) \(path)")
                            }
                        }
                    }
                }
            }
        }
    }
}
