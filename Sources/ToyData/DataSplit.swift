import CNFCore

/// A file's rows split into training, validation and test rows, reproducibly from a seed.
///
/// The rows are shuffled by Fisher–Yates with `Xoshiro256(seed: seed, stream: 4)`; the
/// first `testCount` of the shuffled order are the test rows, the next `validationCount`
/// the validation rows, the rest the training rows. With a validation fraction of 0 this is
/// exactly the train/test split cnf made before validation existed, so the test rows of
/// old runs stay the same.
///
/// Counts: round(n · fraction), at least 1 for a positive fraction; at least 1 training row
/// must remain.
public struct DataSplit: Equatable, Sendable {
    public let train: [Int]
    public let validation: [Int]
    public let test: [Int]

    /// The stream of the seed the shuffle draws from.
    public static let stream: UInt64 = 4

    /// - Throws: `DataError` of kind `.badSplit` for a fraction outside [0, 1), fractions
    ///   summing to 1 or more, or too few rows to leave a training row.
    public init(rows n: Int, validationFraction: Double, testFraction: Double, seed: UInt64) throws {
        for (name, f) in [("data.validationFraction", validationFraction), ("data.testFraction", testFraction)] {
            guard f >= 0 && f < 1 else {
                throw DataError(.badSplit, value: "\(f)", "\(name) must be in [0, 1), got \(f)")
            }
        }
        guard validationFraction + testFraction < 1 else {
            throw DataError(.badSplit, value: "\(validationFraction + testFraction)",
                            "data.validationFraction \(validationFraction) + data.testFraction \(testFraction) must be below 1, leaving rows to train on")
        }
        func count(_ f: Double) -> Int { f > 0 ? max(1, Int((Double(n) * f).rounded())) : 0 }
        let nTest = count(testFraction), nVal = count(validationFraction)
        guard n - nTest - nVal >= 1 else {
            throw DataError(.badSplit, value: "\(n)",
                            "\(n) rows are too few to hold out \(nTest) test and \(nVal) validation rows and still train on one")
        }
        var order = Array(0..<n)
        var rng = Xoshiro256(seed: seed, stream: DataSplit.stream)
        for i in stride(from: n - 1, to: 0, by: -1) {
            order.swapAt(i, rng.int(below: i + 1))
        }
        test = Array(order[..<nTest])
        validation = Array(order[nTest..<(nTest + nVal)])
        train = Array(order[(nTest + nVal)...])
    }

    /// The rows `rows` of `data`, in that order, as a data set with the same column names.
    public static func subset(_ data: DataSet, _ rows: [Int], source: String? = nil) -> DataSet {
        var values = [Double]()
        values.reserveCapacity(rows.count * data.cols)
        for r in rows { values.append(contentsOf: data.values[(r * data.cols)..<((r + 1) * data.cols)]) }
        return DataSet(rows: rows.count, cols: data.cols, values: values, source: source ?? data.source,
                       columnNames: data.columnNames)
    }

    /// One line: "train 800, validation 100, test 100 rows (seed 0)".
    public func summary(seed: UInt64) -> String {
        "train \(train.count), validation \(validation.count), test \(test.count) rows (shuffled by seed \(seed))"
    }
}
