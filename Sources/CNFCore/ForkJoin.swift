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
    /// How long a helper spins after a section before it parks. A solve's sections come every
    /// few microseconds; between them a training iteration does serial work (the optimizer, the
    /// batch, a solver's bookkeeping) for up to a few hundred microseconds, and a parked helper
    /// costs a futex wake-up and a context switch (measured on Zen 5: 15 % of a 2-thread
    /// 8gaussians fit's samples in the pool's waits with a 20 000-iteration spin, ≈ 10 µs there).
    /// Measured in time, not iterations, so it means the same on every CPU.
    static let spinSeconds = 300e-6

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
            var spinStart = 0.0
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                spins += 1
                // Read the clock only every 1 024 spins (it costs more than a spin).
                if spins & 1023 != 0 { spinHint(); continue }
                let now = monotonicSeconds()
                if spinStart == 0 { spinStart = now }
                if now - spinStart < ForkJoinPool.spinSeconds { spinHint(); continue }
                parked[w - 1].value.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) != seen {
                    parked[w - 1].value.store(false, ordering: .sequentiallyConsistent)
                    break
                }
                wakeups[w - 1].wait()
                spins = 0
                spinStart = 0
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
