/// CNFCore's one home for unsafe memory (with the BLAS boundary in Scalar.swift), after
/// swift-collections' `_UnsafeHandle`: an owner that allocates (`AlignedBuffer`), views that
/// the kernels index (`BufferView`, `MutableBufferView`), and the bridges from arrays
/// (`withBufferView`, `withMutableBufferView`). Code outside this file reads and writes through
/// the views and never names a pointer type.
///
/// Why views rather than arrays: the network and dynamics kernels run on scratch buffers that
/// are allocated once and indexed in the innermost loops, where an array's copy-on-write and
/// exclusivity checks cost measurably (and a row offset would mean a slice or an index sum the
/// vectorizer trips over). A view is a start and a count, `@frozen` and fully `@inlinable`, so
/// `v[i]` and `v + offset` compile to the same instructions as on a raw pointer.
///
/// Lifetime: a view does not own its memory. It is valid while its owner lives (the
/// `AlignedBuffer`, the network, the workspace) or, from an array bridge, during the closure.
/// Bounds are checked by `assert`, so in debug builds only (as with pointers, release builds
/// check nothing).

/// A read-only view of `count` contiguous elements owned by something else.
@frozen
public struct BufferView<Element>: RandomAccessCollection {
    @usableFromInline let start: UnsafePointer<Element>
    public let count: Int

    @inlinable @inline(__always)
    init(start: UnsafePointer<Element>, count: Int) {
        self.start = start
        self.count = count
    }

    /// A read-only view of the same memory as `view`.
    @inlinable @inline(__always)
    public init(_ view: MutableBufferView<Element>) {
        self.init(start: UnsafePointer(view.start), count: view.count)
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }

    @inlinable
    public subscript(i: Int) -> Element {
        @inline(__always) get {
            assert(i >= 0 && i < count, "index \(i) outside a view of \(count)")
            return start[i]
        }
    }

    /// The view from `offset` on (a row of a row-major buffer, a named range of a state); past
    /// the end it is empty, as a pointer past the end may be formed but not read.
    @inlinable @inline(__always)
    public static func + (view: BufferView, offset: Int) -> BufferView {
        assert(offset >= 0, "negative offset \(offset)")
        return BufferView(start: view.start + offset, count: Swift.max(view.count - offset, 0))
    }

    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R? {
        try body(UnsafeBufferPointer(start: start, count: count))
    }
}

/// A view of `count` contiguous elements owned by something else, written in place.
/// Copying the view copies the reference, not the elements (`set` is nonmutating).
@frozen
public struct MutableBufferView<Element> {
    @usableFromInline let start: UnsafeMutablePointer<Element>
    public let count: Int

    @inlinable @inline(__always)
    init(start: UnsafeMutablePointer<Element>, count: Int) {
        self.start = start
        self.count = count
    }

    @inlinable
    public subscript(i: Int) -> Element {
        @inline(__always) get {
            assert(i >= 0 && i < count, "index \(i) outside a view of \(count)")
            return start[i]
        }
        @inline(__always) nonmutating set {
            assert(i >= 0 && i < count, "index \(i) outside a view of \(count)")
            start[i] = newValue
        }
    }

    /// The view from `offset` on.
    @inlinable @inline(__always)
    public static func + (view: MutableBufferView, offset: Int) -> MutableBufferView {
        assert(offset >= 0, "negative offset \(offset)")
        return MutableBufferView(start: view.start + offset, count: Swift.max(view.count - offset, 0))
    }

    /// The same memory, read-only.
    @inlinable public var readOnly: BufferView<Element> { BufferView(self) }

    /// Copies the first `count` elements of `source` here. - Complexity: O(count).
    @inlinable @inline(__always)
    public func update(from source: BufferView<Element>, count: Int) {
        assert(count <= self.count && count <= source.count, "copy of \(count) into \(self.count) from \(source.count)")
        start.update(from: source.start, count: count)
    }

    /// Copies `source` to the start of the view. - Complexity: O(source.count).
    @inlinable
    public func update(from source: [Element]) {
        assert(source.count <= count, "copy of \(source.count) into a view of \(count)")
        start.update(from: source, count: source.count)
    }

    /// Sets the first `count` elements to `value`. - Complexity: O(count).
    @inlinable @inline(__always)
    public func update(repeating value: Element, count: Int) {
        assert(count <= self.count, "fill of \(count) in a view of \(count)")
        start.update(repeating: value, count: count)
    }

    /// Sets the first `count` elements to all-zero bytes (0 for the BLAS scalars) with one
    /// memset: in a generic context an element loop would go through witnesses.
    @inlinable @inline(__always)
    public func zeroBytes(count: Int) {
        assert(count <= self.count, "fill of \(count) in a view of \(self.count)")
        UnsafeMutableRawPointer(start).initializeMemory(as: UInt8.self, repeating: 0,
                                                        count: count * MemoryLayout<Element>.stride)
    }

