import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ToyData

/// The data of a run: where training batches come from, the validation set (what anything that
/// chooses looks at) and the test set (touched only by `cnf eval`).
///
/// Toy sets: training batches, validation points and test points come from three independent
/// streams of the seed, and the flow sees them as they are. A file: read (missing values
/// refused or their rows dropped), checked (`DataReport`), split by the seed into test,
/// validation and training rows (`DataSplit`), and preprocessed by a map fitted on the
/// training rows only (`Preprocessing`): training batches and validation points reach the flow
/// dequantized and standardized; the test rows stay in the data's units, for `cnf eval`.
struct RunData {
    let dimension: Int
    let name: String
    /// Draws a training batch, in the flow's units (file: rows drawn with replacement from the
    /// training rows, dequantized with the same generator, then standardized).
    let sampleBatch: (inout Xoshiro256, Int) -> [Double]
    /// Draws n test points in the data's units (toy: the first n of the test stream; file: the
    /// held-out rows, not dequantized).
    let testPoints: (Int) -> [Double]
    let testCount: Int?
    /// Draws n validation points in the flow's units (toy: the validation stream; file: the
    /// validation rows, at most n, dequantized from the validation stream and standardized).
    let validationPoints: (Int) -> [Double]
    let toy: ToyDataset?
    /// A file's rows and their split (nil for toy sets).
    let file: FileRows?
    /// The map from the data's units to the flow's (the identity for toy sets).
    let preprocessing: Preprocessing

    var entropyFloor: Double? { toy?.entropyFloor }
    /// Column names for pictures: the CSV header's, else x0, x1, …
    var columnNames: [String] {
        file?.data.columnNames ?? (0..<dimension).map { "x\($0)" }
    }

    /// A file read and split.
    struct FileRows {
        let data: DataSet
        let split: DataSplit
        var train: DataSet { DataSplit.subset(data, split.train) }
        var validation: DataSet { DataSplit.subset(data, split.validation) }
        var test: DataSet { DataSplit.subset(data, split.test) }
    }

    /// - Parameter announce: print the data checks' warnings and notes (`cnf fit`, once,
    ///   before anything is written). Errors are thrown whatever `announce` says.
    static func make(_ c: FitConfig, announce: Bool = false) throws -> RunData {
        if let name = c.data.dataset {
            let toy = try ToyDataset.named(name)
            func stream(_ s: RandomStream) -> (Int) -> [Double] {
                { n in
                    var rng = Xoshiro256(seed: c.seed, stream: s)
                    return toy.sample(n, using: &rng)
                }
            }
            return RunData(dimension: 2, name: toy.rawValue,
                           sampleBatch: { rng, n in toy.sample(n, using: &rng) },
                           testPoints: stream(.test), testCount: nil,
                           validationPoints: stream(.validation), toy: toy, file: nil,
                           preprocessing: .identity(dimension: 2))
        }
        let path = c.data.file!
        let loaded = try loadData(path: path, missing: c.data.dropMissing ? .drop : .refuse)
        let set = loaded.data
        let d = set.cols
        let split: DataSplit
        do {
            split = try DataSplit(rows: set.rows, validationFraction: c.data.validationFraction,
                                  testFraction: c.data.testFraction, seed: c.seed)
        } catch let e as DataError {
            throw CLIError("\(path): \(e.description)")
        }

        var options = DataReport.Options()
        options.standardize = Standardizer.Method(rawValue: c.data.standardize.rawValue)!
        options.dequantize = Dequantization(rawValue: c.data.dequantize.rawValue)!
        options.trainingRows = split.train.count
        options.hidden = c.model.dims
        options.batchSize = c.training.batchSize
        options.exactTrace = c.density.divergence(dimension: d) == .exact
        let report = DataReport.check(set, options: options)
        if let e = report.errors.first { throw CLIError(e.message) }
        if announce {
            if let dropped = loaded.droppedSummary { say("cnf: note: \(dropped)") }
            for w in report.diagnostics { say("cnf: \(w.severity.rawValue): \(ConfigFlags.commandLine(w.message))") }
        }

        let rows = FileRows(data: set, split: split)
        let preprocessing = try Preprocessing.fit(c.data, trainingRows: rows.train)
        if announce {
            say("cnf: note: \(path): \(split.summary(seed: c.seed)); standardize \(preprocessing.standardizer)"
                + (preprocessing.dequantizer.map { $0.isEmpty ? "" : "; dequantizing columns \($0.columns.map { "\($0 + 1)" }.joined(separator: ", ")) by U(0, 1)" } ?? ""))
        }
        let trainRows = split.train
        let values = set.values
        let validation = rows.validation
        let test = rows.test
        return RunData(dimension: d, name: URL(fileURLWithPath: path).lastPathComponent,
                       sampleBatch: { rng, n in
                           var out = [Double](repeating: 0, count: n * d)
                           for i in 0..<n {
                               let r = trainRows[rng.int(below: trainRows.count)]
                               for j in 0..<d { out[i * d + j] = values[r * d + j] }
                           }
                           return preprocessing.toFlow(out, using: &rng)
                       },
                       testPoints: { n in Array(test.values.prefix(n * d)) },
                       testCount: split.test.count,
                       validationPoints: { n in
                           var rng = Xoshiro256(seed: c.seed, stream: .validation)
                           return preprocessing.toFlow(Array(validation.values.prefix(n * d)), using: &rng)
                       },
                       toy: nil, file: rows, preprocessing: preprocessing)
    }
}
