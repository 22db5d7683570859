import CNFCore
import Networks
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small timing harness for the training hot path (not a test: timings depend on the
/// machine and its load). Call it from a release build, e.g. a `cnf bench` command.
public enum DynamicsTiming {
    public struct Result: Sendable, CustomStringConvertible {
        public let batchSize: Int
        public let hiddenWidths: [Int]
        public let divergence: Divergence
        public let threads: Int
        /// Microseconds per call in the fastest round (the least disturbed by other load).
        public let evaluateMicroseconds: Double
        public let vectorJacobianProductMicroseconds: Double
        /// Microseconds per call in the median round.
        public let evaluateMedianMicroseconds: Double
        public let vectorJacobianProductMedianMicroseconds: Double
        /// Process CPU microseconds per call in the fastest round (all threads; on a loaded
        /// machine a steadier measure of the work than wall time).
        public let evaluateCPUMicroseconds: Double
        public let vectorJacobianProductCPUMicroseconds: Double

        public var description: String {
            let w = hiddenWidths.map(String.init).joined(separator: "-")
            return "N=\(batchSize) \(w) \(divergence) threads=\(threads): evaluate \(format(evaluateMicroseconds)) µs"
                + " (median \(format(evaluateMedianMicroseconds))), vjp \(format(vectorJacobianProductMicroseconds)) µs"
                + " (median \(format(vectorJacobianProductMedianMicroseconds))); CPU: evaluate"
                + " \(format(evaluateCPUMicroseconds)) µs, vjp \(format(vectorJacobianProductCPUMicroseconds)) µs"
        }

        private func format(_ x: Double) -> String { "\((x * 10).rounded() / 10)" }
    }

    /// Times `CNFDynamics` on a Float `ODENet` (concatsquash, tanh, d = 2) at a random state:
    /// `repetitions` rounds of `callsPerRound` calls each, after one warm-up call; reports the
    /// fastest and the median round.
    public static func measure(batchSize: Int, hiddenWidths: [Int] = [64, 64, 64],
                               divergence: Divergence = .hutchinson, threads: Int = 2, chunks: Int = 2,
                               repetitions: Int = 7, callsPerRound: Int = 20) -> Result {
        var g = Xoshiro256(seed: 1)
        let net = ODENet<Float>(configuration: ODENetConfiguration(dimension: 2, hiddenWidths: hiddenWidths), generator: &g)
        let field = CNFDynamics(network: net, batchSize: batchSize, divergence: divergence,
                                chunks: chunks, threads: threads)
        if divergence == .hutchinson { field.drawNoise(using: &g) }
        let y = (0..<field.dimension).map { _ in g.normal() }
        let a = (0..<field.dimension).map { _ in g.normal() }
        var dy = [Double](repeating: 0, count: field.dimension), yBar = dy
        var thetaBar = [Double](repeating: 0, count: field.parameterCount)

        func cpuNanoseconds() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
        }
        func time(_ body: () -> Void) -> (best: Double, median: Double, cpu: Double) {
            body()
            var rounds: [Double] = [], cpu = Double.infinity
            for _ in 0..<Swift.max(repetitions, 1) {
                let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuNanoseconds()
                for _ in 0..<callsPerRound { body() }
                rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(callsPerRound))
                cpu = Swift.min(cpu, (cpuNanoseconds() - cpuStart) / 1e3 / Double(callsPerRound))
            }
            rounds.sort()
            return (rounds[0], rounds[rounds.count / 2], cpu)
        }
        let evaluate = time { field.evaluate(t: 0.25, y: y, dy: &dy) }
        let vjp = time {
            field.vectorJacobianProduct(t: 0.25, y: y, cotangent: a, dy: &dy, yBar: &yBar, thetaBar: &thetaBar)
        }
        return Result(batchSize: batchSize, hiddenWidths: hiddenWidths, divergence: divergence, threads: threads,
                      evaluateMicroseconds: evaluate.best, vectorJacobianProductMicroseconds: vjp.best,
                      evaluateMedianMicroseconds: evaluate.median, vectorJacobianProductMedianMicroseconds: vjp.median,
                      evaluateCPUMicroseconds: evaluate.cpu, vectorJacobianProductCPUMicroseconds: vjp.cpu)
    }
}
