import CNFCore

extension DualLayer {
    /// Reverse of `forward` (same rows, tangents, time and buffers), given the stacked output
    /// cotangents Ȳ = [ȳ; ẏ̄₁; …; ẏ̄_k]:
    ///
    ///     ā = σ'(a) ⊙ ȳ + σ''(a) ⊙ Σ_k ȧ_k ⊙ ẏ̄_k,     ǡ_k = σ'(a) ⊙ ẏ̄_k
    ///     h̄ = [ā; ǡ_k] ⊙ g                             [linear: h̄ = [ā; ǡ_k]]
    ///     ḡ = Σ_rows ā ⊙ h + Σ_k Σ_rows ǡ_k ⊙ h_k,   c̄ = Σ_rows ā
    ///     W̄ += H̄ᵀ X (one product over all rows),  b̄ += Σ_rows h̄ (primal rows)
    ///     W̄_g += t·ḡ⊙g(1−g),  b̄_g += ḡ⊙g(1−g),  W̄_b += t·c̄
    ///     X̄ = H̄ W  for the first `inputBarRows` rows (rows: primal only; (1+k)·rows: all).
    ///
    /// - Parameters:
    ///   - scratch: (1 + k)·rows × out, receives H̄.
    ///   - columns: 4·out scratch for the column sums.
    ///   - inputBar: may be the buffer `outputBar` points to (it is read before it is written).
    /// - Complexity: O((1 + k)·rows·in·out).
    func backward<S: BLASScalar>(theta: BufferView<S>, t: S, input x: BufferView<S>,
                                 rows n: Int, tangents k: Int, buffers b: LayerBuffers<S>,
                                 outputBar ybar: BufferView<S>, scratch hbar: MutableBufferView<S>,
                                 columns: MutableBufferView<S>,
                                 inputBar xbar: MutableBufferView<S>, inputBarRows: Int,
                                 thetaBar: MutableBufferView<S>) {
        let out = outputWidth
        let m = (1 + k) * n
        guard m > 0 else { return }
        let g = b.gate.readOnly
        let squash = type == .concatSquash
        let gbar = columns, cbar = columns + out, bbar = columns + 2 * out
        // H̄ and the column sums: Float in one fused pass (Kernels/DualLayer+FusedBackward.swift),
        // Double in the loops of `backwardRows`; the same operations per element either way.
        if !fusedBackwardRows(rows: n, tangents: k, buffers: b, outputBar: ybar, scratch: hbar, columns: columns) {
            backwardRows(rows: n, tangents: k, buffers: b, outputBar: ybar, scratch: hbar, columns: columns)
        }
        // Each product: the Swift kernels for Float's small shapes, else BLAS (DualLayer+Fused.swift).
        accumulateWeightBar(rows: m, outputBar: hbar.readOnly, input: x, thetaBar: thetaBar)
        if inputBarRows > 0 {
            inputBar(rows: inputBarRows, outputBar: hbar.readOnly, theta: theta, packedWeights: b.packedWeights,
                     inputBar: xbar)
        }
        let biasBar = thetaBar + biasOffset
        for j in 0..<out { biasBar[j] += bbar[j] }
        if squash {
            let wgBar = thetaBar + gateWeightOffset, bgBar = thetaBar + gateBiasOffset
            let wbBar = thetaBar + hyperBiasOffset
            for j in 0..<out {
                let pre = gbar[j] * g[j] * (1 - g[j])
                wgBar[j] += t * pre
                bgBar[j] += pre
                wbBar[j] += t * cbar[j]
            }
        }
    }

    /// The element-wise part of `backward`: H̄ ((1 + k)·n rows) into `hbar`, and the column
    /// sums ḡ, c̄, Σh̄ into `columns`, `columns + out`, `columns + 2·out` (`columns + 3·out`
    /// is scratch), row by row.
    func backwardRows<S: BLASScalar>(rows n: Int, tangents k: Int, buffers b: LayerBuffers<S>,
                                     outputBar ybar: BufferView<S>, scratch hbar: MutableBufferView<S>,
                                     columns: MutableBufferView<S>) {
        let out = outputWidth
        let h = b.affine.readOnly, g = b.gate.readOnly
        let squash = type == .concatSquash
        let gbar = columns, cbar = columns + out, bbar = columns + 2 * out, dot = columns + 3 * out
        columns.update(repeating: 0, count: 4 * out)
        for i in 0..<n {
            let yr = ybar + i * out, hr = h + i * out, hb = hbar + i * out
            let s = b.slope.readOnly + i * out, curv = b.curvature.readOnly + i * out
            // ā on the primal row.
            if activation != nil {
                for j in 0..<out { dot[j] = 0 }
                if k > 0 {
                    // Σ_k ȧ_k ⊙ ẏ̄_k = g ⊙ Σ_k h_k ⊙ ẏ̄_k (ȧ_k = h_k ⊙ g).
                    for block in 1...k {
                        // Row views, not h[r + j]: the overflow check on r + j kept this
                        // loop from vectorizing.
                        let hk = h + (block * n + i) * out, yk = ybar + (block * n + i) * out
                        for j in 0..<out { dot[j] += hk[j] * yk[j] }
                    }
                    if squash { for j in 0..<out { dot[j] *= g[j] } }
                }
                for j in 0..<out { hb[j] = s[j] * yr[j] + curv[j] * dot[j] }
            } else {
                for j in 0..<out { hb[j] = yr[j] }
            }
            if squash {
                for j in 0..<out {
                    let abar = hb[j]
                    gbar[j] += abar * hr[j]
                    cbar[j] += abar
                    let v = abar * g[j]
                    hb[j] = v
                    bbar[j] += v
                }
            } else {
                for j in 0..<out { bbar[j] += hb[j] }
            }
            // ǡ_k on the tangent rows.
            guard k > 0 else { continue }
            for block in 1...k {
                let r = (block * n + i) * out
                let yk = ybar + r, hk = h + r, hbk = hbar + r
                switch (squash, activation != nil) {
                case (true, true):
                    for j in 0..<out {
                        let v = s[j] * yk[j]
                        gbar[j] += v * hk[j]
                        hbk[j] = v * g[j]
                    }
                case (true, false):
                    for j in 0..<out {
                        gbar[j] += yk[j] * hk[j]
                        hbk[j] = yk[j] * g[j]
                    }
                case (false, true):
                    for j in 0..<out { hbk[j] = s[j] * yk[j] }
                case (false, false):
                    for j in 0..<out { hbk[j] = yk[j] }
                }
            }
        }
    }
}
