import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Micro-benchmark of the training hot path: per-evaluation cost of the dynamics.",
        discussion: """
        Times one evaluation of the CNF dynamics (primal + tangent: f and Jε) and one vector–Jacobian
        product (what each adjoint step evaluates) for the default 64-64-64 network in float32, at
        batch 100 and 1000, Hutchinson and exact trace, on 1 and 2 threads; measures single-thread
        sgemm on 1000×64·64×64 as the machine's peak and reports achieved GFLOP/s and the ratio to
        the FLOP bound (matrix-product FLOPs ÷ peak). Medians of several rounds. A guard against
        regressions, run by benchmarks/micro; not a test.

        Example:  cnf bench
        """)

    @Option(help: "Rounds per measurement.") var rounds: Int = 9
    @Option(help: "Batch sizes to time.") var sizes: [Int] = [100, 1000]
    @Option(help: "Chunks the batch is cut into (as --chunks of cnf fit).") var chunks: Int = 2
    @Option(help: "Divergences to time.") var divergences: [String] = ["hutchinson", "exact"]
    @Option(help: "Thread counts to time.") var threadCounts: [Int] = [1, 2]
    @Flag(help: "Only time the Swift matrix kernels against single-thread sgemm on the network's product shapes (alternated, medians).")
    var kernels = false

    func run() throws {
        if kernels { return printKernelTable() }
        let peak = sgemmPeak()
        print(String(format: "sgemm peak (1 thread, 1000x64 · 64x64): %.1f GFLOP/s; OpenBLAS core %@", peak, BLAS.coreName))
        print(KernelTiming.pathDescription)
        print("| N | trace | threads | evaluate µs | vjp µs | evaluate GFLOP/s | vjp GFLOP/s | evaluate ÷ bound | vjp ÷ bound | evaluate CPU µs | vjp CPU µs |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for n in sizes {
            for divergence in divergences.compactMap(Divergence.init(rawValue:)) {
                for threads in threadCounts {
                    let r = DynamicsTiming.measure(batchSize: n, divergence: divergence, threads: threads, chunks: chunks,
                                                   repetitions: rounds, callsPerRound: n >= 1000 ? 5 : 20)
                    let k = divergence == .exact ? 2 : (divergence == .off ? 0 : 1)
                    let forward = matmulFlops(rows: (1 + k) * n)
                    let vjp = 3 * forward
                    // The bound for t threads is t × the single-thread peak.
                    let bound = Double(threads) * peak * 1e3  // FLOP per µs
                    // CPU µs: process CPU time per call (all threads) in the fastest round; on a
                    // loaded machine a steadier measure of the work than wall time.
                    print(String(format: "| %d | %@ | %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f | %.1f |", n, divergence.rawValue, threads,
                                 r.evaluateMedianMicroseconds, r.vectorJacobianProductMedianMicroseconds,
                                 forward / r.evaluateMedianMicroseconds / 1e3, vjp / r.vectorJacobianProductMedianMicroseconds / 1e3,
                                 r.evaluateMedianMicroseconds / (forward / bound), r.vectorJacobianProductMedianMicroseconds / (vjp / bound),
                                 r.evaluateCPUMicroseconds, r.vectorJacobianProductCPUMicroseconds))
                }
            }
        }
    }

    /// Kernel paths (AVX2, AVX-512 where the CPU has it) vs sgemm GFLOP/s per product shape at
    /// the stacked row counts `(1 + k)·N / chunks`, then whole fused layers (µs per call) at
    /// N / chunks primal rows with one tangent block.
    func printKernelTable() {
        let rows = Array(Set(sizes.flatMap { n in [2 * n / chunks, 3 * n / chunks] })).sorted()
        let simd8 = KernelTiming.simd8Name
        print("\(KernelTiming.pathDescription); OpenBLAS core \(BLAS.coreName); 1 thread; medians of \(rounds) alternated rounds")
        print("| product | m | \(simd8) GFLOP/s | avx512 GFLOP/s | sgemm GFLOP/s | avx512 ÷ \(simd8) | best kernel ÷ sgemm | path |")
        print("|---|---|---|---|---|---|---|---|")
        for r in KernelTiming.compare(rows: rows, rounds: rounds) {
            let avx512 = r.avx512GFLOPS.map { String(format: "%.1f", $0) } ?? "–"
            let ratio = r.avx512GFLOPS.map { String(format: "%.2f", $0 / r.simd8GFLOPS) } ?? "–"
            let best = max(r.simd8GFLOPS, r.avx512GFLOPS ?? 0)
            print(String(format: "| %@ | %d | %.1f | %@ | %.1f | %@ | %.2f | %@ |", r.shape, r.rows, r.simd8GFLOPS, avx512,
                         r.blasGFLOPS, ratio, best / r.blasGFLOPS, r.chosen))
        }
        print("")
        print("Fused ConcatSquash layers, forward with 1 tangent block (µs per call; BLAS: sgemm + element-wise passes)")
        print("| layer | rows | store | \(simd8) µs | avx512 µs | BLAS µs | \(simd8) ÷ avx512 | path |")
        print("|---|---|---|---|---|---|---|---|")
        let primal = Array(Set(sizes.map { $0 / chunks })).sorted()
        for r in KernelTiming.compareLayers(rows: primal, rounds: rounds) {
            let avx512 = r.avx512Microseconds.map { String(format: "%.2f", $0) } ?? "–"
            let ratio = r.avx512Microseconds.map { String(format: "%.2f", r.simd8Microseconds / $0) } ?? "–"
            print(String(format: "| %@ | %d | %@ | %.2f | %@ | %.2f | %@ | %@ |", r.layer, r.rows, r.mode, r.simd8Microseconds,
                         avx512, r.blasMicroseconds, ratio, r.chosen))
        }
    }

    /// 2·rows·in·out over the layers 2→64→64→64→2.
    func matmulFlops(rows: Int) -> Double {
        let widths = [2, 64, 64, 64, 2]
        var f = 0.0
        for i in 0..<(widths.count - 1) { f += 2 * Double(rows * widths[i] * widths[i + 1]) }
        return f
    }

    func sgemmPeak() -> Double {
        BLAS.setThreads(1)
        let m = 1000, k = 64, n = 64
        var g = Xoshiro256(seed: 1)
        let a = (0..<(m * k)).map { _ in Float(g.normal()) }
        let b = (0..<(k * n)).map { _ in Float(g.normal()) }
        var c = [Float](repeating: 0, count: m * n)
        var times: [Double] = []
        for _ in 0..<max(rounds, 3) {
            let t0 = now()
            for _ in 0..<200 {
                Float.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k,
                           beta: 0, c: &c, ldc: n)
            }
            times.append((now() - t0) / 200)
        }
        return 2 * Double(m * n * k) / times.sorted()[times.count / 2] / 1e9
    }
}
