import CNFCore
import Networks
import ODE

/// The per-chunk loops of `CNFDynamics`, generic over the network's scalar and pre-specialized
/// for Float and Double (the dynamics type itself is generic over the network, so without the
/// specializations these loops would run through generic witnesses, ~50× slower).
enum CNFKernels {
    /// Elementwise conversion from the solver's Doubles to the network's scalars (Double →
    /// Float rounds to nearest).
    @specialized(where To == Float)
    @specialized(where To == Double)
    static func convert<To: BinaryFloatingPoint>(_ source: StateVector, to target: MutableBufferView<To>, count: Int) {
        for i in 0..<count { target[i] = To(source[i]) }
    }

    /// Elementwise conversion from the network's scalars to the solver's Doubles (exact).
    @specialized(where From == Float)
    @specialized(where From == Double)
    static func convert<From: BinaryFloatingPoint>(_ source: BufferView<From>, to target: MutableStateVector, count: Int) {
        for i in 0..<count { target[i] = Double(source[i]) }
    }

    /// g on one chunk from the network's stacked output [f; u₁..k], per sample i:
    ///
    ///     dz_i = f_i,   dℓ_i = −Σ_j ε_ij u_ij (Hutchinson) or −Σ_j (u_j)_ij (exact),
    ///     dK_i = ‖f_i‖²,   dJ_i = Σ_k ‖u_k,i‖²
    ///
    /// ε is read from the tangent block of `input`: the exact values the network saw.
    @specialized(where S == Float)
    @specialized(where S == Double)
    static func derivatives<S: BLASScalar>(rows n: Int, d: Int, tangents k: Int, exact: Bool,
                                           input: BufferView<S>, output: BufferView<S>,
                                           dz: MutableStateVector,
                                           dl: MutableStateVector?,
                                           dK: MutableStateVector?,
                                           dJ: MutableStateVector?) {
        for i in 0..<n {
            var kinetic = 0.0
            for j in 0..<d {
                let f = Double(output[i * d + j])
                dz[i * d + j] = f
                kinetic += f * f
            }
            dK?[i] = kinetic
            guard k > 0 else { continue }
            var trace = 0.0, frobenius = 0.0
            for block in 1...k {
                let u = output + (block * n + i) * d
                if exact {
                    trace += Double(u[block - 1])
                } else {
                    let eps = input + (block * n + i) * d
                    for j in 0..<d { trace += Double(eps[j]) * Double(u[j]) }
                }
                for j in 0..<d { frobenius += Double(u[j]) * Double(u[j]) }
            }
            dl?[i] = -trace
            dJ?[i] = frobenius
        }
    }

    /// The network's output cotangents for a = (a_z, a_ℓ, a_K, a_J), per sample i:
    ///
    ///     f̄_i = a_z,i + 2 a_K,i f_i,    ū_k,i = −a_ℓ,i ε_k,i + 2 a_J,i u_k,i
    ///
    /// (exact: ε_k = e_k), computed in Double and rounded once to `S`.
    @specialized(where S == Float)
    @specialized(where S == Double)
    static func cotangents<S: BLASScalar>(rows n: Int, d: Int, tangents k: Int, exact: Bool,
                                          input: BufferView<S>, output: BufferView<S>,
                                          outputBar: MutableBufferView<S>,
                                          az: StateVector, al: StateVector?,
                                          aK: StateVector?, aJ: StateVector?) {
        for i in 0..<n {
            let kinetic = 2 * (aK?[i] ?? 0)
            for j in 0..<d {
                outputBar[i * d + j] = S(az[i * d + j] + kinetic * Double(output[i * d + j]))
            }
            guard k > 0 else { continue }
            let density = al?[i] ?? 0, jacobian = 2 * (aJ?[i] ?? 0)
            for block in 1...k {
                let r = (block * n + i) * d
                for j in 0..<d {
                    let eps = exact ? (j == block - 1 ? 1.0 : 0.0) : Double(input[r + j])
                    outputBar[r + j] = S(-density * eps + jacobian * Double(output[r + j]))
                }
            }
        }
    }

    /// θ̄ = Σ_c partial_c, added in chunk order in Double: the same bits for any thread count.
    /// Each element is ((+0 + partial₀) + partial₁) + …, the first two chunks in one pass (the
    /// `+0` kept: it turns −0 into +0, as zero-filling θ̄ and adding did).
    @specialized(where S == Float)
    @specialized(where S == Double)
    static func sumPartials<S: BLASScalar>(_ partials: [BufferView<S>], count: Int,
                                           into thetaBar: MutableStateVector) {
        switch partials.count {
        case 0:
            thetaBar.update(repeating: 0, count: count)
        case 1:
            let a = partials[0]
            for p in 0..<count { thetaBar[p] = 0 + Double(a[p]) }
        default:
            let a = partials[0], b = partials[1]
            for p in 0..<count { thetaBar[p] = (0 + Double(a[p])) + Double(b[p]) }
            for partial in partials.dropFirst(2) {
                for p in 0..<count { thetaBar[p] += Double(partial[p]) }
            }
        }
    }
}
