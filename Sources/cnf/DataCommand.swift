import ArgumentParser
import CNFCore
import Foundation
import ToyData

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Write a sample of a toy data set (CSV or .npy).",
        discussion: """
        Data sets: \(ToyDataset.allCases.map(\.rawValue).joined(separator: ", ")).
        Example:  cnf data --dataset rings --n 10000 --seed 1 --out rings.csv
        """)

    @Option(help: "Toy data set name.") var dataset: String
    @Option(help: "Number of points.") var n: Int = 10_000
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Output file (.csv or .npy).") var out: String

    func validate() throws {
        if n < 1 { throw ValidationError("--n must be ≥ 1, got \(n)") }
    }

    func run() throws {
        try runReportingErrors {
            let set = try ToyDataset.named(dataset)
            var rng = Xoshiro256(seed: seed, stream: .trainingBatches)
            let data = set.dataSet(n, using: &rng)
            if out.hasSuffix(".npy") {
                try writeNPY(data, path: out)
            } else {
                try writeCSV(data, path: out, header: ["x", "y"])
            }
            say("wrote \(n) points of \(set.rawValue) (seed \(seed)) to \(out)")
        }
    }
}
