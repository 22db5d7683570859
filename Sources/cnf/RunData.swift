import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ToyData

/// The data of a run: where training batches come from, and the test set.
///
/// Toy sets: training batches are fresh draws from stream 0 of the seed, test points from
/// stream 1 (independent). A file: its rows are shuffled by the seed (stream 4), the last
/// `testFraction` held out as the test set, and batches drawn with replacement from the rest.
struct RunData {
    let dimension: Int
    let name: String
    let sampleBatch: (inout Xoshiro256, Int) -> [Double]
    /// Draws n test points (toy: the first n of the test stream; file: the held-out rows).
    let testPoints: (Int) -> [Double]
    let testCount: Int?
    let toy: ToyDataset?

    var entropyFloor: Double? { toy?.entropyFloor }

    static func make(_ c: FitConfig) throws -> RunData {
        if let name = c.dataset {
            let toy = try ToyDataset.named(name)
            return RunData(dimension: 2, name: toy.rawValue,
                           sampleBatch: { rng, n in toy.sample(n, using: &rng) },
                           testPoints: { n in
                               var rng = Xoshiro256(seed: c.seed, stream: 1)
                               return toy.sample(n, using: &rng)
                           },
                           testCount: nil, toy: toy)
        }
        let path = c.data!
        let set = try loadData(path: path)
        let d = set.cols
        var order = Array(0..<set.rows)
        var rng = Xoshiro256(seed: c.seed, stream: 4)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, rng.int(below: i + 1))
        }
        let nTest = max(1, Int((Double(set.rows) * c.testFraction).rounded()))
        guard set.rows - nTest >= 1 else {
            throw CLIError("\(path) has \(set.rows) rows: too few to hold out a test set")
        }
        let trainRows = Array(order[nTest...]), testRows = Array(order[..<nTest])
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
                       testCount: nTest, toy: nil)
    }
}
