/// Vectorized single-precision `exp` and `tanh` for the activation kernels.
///
/// The libm calls cost ~4 ns (`expf`) and ~12 ns (`tanhf`) per element here, which made the
/// activations cost several times more than all of a 64-wide network's matrix products. These
/// run eight lanes at a time with plain IEEE arithmetic (no table, no libm), so results are the
/// same on every machine and do not depend on where an element sits in a buffer.
/// Accuracy: a few ulp (tested against the Double functions in `ActivationTests`).
///
/// Coefficients: Cephes' (S. Moshier) `expf` polynomial; for tanh the rational fit shared
/// by Eigen, XLA and ONNX Runtime.
@usableFromInline
enum FastMath {
    @usableFromInline typealias Vector = SIMD8<Float>

    /// e^x = 2^n · e^r with n = round(x·log₂e) and r = x − n·ln 2 (ln 2 split in two parts,
    /// Cody–Waite, so r is exact), e^r by a degree-7 polynomial on |r| ≤ ln2/2.
    /// Inputs are clamped to [−87.3, 88.7]: the result stays a normal Float (no inf, no NaN
    /// except for a NaN input).
    @inline(__always) @usableFromInline
    static func exp(_ input: Vector) -> Vector {
        // Clamp by compare-and-select: `clamped` calls the generic pointwiseMin/Max (not inlined).
        var x = input
        x.replace(with: -87.3, where: x .< -87.3)
        x.replace(with: 88.7, where: x .> 88.7)
        // Round to nearest by the 1.5·2²³ trick: SSE2 has no vector round, and this stays in lanes.
        let magic = Vector(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        let r2 = r * r
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * r2 + r + 1
        // 2^n: the low mantissa bits of `shifted` hold n; put n + 127 in the exponent field.
        let n32 = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((n32 &+ 127) &<< 23, to: Vector.self)
        return er * scale
    }

    /// tanh x as the odd rational minimax x·P(x²)/Q(x²) of degrees 13/6 on |x| ≤ 7.905 (where
    /// tanh rounds to ±1 in Float), the approximation Eigen, XLA and ONNX Runtime's MLAS use:
    /// one division and no exponential, and odd in x, so small arguments keep their relative
    /// accuracy (no 1 − 2/(e^{2x} + 1) cancellation). NaN propagates.
    @inline(__always) @usableFromInline
    static func tanh(_ input: Vector) -> Vector {
        var x = input
        x.replace(with: -7.905_311_107_635_498, where: x .< -7.905_311_107_635_498)
        x.replace(with: 7.905_311_107_635_498, where: x .> 7.905_311_107_635_498)
        let z = x * x
        var p = Vector(repeating: -2.760_768_477_423_55e-16)
        p = p * z + 2.000_187_904_824_77e-13
        p = p * z - 8.604_671_522_137_35e-11
        p = p * z + 5.122_297_090_371_14e-08
        p = p * z + 1.485_722_357_179_79e-05
        p = p * z + 6.372_619_288_754_36e-04
        p = p * z + 4.893_524_558_917_86e-03
        var q = Vector(repeating: 1.198_258_394_667_02e-06)
        q = q * z + 1.185_347_056_866_54e-04
        q = q * z + 2.268_434_632_439_00e-03
        q = q * z + 4.893_525_185_543_85e-03
        return x * p / q
    }

    /// |x| by clearing the sign bit.
    @inline(__always) @usableFromInline
    static func abs(_ x: Vector) -> Vector {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Vector.self)
    }
}