    /// The same memory seen as `T` (the caller has checked that `Element` is `T`; the kernels
    /// specialise a generic loop this way).
    @inlinable @inline(__always)
    public func assumingElement<T>(_: T.Type) -> MutableBufferView<T> {
        assert(MemoryLayout<T>.stride == MemoryLayout<Element>.stride, "element sizes differ")
        return MutableBufferView<T>(start: UnsafeMutableRawPointer(start).assumingMemoryBound(to: T.self), count: count)
    }
}

extension MutableBufferView where Element: SIMDScalar {
    /// The `V.scalarCount` elements from `i` as one SIMD vector (unaligned load).
    @inlinable @inline(__always)
    public func load<V: SIMD>(_: V.Type, at i: Int) -> V where V.Scalar == Element {
        assert(i >= 0 && i + V.scalarCount <= count, "vector load at \(i) outside a view of \(count)")
        return UnsafeRawPointer(start + i).loadUnaligned(as: V.self)
    }

    /// Stores `vector` to the `V.scalarCount` elements from `i` (unaligned store).
    @inlinable @inline(__always)
    public func store<V: SIMD>(_ vector: V, at i: Int) where V.Scalar == Element {
        assert(i >= 0 && i + V.scalarCount <= count, "vector store at \(i) outside a view of \(count)")
        UnsafeMutableRawPointer(start + i).storeBytes(of: vector, as: V.self)
    }
}

/// Memory for one or more regions of `Element`s, owned and freed by this object: one
/// 64-byte-aligned, zero-filled allocation cut into regions that each start on a 64-byte
/// boundary (a cache line; the SIMD kernels and BLAS like aligned rows).
///
/// - Complexity: O(total size) to create; handing out a region is O(1).
public final class AlignedBuffer<Element> {
    /// The regions, in the order of the sizes given to `init`.
    public let regions: [MutableBufferView<Element>]
    private let base: UnsafeMutableRawPointer

    /// - Parameter regionSizes: element counts (0 is allowed: an empty region).
    public init(regionSizes: [Int]) {
        precondition(regionSizes.allSatisfy { $0 >= 0 }, "region sizes must be ≥ 0, got \(regionSizes)")
        let stride = MemoryLayout<Element>.stride
        let aligned = regionSizes.map { ($0 * stride + 63) / 64 * 64 }
        let total = Swift.max(aligned.reduce(0, +), 64)
        base = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        var offset = 0
        var regions: [MutableBufferView<Element>] = []
        for (size, bytes) in zip(regionSizes, aligned) {
            let start = (base + offset).bindMemory(to: Element.self, capacity: Swift.max(bytes / stride, 1))
            regions.append(MutableBufferView(start: start, count: size))
            offset += bytes
        }
        self.regions = regions
    }

    /// One region of `count` elements.
    public convenience init(count: Int) { self.init(regionSizes: [count]) }

    /// The first region (the whole buffer for `init(count:)`).
    @inlinable public var view: MutableBufferView<Element> { regions[0] }

    deinit { base.deallocate() }
}

extension Array {
    /// An array made of the elements of `view`. - Complexity: O(view.count).
    @inlinable
    public init(_ view: MutableBufferView<Element>) {
        self.init(view.readOnly)
    }

    /// Calls `body` with a view of the array's elements, valid during the call only.
    @inlinable @inline(__always)
    public func withBufferView<R>(_ body: (BufferView<Element>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { buffer in
            try body(BufferView(start: buffer.baseAddress ?? UnsafePointer(emptyStart(Element.self)), count: buffer.count))
        }
    }

    /// Calls `body` with a writable view of the array's elements, valid during the call only.
    @inlinable @inline(__always)
    public mutating func withMutableBufferView<R>(_ body: (MutableBufferView<Element>) throws -> R) rethrows -> R {
        try withUnsafeMutableBufferPointer { buffer in
            try body(MutableBufferView(start: buffer.baseAddress ?? emptyStart(Element.self), count: buffer.count))
        }
    }
}

/// A non-null, aligned start for an empty view (never dereferenced).
@inlinable @inline(__always)
func emptyStart<Element>(_: Element.Type) -> UnsafeMutablePointer<Element> {
    UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
}

// MARK: - Escape hatch for SIMD kernels

extension BufferView {
    /// The first element's address, for the hand-written SIMD kernels that walk memory with
    /// their own strides (Sources/Networks/Kernels); everything else uses the view.
    @inlinable @inline(__always)
    public var kernelStart: UnsafePointer<Element> { start }
}

extension MutableBufferView {
    /// The first element's address, for the hand-written SIMD kernels (see `BufferView.kernelStart`).
    @inlinable @inline(__always)
    public var kernelStart: UnsafeMutablePointer<Element> { start }
}
