import CNFCore
import Networks
import ODE

/// A CNF of either precision behind one interface (the command line loads models whose
/// precision is only known from the file).
public protocol AnyCNF: AnyObject {
    var dimension: Int { get }
    var endTimes: [Double] { get }
    func setThreads(_ n: Int)
    func logDensity(points: [Double], generator: inout Xoshiro256, solve: SolveOptions, batchSize: Int,
                    startTime: Double, progress: ((Int) -> Void)?) throws -> (values: [Double], stats: SolveStats)
    var parameterCount: Int { get }
    /// Mean NLL (+ RNODE terms) of a batch and its gradient (see `CNF.loss`).
    func loss(points: [Double], noise: [[Double]], options: DensityOptions, wantGradient: Bool) throws -> LossEvaluation
    func sample(base: [Double], solve: SolveOptions, fractions: [Double], batchSize: Int,
                observe: ((Int, [Double]) -> Void)?, progress: ((Int) -> Void)?) throws -> (points: [Double], stats: SolveStats)
}

extension CNF: AnyCNF {
    public func setThreads(_ n: Int) { threads = n }

    public func logDensity(points: [Double], generator: inout Xoshiro256, solve: SolveOptions, batchSize: Int,
                           startTime: Double, progress: ((Int) -> Void)?) throws -> (values: [Double], stats: SolveStats) {
        try logDensity(points: points, divergence: .exact, generator: &generator, solve: solve,
                       batchSize: batchSize, startTime: startTime, progress: progress)
    }
}
