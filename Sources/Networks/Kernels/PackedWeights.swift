import CNFCore
#if arch(x86_64)
import CKernels
#endif

/// Each layer's Wᵀ (in × out, row-major) for a Float network, packed when the parameters
/// change rather than on every call: the fused forward's B (`rowProduct`, C = X·Wᵀ) and the
/// narrow x̄'s (`rowDotProduct`, X̄ = H̄·W as H̄·(Wᵀ)ᵀ) read it. `ODENet` repacks after every
/// change of θ (its initializer, `parameters`' setter and `withParameters`), so the hot path
/// reads the packed copy; `DualLayer` packs into thread-local scratch on each call when it is
/// given none (single layers in tests).
///
/// Packing moves bits only, so the results are the same bits with or without it (tested in
/// `PackedWeightsTests`). Measured on AMD EPYC Zen 5 (1 thread): the SIMD8 path's scalar pack
/// cost ~2 µs per 64→64 layer and call, the AVX-512 transpose ~0.2–0.3 µs.
final class PackedWeights<S: BLASScalar> {
    /// One region per layer: in·out elements for Float, empty for Double (BLAS reads W itself).
    let regions: [MutableBufferView<S>]
    private let storage: AlignedBuffer<S>

    init(layers: [DualLayer]) {
        let float = S.self == Float.self
        storage = AlignedBuffer(regionSizes: layers.map { float ? $0.inputWidth * $0.outputWidth : 0 })
        regions = storage.regions
    }

    /// Packs every layer's Wᵀ from `theta`. - Complexity: O(parameters).
    func update(theta: BufferView<S>, layers: [DualLayer]) {
        guard S.self == Float.self else { return }
        for (l, layer) in layers.enumerated() {
            layer.packTransposedWeights(floats(theta) + layer.weightOffset, into: floats(regions[l]))
        }
    }
}

extension DualLayer {
    /// wt[p·out + j] = w[j·in + p]: Wᵀ (in × out) from W (out × in), both row-major. In 16×16
    /// register blocks on the AVX-512 path (`cnf_avx512_transpose`), else element by element.
    func packTransposedWeights(_ w: UnsafePointer<Float>, into wt: UnsafeMutablePointer<Float>) {
        let out = outputWidth, inW = inputWidth
        #if arch(x86_64)
        if KernelChoice.avx512Transpose {
            cnf_avx512_transpose(out, inW, w, inW, wt, out)
            return
        }
        #endif
        for j in 0..<out { for p in 0..<inW { wt[p * out + j] = w[j * inW + p] } }
    }
}
