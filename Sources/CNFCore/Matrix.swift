/// A dense row-major matrix over contiguous storage.
///
/// Element (i, j) lives at `storage[i * cols + j]`. Products go through BLAS
/// (`Scalar.gemm`), with transposes as flags rather than copies.
public struct Matrix<Scalar: BLASScalar>: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public var storage: [Scalar]

    public init(rows: Int, cols: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && cols >= 0, "matrix shape must be non-negative, got \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = Array(repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, storage: [Scalar]) {
        precondition(storage.count == rows * cols,
                     "storage has \(storage.count) elements, a \(rows)×\(cols) matrix needs \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Builds a matrix from nested rows; all rows must have the same length.
    public init(_ nested: [[Scalar]]) {
        let r = nested.count
        let c = nested.first?.count ?? 0
        precondition(nested.allSatisfy { $0.count == c }, "ragged rows")
        self.init(rows: r, cols: c, storage: nested.flatMap { $0 })
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    @inlinable public var count: Int { rows * cols }

    @inlinable public subscript(i: Int, j: Int) -> Scalar {
        get { storage[i * cols + j] }
        set { storage[i * cols + j] = newValue }
    }

    /// Row `i` as a new array.
    public func row(_ i: Int) -> [Scalar] { Array(storage[(i * cols)..<((i + 1) * cols)]) }

    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t[j, i] = self[i, j] } }
        return t
    }

    /// op(A)·op(B) through BLAS.
    /// - Complexity: O(m·n·k).
    public static func product(_ a: Matrix, _ b: Matrix,
                               transposeA ta: Bool = false, transposeB tb: Bool = false) -> Matrix {
        let m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols
        let kb = tb ? b.cols : b.rows, n = tb ? b.rows : b.cols
        precondition(k == kb, "inner dimensions differ: \(m)×\(k) · \(kb)×\(n)")
        var c = Matrix(rows: m, cols: n)
        if m == 0 || n == 0 { return c }
        if k == 0 { return c }
        Scalar.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: a.storage, lda: a.cols,
                    b: b.storage, ldb: b.cols, beta: 0, c: &c.storage, ldc: n)
        return c
    }

    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, b) }

    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shapes differ")
        return Matrix(rows: a.rows, cols: a.cols, storage: zip(a.storage, b.storage).map { $0 + $1 })
    }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shapes differ")
        return Matrix(rows: a.rows, cols: a.cols, storage: zip(a.storage, b.storage).map { $0 - $1 })
    }

    public static func * (s: Scalar, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, cols: a.cols, storage: a.storage.map { s * $0 })
    }

    /// The largest |a_ij|.
    public var maxAbs: Scalar { storage.reduce(0) { Swift.max($0, Swift.abs($1)) } }

    /// Matrix exponential by scaling and squaring with a Taylor series (for tests and
    /// closed forms; small matrices only).
    public func exponential() -> Matrix {
        precondition(rows == cols, "exponential needs a square matrix")
        var s = 0
        var norm = maxAbs * Scalar(rows)
        while norm > 0.5 { norm /= 2; s += 1 }
        let a = Scalar(1) / Scalar(1 << s) * self
        var result = Matrix.identity(rows)
        var term = Matrix.identity(rows)
        for k in 1...20 {
            term = Scalar(1) / Scalar(k) * (term * a)
            result = result + term
        }
        for _ in 0..<s { result = result * result }
        return result
    }
}
