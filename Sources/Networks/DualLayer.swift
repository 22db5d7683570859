import CNFCore

/// How a layer of the dynamics network sees time.
public enum LayerType: String, CaseIterable, Sendable, Codable {
    /// y = (W x + b) ⊙ g(t) + W_b t with g(t) = sigmoid(W_g t + b_g): FFJORD's toy default.
    case concatSquash = "concatsquash"
    /// y = W x + b; time is ignored.
    case linear
}

/// One affine layer of the dynamics network, optionally followed by an activation, in forward
/// mode with stacked tangents (see `DualNetwork`). A value type describing shapes and where the
/// layer's parameters sit in the flat θ; the arithmetic runs on buffers the network owns.
///
/// Parameter layout from `offset` (the checkpoint names in brackets, PyTorch shapes):
///
///     W    out×in  [weight]            b    out  [bias]
///     W_g  out×1   [gate.weight]       b_g  out  [gate.bias]       (concatSquash only)
///     W_b  out×1   [hyper_bias.weight]                             (concatSquash only)
struct DualLayer: Sendable, Equatable {
    let type: LayerType
    let inputWidth: Int
    let outputWidth: Int
    let activation: Activation?
    let offset: Int

    var weightOffset: Int { offset }
    var biasOffset: Int { offset + outputWidth * inputWidth }
    var gateWeightOffset: Int { biasOffset + outputWidth }
    var gateBiasOffset: Int { gateWeightOffset + outputWidth }
    var hyperBiasOffset: Int { gateBiasOffset + outputWidth }
    var parameterCount: Int {
        outputWidth * inputWidth + outputWidth + (type == .concatSquash ? 3 * outputWidth : 0)
    }

    func tensors(prefix: String) -> [ParameterTensor] {
        var list = [ParameterTensor(name: prefix + "weight", shape: [outputWidth, inputWidth], offset: weightOffset),
                    ParameterTensor(name: prefix + "bias", shape: [outputWidth], offset: biasOffset)]
        if type == .concatSquash {
            list += [ParameterTensor(name: prefix + "gate.weight", shape: [outputWidth, 1], offset: gateWeightOffset),
                     ParameterTensor(name: prefix + "gate.bias", shape: [outputWidth], offset: gateBiasOffset),
                     ParameterTensor(name: prefix + "hyper_bias.weight", shape: [outputWidth, 1], offset: hyperBiasOffset)]
        }
        return list
    }

    /// PyTorch's `nn.Linear` default, U(−1/√fan_in, 1/√fan_in) for weight and bias, drawn in
    /// the layout order above (all of W row-major, then b, then W_g, b_g, W_b). The hyper-gate
    /// and hyper-bias are `Linear(1, out)`, so their fan_in is 1.
    func initialize(_ theta: inout [Double], generator: inout Xoshiro256) {
        let main = 1 / Double(inputWidth).squareRoot()
        for p in weightOffset..<gateWeightOffset { theta[p] = generator.uniform(-main, main) }
        if type == .concatSquash {
            for p in gateWeightOffset..<(offset + parameterCount) { theta[p] = generator.uniform(-1, 1) }
        }
    }
}

/// Where one layer keeps its forward results inside a workspace.
struct LayerBuffers<S: BLASScalar> {
    /// (1 + k)·rows × out: [W x + b; W ẋ₁; …] (kept for ḡ and for ȧ = (W ẋ) ⊙ g).
    var affine: MutableBufferView<S>
    /// 2·out: g(t) then c(t) = W_b t (concatSquash only).
    var gate: MutableBufferView<S>
    /// rows × out each: σ'(a), σ''(a) of the primal pre-activation (activation only).
    var slope: MutableBufferView<S>
    var curvature: MutableBufferView<S>
    /// (1 + k)·rows × out: the layer's output [y; ẏ₁; …].
    var output: MutableBufferView<S>
    /// Whether `backward` will follow: false lets the fused Float kernels skip storing what
    /// only `backward` reads (affine, σ''; σ' too without tangents). The outputs are the same
    /// bits either way.
    var keep = true
    /// Wᵀ (in × out, row-major) packed from this layer's W (`PackedWeights`, Float networks), or
    /// nil: the Float kernels then pack it into scratch on each call.
    var packedWeights: BufferView<S>? = nil
}

extension DualLayer {
    /// Forward with k tangent blocks on `rows` samples:
    ///
    ///     h = X Wᵀ (+ b on primal rows)           one product for all (1 + k)·rows rows
    ///     a = h ⊙ g + c   (primal),   ȧ = h ⊙ g   (tangents)     [linear: g = 1, c = 0]
    ///     y = σ(a),   ẏ = σ'(a) ⊙ ȧ                              [no activation: y = a]
    ///
    /// - Complexity: O((1 + k)·rows·in·out).
    func forward<S: BLASScalar>(theta: BufferView<S>, t: S, input x: BufferView<S>,
                                rows n: Int, tangents k: Int, buffers b: LayerBuffers<S>) {
        let out = outputWidth
        let m = (1 + k) * n
        guard m > 0 else { return }
        // Float on the network's small shapes: one fused kernel (Kernels/DualLayer+Fused.swift).
        if fusedForward(theta: theta, t: t, input: x, rows: n, tangents: k, buffers: b) { return }
        S.gemm(transA: false, transB: true, m: m, n: out, k: inputWidth, alpha: 1,
               a: x, lda: inputWidth, b: theta + weightOffset, ldb: inputWidth,
               beta: 0, c: b.affine, ldc: out)
        let bias = theta + biasOffset
        let h = b.affine, y = b.output, g = b.gate, c = b.gate + out
        if type == .concatSquash {
            let wg = theta + gateWeightOffset, bg = theta + gateBiasOffset, wb = theta + hyperBiasOffset
            for j in 0..<out {
                g[j] = Activation.sigmoid(wg[j] * t + bg[j])
                c[j] = wb[j] * t
            }
            for i in 0..<n {
                let hr = h + i * out, yr = y + i * out
                for j in 0..<out {
                    let v = hr[j] + bias[j]
                    hr[j] = v
                    yr[j] = v * g[j] + c[j]
                }
            }
        } else {
            for i in 0..<n {
                let hr = h + i * out, yr = y + i * out
                for j in 0..<out {
                    let v = hr[j] + bias[j]
                    hr[j] = v
                    yr[j] = v
                }
            }
        }
        if let activation {
            activation.apply(count: n * out, values: y, slope: b.slope, curvature: b.curvature)
        }
        guard k > 0 else { return }
        for block in 1...k {
            for i in 0..<n {
                let r = (block * n + i) * out
                let hr = h + r, yr = y + r
                switch (type == .concatSquash, activation != nil) {
                case (true, true):
                    let s = b.slope + i * out
                    for j in 0..<out { yr[j] = s[j] * (hr[j] * g[j]) }
                case (true, false):
                    for j in 0..<out { yr[j] = hr[j] * g[j] }
                case (false, true):
                    let s = b.slope + i * out
                    for j in 0..<out { yr[j] = s[j] * hr[j] }
                case (false, false):
                    for j in 0..<out { yr[j] = hr[j] }
                }
            }
        }
    }
}
