import CNFCore
import Networks

/// The per-chunk loops of `CNFDynamics`, generic over the network's scalar and pre-specialized
/// for Float and Double (the dynamics type itself is generic over the network, so without the
/// specializations these loops would run through generic witnesses, ~50× slower).
enum CNFKernels {
    /// Elementwise conversion between the solver's Doubles and the network's scalars
    /// (either direction; Double → Float rounds to nearest).
    @specialized(where From == Double, To == Float)
    @specialized(where From == Float, To == Double)
    @specialized(where From == Double, To == Double)
    static func convert<From: BinaryFloatingPoint, To: BinaryFloatingPoint>(
        _ source: UnsafePointer<From>, to target: UnsafeMutablePointer<To>, count: Int) {
        for i in 0..<count { target[i] = To(source[i]) }
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
                                           input: UnsafePointer<S>, output: UnsafePointer<S>,
                                           dz: UnsafeMutablePointer<Double>,
                                           dl: UnsafeMutablePointer<Double>?,
                                           dK: UnsafeMutablePointer<Double>?,
                                           dJ: UnsafeMutablePointer<Double>?) {
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
                                          input: UnsafePointer<S>, output: UnsafePointer<S>,
                                          outputBar: UnsafeMutablePointer<S>,
                                          az: UnsafePointer<Double>, al: UnsafePointer<Double>?,
                                          aK: UnsafePointer<Double>?, aJ: UnsafePointer<Double>?) {
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
    @specialized(where S == Float)
    @specialized(where S == Double)
    static func sumPartials<S: BLASScalar>(_ partials: [UnsafePointer<S>], count: Int,
                                           into thetaBar: UnsafeMutablePointer<Double>) {
        thetaBar.update(repeating: 0, count: count)
        for partial in partials {
            for p in 0..<count { thetaBar[p] += Double(partial[p]) }
        }
    }
}
