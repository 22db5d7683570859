import CNFCore
import Flow
import ODE
import Training
import Persistence
import Foundation
import ToyData

/// What stands between a file's rows and the flow: optional dequantization of whole-number
/// columns (x + u, u ~ U(0, 1), in the data's units) and the affine `Standardizer`
/// z = A (x − c), both fitted on the training rows only. Part of the model: stored as JSON in
/// every model file's metadata (`Checkpoint.standardizerKey`, `.dequantizerKey`), so a file
/// alone rebuilds it.
///
/// Log-densities in the data's units: log p_x(x) = log p_flow(A (x − c)) + log |det A|.
struct Preprocessing {
    var standardizer: Standardizer
    /// nil or empty: no dequantization.
    var dequantizer: Dequantizer?

    static func identity(dimension d: Int) -> Preprocessing {
        Preprocessing(standardizer: .identity(dimension: d), dequantizer: nil)
    }

    var dimension: Int { standardizer.dimension }
    var isIdentity: Bool { standardizer.isIdentity && (dequantizer?.isEmpty ?? true) }

    /// Fits the configured map on the training rows.
    static func fit(_ c: FitConfig.DataSection, trainingRows train: DataSet) throws -> Preprocessing {
        let method = Standardizer.Method(rawValue: c.standardize.rawValue)!
        let dequantizer = c.dequantize == .uniform ? Dequantizer.detect(train) : nil
        do {
            return Preprocessing(standardizer: try Standardizer.fit(train, method: method), dequantizer: dequantizer)
        } catch let e as DataError {
            throw CLIError(e.description)
        }
    }

    /// Raw rows → the flow's units: dequantize (drawing from `rng`, row by row), then standardize.
    func toFlow(_ x: [Double], using rng: inout Xoshiro256) -> [Double] {
        var x = x
        dequantizer?.apply(&x, using: &rng)
        return standardizer.isIdentity ? x : standardizer.standardize(x)
    }

    /// The metadata entries a model file carries (none for the identity, so toy-set files are
    /// what they were).
    var metadata: [String: String] {
        var m = [String: String]()
        guard !isIdentity else { return m }
        m[Checkpoint.standardizerKey] = String(decoding: try! JSONEncoder.sorted.encode(standardizer), as: UTF8.self)
        if let q = dequantizer, !q.isEmpty {
            m[Checkpoint.dequantizerKey] = String(decoding: try! JSONEncoder.sorted.encode(q), as: UTF8.self)
        }
        return m
    }

    /// The map stored in a model file (the identity when there is none).
    static func read(from file: SafeTensorsFile, dimension d: Int, path: String) throws -> Preprocessing {
        var p = Preprocessing.identity(dimension: d)
        if let json = file.metadata[Checkpoint.standardizerKey] {
            guard let s = try? JSONDecoder().decode(Standardizer.self, from: Data(json.utf8)), s.dimension == d else {
                throw CLIError("\(path): its \(Checkpoint.standardizerKey) metadata does not decode as a \(d)-column standardizer")
            }
            p.standardizer = s
        }
        if let json = file.metadata[Checkpoint.dequantizerKey] {
            guard let q = try? JSONDecoder().decode(Dequantizer.self, from: Data(json.utf8)), q.dimension == d else {
                throw CLIError("\(path): its \(Checkpoint.dequantizerKey) metadata does not decode as a \(d)-column dequantizer")
            }
            p.dequantizer = q
        }
        return p
    }

    /// One line for reports.
    var summary: String {
        var s = "standardize \(standardizer.method.rawValue) (log|det A| = \(String(format: "%.6g", standardizer.logAbsDetJacobian)))"
        if let q = dequantizer, !q.isEmpty {
            s += "; dequantized columns \(q.columns.map { "\($0 + 1)" }.joined(separator: ", ")) by U(0, 1)"
        }
        return s
    }
}

/// A flow seen in the data's units: points are standardized on the way in and log-densities
/// shifted by log |det A|; samples (and every snapshot of the sample sequence) are mapped back
/// by x = c + L z. With the identity map it is the flow itself, bit for bit.
final class DataUnitsModel: AnyCNF {
    let flow: AnyCNF
    let standardizer: Standardizer

    init(flow: AnyCNF, standardizer: Standardizer) {
        self.flow = flow
        self.standardizer = standardizer
    }

    var dimension: Int { flow.dimension }
    var endTimes: [Double] { flow.endTimes }
    var parameterCount: Int { flow.parameterCount }
    func setThreads(_ n: Int) { flow.setThreads(n) }

    func logDensity(points: [Double], generator: inout Xoshiro256, solve: SolveOptions, batchSize: Int,
                    startTime: Double, progress: ((Int) -> Void)?) throws -> (values: [Double], stats: SolveStats) {
        let r = try flow.logDensity(points: standardizer.standardize(points), generator: &generator, solve: solve,
                                    batchSize: batchSize, startTime: startTime, progress: progress)
        return (standardizer.dataLogDensity(r.values), r.stats)
    }

    /// The flow's loss on points in its own units (training does not go through here).
    func loss(points: [Double], noise: [[Double]], options: DensityOptions, wantGradient: Bool) throws -> LossEvaluation {
        try flow.loss(points: points, noise: noise, options: options, wantGradient: wantGradient)
    }

    func sample(base: [Double], solve: SolveOptions, fractions: [Double], batchSize: Int,
                observe: ((Int, [Double]) -> Void)?, progress: ((Int) -> Void)?) throws -> (points: [Double], stats: SolveStats) {
        let s = standardizer
        let r = try flow.sample(base: base, solve: solve, fractions: fractions, batchSize: batchSize,
                                observe: observe.map { f in { k, z in f(k, s.unstandardize(z)) } }, progress: progress)
        return (s.unstandardize(r.points), r.stats)
    }
}
