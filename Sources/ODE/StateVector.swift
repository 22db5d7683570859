/// The ODE module's one home for unsafe memory, after swift-collections' `_UnsafeHandle`: an
/// owner that allocates (`StateBuffer`), the views a vector field and the solvers index
/// (`StateVector`, `MutableStateVector`), and the bridges from arrays (`withStateVector`,
/// `withMutableStateVector`). Everything else in the module, and every `VectorField`, works
/// through the views and never names a pointer type.
///
/// Why views rather than arrays: a solver calls its field thousands of times per solve on
/// buffers it allocated once; arrays there would add copy-on-write and exclusivity checks to
/// the innermost loops and make "the state from index n on" a slice. A view is a start and a
/// count, `@frozen` and fully `@inlinable`, so `y[i]` and `y + n` compile to the same
/// instructions as on a raw pointer (measured: `cnf bench` unchanged, results bit-identical).
///
/// Lifetime: a view does not own its memory. A field may read `y` and write `dy` only during
/// the call it was given them in; the solver's `StateBuffer`s (or an array, in the bridges)
/// own them. Bounds are checked by `assert`, so in debug builds only.

/// A read-only view of `count` Doubles of a state (y, a cotangent, a stage) owned by the
/// solver or by an array.
@frozen
public struct StateVector: RandomAccessCollection {
    @usableFromInline let start: UnsafePointer<Double>
    public let count: Int

    @inlinable @inline(__always)
    init(start: UnsafePointer<Double>, count: Int) {
        self.start = start
        self.count = count
    }

    /// A read-only view of the same memory as `vector`.
    @inlinable @inline(__always)
    public init(_ vector: MutableStateVector) {
        self.init(start: UnsafePointer(vector.start), count: vector.count)
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }

    @inlinable
    public subscript(i: Int) -> Double {
        @inline(__always) get {
            assert(i >= 0 && i < count, "index \(i) outside a state of \(count)")
            return start[i]
        }
    }

    /// The state from `offset` on (e.g. the cotangent part of an augmented state); past the end
    /// it is empty.
    @inlinable @inline(__always)
    public static func + (vector: StateVector, offset: Int) -> StateVector {
        assert(offset >= 0, "negative offset \(offset)")
        return StateVector(start: vector.start + offset, count: Swift.max(vector.count - offset, 0))
    }

    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R? {
        try body(UnsafeBufferPointer(start: start, count: count))
    }
}

/// A view of `count` Doubles of a state, written in place (a field's `dy`, the solver's own
/// buffers). Copying the view copies the reference, not the values (`set` is nonmutating).
@frozen
public struct MutableStateVector {
    @usableFromInline let start: UnsafeMutablePointer<Double>
    public let count: Int

    @inlinable @inline(__always)
    init(start: UnsafeMutablePointer<Double>, count: Int) {
        self.start = start
        self.count = count
    }

    @inlinable
    public subscript(i: Int) -> Double {
        @inline(__always) get {
            assert(i >= 0 && i < count, "index \(i) outside a state of \(count)")
            return start[i]
        }
        @inline(__always) nonmutating set {
            assert(i >= 0 && i < count, "index \(i) outside a state of \(count)")
            start[i] = newValue
        }
    }

    /// The state from `offset` on.
    @inlinable @inline(__always)
    public static func + (vector: MutableStateVector, offset: Int) -> MutableStateVector {
        assert(offset >= 0, "negative offset \(offset)")
        return MutableStateVector(start: vector.start + offset, count: Swift.max(vector.count - offset, 0))
    }

    /// The same memory, read-only.
    @inlinable public var readOnly: StateVector { StateVector(self) }

    /// Sets the first `count` values to `value`. - Complexity: O(count).
    @inlinable @inline(__always)
    public func update(repeating value: Double, count: Int) {
        assert(count <= self.count, "fill of \(count) in a state of \(self.count)")
        start.update(repeating: value, count: count)
    }
}

/// `count` Doubles owned by this object, allocated once (uninitialized memory is never read:
/// every solver buffer is written before it is read) and freed with it.
/// - Complexity: O(1) to create and to hand out a view.
final class StateBuffer {
    let vector: MutableStateVector

    init(count: Int) {
        vector = MutableStateVector(start: .allocate(capacity: Swift.max(count, 1)), count: count)
    }

    deinit { vector.start.deallocate() }
}

extension Array where Element == Double {
    /// Calls `body` with a view of the array's values, valid during the call only.
    @inlinable @inline(__always)
    public func withStateVector<R>(_ body: (StateVector) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { buffer in
            try body(StateVector(start: buffer.baseAddress ?? UnsafePointer(emptyStateStart()), count: buffer.count))
        }
    }

    /// Calls `body` with a writable view of the array's values, valid during the call only.
    @inlinable @inline(__always)
    public mutating func withMutableStateVector<R>(_ body: (MutableStateVector) throws -> R) rethrows -> R {
        try withUnsafeMutableBufferPointer { buffer in
            try body(MutableStateVector(start: buffer.baseAddress ?? emptyStateStart(), count: buffer.count))
        }
    }
}

/// A non-null, aligned start for an empty view (never dereferenced).
@inlinable @inline(__always)
func emptyStateStart() -> UnsafeMutablePointer<Double> {
    UnsafeMutablePointer(bitPattern: MemoryLayout<Double>.alignment)!
}
