import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

/// Hutchinson's estimator is unbiased: over many ε the mean of −εᵀJε is −tr J.
final class HutchinsonTests: XCTestCase {
    func testUnbiasedForRademacherAndGaussianNoise() {
        var g = Xoshiro256(seed: 31)
        let d = 3, n = 4, draws = 3000
        let net = ODENet<Double>(configuration: ODENetConfiguration(dimension: d, hiddenWidths: [16, 16]), generator: &g)
        let z = randomValues(n * d, &g, scale: 1.5)
        let exact = CNFDynamics(network: net, batchSize: n, divergence: .exact, chunks: 1, threads: 1)
        let hutch = CNFDynamics(network: net, batchSize: n, divergence: .hutchinson, chunks: 1, threads: 1)
        var dy = [Double](repeating: 0, count: exact.dimension)
        exact.evaluate(t: 0.2, y: exact.initialState(points: z), dy: &dy)
        let truth = Array(dy[exact.layout.logDensity!])
        let s = hutch.initialState(points: z)
        for distribution in NoiseDistribution.allCases {
            var sum = [Double](repeating: 0, count: n), sum2 = sum
            for _ in 0..<draws {
                hutch.drawNoise(distribution, using: &g)
                hutch.evaluate(t: 0.2, y: s, dy: &dy)
                for i in 0..<n {
                    let v = dy[hutch.layout.logDensity!.lowerBound + i]
                    sum[i] += v
                    sum2[i] += v * v
                }
            }
            for i in 0..<n {
                let mean = sum[i] / Double(draws)
                let variance = sum2[i] / Double(draws) - mean * mean
                let standardError = (variance / Double(draws)).squareRoot()
                XCTAssertGreaterThan(standardError, 0, "the estimate should vary with ε")
                XCTAssertLessThan(abs(mean - truth[i]), 4 * standardError,
                                  "\(distribution) sample \(i): mean \(mean), exact \(truth[i]), SE \(standardError)")
            }
        }
    }
}
