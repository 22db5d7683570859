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
/// streams of the seed. A file: its rows are shuffled by the seed; the first `testFraction` are
/// the test set, the next `validationFraction` the validation set, and training batches are
/// drawn with replacement from the rest.
struct RunData {
    let dimension: Int
    let name: String
    let sampleBatch: (inout Xoshiro256, Int) -> [Double]
    /// Draws n test points (toy: the first n of the test stream; file: the held-out rows).
    let testPoints: (Int) -> [Double]
    let testCount: Int?
    /// Draws n validation points (toy: the validation stream; file: the validation rows, at most n).
    let validationPoints: (Int) -> [Double]
    let toy: ToyDataset?

    var entropyFloor: Double? { toy?.entropyFloor }

    static func make(_ c: FitConfig) throws -> RunData {
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
                           validationPoints: stream(.validation), toy: toy)
        }
        let path = c.data.file!
        let set = try loadData(path: path)
        let d = set.cols
        var order = Array(0..<set.rows)
        var rng = Xoshiro256(seed: c.seed, stream: .fileSplit)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, rng.int(below: i + 1))
        }
        let nTest = max(1, Int((Double(set.rows) * c.data.testFraction).rounded()))
        let nValidation = c.data.validationFraction > 0
            ? max(1, Int((Double(set.rows) * c.data.validationFraction).rounded())) : 0
        guard set.rows - nTest - nValidation >= 1 else {
            throw CLIError("\(path) has \(set.rows) rows: too few to hold out \(nTest) test and \(nValidation) validation rows")
        }
        let testRows = Array(order[..<nTest])
        let validationRows = Array(order[nTest..<(nTest + nValidation)])
        let trainRows = Array(order[(nTest + nValidation)...])
        let values = set.values
        func gather(_ rows: ArraySlice<Int>) -> [Double] {
            var out: [Double] = []
            out.reserveCapacity(rows.count * d)
            for r in rows { out.append(contentsOf: values[(r * d)..<((r + 1) * d)]) }
            return out
        }
        return RunData(dimension: d, name: URL(fileURLWithPath: path).lastPathComponent,
                       sampleBatch: { rng, n in
                           var out = [Double](repeating: 0, count: n * d)
                           for i in 0..<n {
                               let r = trainRows[rng.int(below: trainRows.count)]
                               for j in 0..<d { out[i * d + j] = values[r * d + j] }
                           }
                           return out
                       },
                       testPoints: { n in gather(testRows.prefix(n)[...]) },
                       testCount: nTest,
                       validationPoints: { n in gather(validationRows.prefix(n)[...]) },
                       toy: nil)
    }
}
