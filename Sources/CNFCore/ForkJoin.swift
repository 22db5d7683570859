import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fork–join pool with low latency, for the many short parallel sections of an ODE solve
/// (one per function evaluation, 30–200 µs of work each).
///
/// Why not `DispatchQueue.concurrentPerform`: measured with `cnf bench` on this machine, waking
/// libdispatch's workers costs ~50 µs per call, more than the 36 µs a batch-100 evaluation
/// takes on one core, so two threads were *slower* than one. Here the helper threads spin on a
/// generation counter for a short while after each section (the next evaluation usually comes
/// within microseconds) and only then park on a semaphore.
///
/// `run(count:)` calls `body(i)` for i in 0..<count, worker w taking i = w, w + W, … (a fixed
/// assignment; what each index computes must not depend on which thread runs it — callers
/// reduce per-index results in index order, so results are bit-identical for any thread count).
/// Not reentrant: one `run` at a time per pool.
package final class ForkJoinPool: @unchecked Sendable {
    /// Helper threads (the caller is worker 0).
    let helpers: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private final class Flag: @unchecked Sendable { let value = Atomic<Bool>(false) }
    private let parked: [Flag]
    private let wakeups: [DispatchSemaphore]
    nonisolated(unsafe) private var body: ((Int) -> Void)?
    nonisolated(unsafe) private var count = 0
    /// Spin iterations before a helper parks (about 50–100 µs).
    static let spins = 20_000

    package init(threads: Int) {
        helpers = max(0, threads - 1)
        parked = (0..<helpers).map { _ in Flag() }
        wakeups = (0..<helpers).map { _ in DispatchSemaphore(value: 0) }
        for h in 0..<helpers {
            let t = Thread { self.helperLoop(h + 1) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// One pool per thread count for the whole process (evaluations never overlap: a solve
    /// runs its evaluations one after another), so models and fields share the helpers.
    package static func shared(threads: Int) -> ForkJoinPool {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let p = registry[threads] { return p }
        let p = ForkJoinPool(threads: threads)
        registry[threads] = p
        return p
    }
    nonisolated(unsafe) private static var registry: [Int: ForkJoinPool] = [:]
    private static let registryLock = NSLock()

    package func run(count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { run(count: count, escaping: $0) }
    }

    private func run(count: Int, escaping body: @escaping (Int) -> Void) {
        let workers = min(helpers + 1, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        self.body = body
        self.count = count
        pending.store(helpers, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        for h in 0..<helpers where parked[h].value.exchange(false, ordering: .sequentiallyConsistent) {
            wakeups[h].signal()
        }
        work(0)
        while pending.load(ordering: .sequentiallyConsistent) > 0 { spinHint() }
        self.body = nil
    }

    private func work(_ w: Int) {
        let stride = helpers + 1
        var i = w
        while i < count {
            body!(i)
            i += stride
        }
    }

    private func helperLoop(_ w: Int) {
        // The generation before any run: a helper that starts late must not skip the first one.
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                spins += 1
                if spins < ForkJoinPool.spins { spinHint(); continue }
                parked[w - 1].value.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) != seen {
                    parked[w - 1].value.store(false, ordering: .sequentiallyConsistent)
                    break
                }
                wakeups[w - 1].wait()
                spins = 0
            }
            seen = generation.load(ordering: .sequentiallyConsistent)
            work(w)
            pending.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}

/// Nothing to do: each spin re-reads an atomic, which is the barrier the loop needs.
@inline(__always)
private func spinHint() {}
