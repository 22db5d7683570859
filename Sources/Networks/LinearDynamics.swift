import CNFCore

/// The linear field f(z, t) = A z with A (d × d, row-major) as the parameters: u = A ẋ.
///
/// Its flow has a closed form, z(T) = e^{AT} z(0) and ℓ(T) = −T tr A, which the CNF and
/// solver tests compare against. Backward: x̄ = f̄ A, Ā += F̄ᵀ X over all stacked rows.
public final class LinearDynamics<Scalar: BLASScalar>: DualNetwork {
    public let dimension: Int
    private var a: [Scalar]

    /// - Parameter matrix: A, d × d.
    public init(matrix: Matrix<Scalar>) {
        precondition(matrix.rows == matrix.cols && matrix.rows > 0,
                     "linear dynamics needs a square matrix, got \(matrix.rows)×\(matrix.cols)")
        dimension = matrix.rows
        a = matrix.storage
    }

    public var matrix: Matrix<Scalar> { Matrix(rows: dimension, cols: dimension, storage: a) }
    public var parameterCount: Int { dimension * dimension }

    public var parameters: [Scalar] {
        get { a }
        set {
            precondition(newValue.count == parameterCount,
                         "linear dynamics has \(parameterCount) parameters, got \(newValue.count)")
            a = newValue
        }
    }

    public var parameterTensors: [ParameterTensor] {
        [ParameterTensor(name: "A", shape: [dimension, dimension], offset: 0)]
    }

    public func withParameters<R>(_ body: (MutableBufferView<Scalar>) throws -> R) rethrows -> R {
        try a.withMutableBufferView { try body($0) }
    }

    /// Region 0 keeps a copy of the stacked input (for Ā).
    public func makeWorkspace(maxRows: Int, tangents k: Int) -> DualWorkspace<Scalar> {
        DualWorkspace(maxRows: maxRows, tangents: k, regionSizes: [(1 + k) * maxRows * dimension], owner: self)
    }

    public func forward(t: Scalar, input: BufferView<Scalar>, rows: Int, tangents k: Int,
                        output: MutableBufferView<Scalar>, workspace ws: DualWorkspace<Scalar>) {
        precondition(ws.owner == ObjectIdentifier(self), "workspace was made by another network")
        ws.begin(rows: rows, tangents: k, time: t)
        let m = (1 + k) * rows, d = dimension
        guard m > 0 else { return }
        ws.regions[0].update(from: input, count: m * d)
        a.withBufferView { pa in
            Scalar.gemm(transA: false, transB: true, m: m, n: d, k: d, alpha: 1, a: input, lda: d,
                        b: pa, ldb: d, beta: 0, c: output, ldc: d)
        }
    }

    public func backward(outputBar: BufferView<Scalar>, inputBar: MutableBufferView<Scalar>,
                         thetaBar: MutableBufferView<Scalar>, workspace ws: DualWorkspace<Scalar>) {
        precondition(ws.owner == ObjectIdentifier(self), "workspace was made by another network")
        precondition(ws.ready, "backward before forward on this workspace")
        let n = ws.rows, m = (1 + ws.tangents) * n, d = dimension
        guard m > 0 else { return }
        Scalar.gemm(transA: true, transB: false, m: d, n: d, k: m, alpha: 1, a: outputBar, lda: d,
                    b: ws.regions[0].readOnly, ldb: d, beta: 1, c: thetaBar, ldc: d)
        a.withBufferView { pa in
            Scalar.gemm(transA: false, transB: false, m: n, n: d, k: d, alpha: 1, a: outputBar, lda: d,
                        b: pa, ldb: d, beta: 0, c: inputBar, ldc: d)
        }
    }
}
