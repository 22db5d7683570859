import XCTest

/// Sample mean with its standard error s/√n.
struct MeanEstimate {
    let mean: Double
    let standardError: Double
    let count: Int

    init<S: Sequence>(_ xs: S) where S.Element == Double {
        var n = 0, s = 0.0, s2 = 0.0
        for x in xs { n += 1; s += x; s2 += x * x }
        mean = s / Double(n)
        let variance = max(0, (s2 - Double(n) * mean * mean) / Double(n - 1))
        standardError = (variance / Double(n)).squareRoot()
        count = n
    }
}

/// Asserts that the sample mean of `xs` is within `sigmas` standard errors of `expected`
/// (the standard error estimated from the sample itself).
func assertMean<S: Sequence>(_ xs: S, _ expected: Double, sigmas: Double = 4, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) where S.Element == Double {
    let e = MeanEstimate(xs)
    XCTAssertLessThan(abs(e.mean - expected), sigmas * e.standardError,
                      "\(what): mean \(e.mean) vs expected \(expected) (standard error \(e.standardError), n = \(e.count))",
                      file: file, line: line)
}

/// Asserts that `hits` out of `n` Bernoulli(p) trials is within `sigmas` binomial
/// standard deviations √(np(1−p)) of np.
func assertFraction(_ hits: Int, of n: Int, _ p: Double, sigmas: Double = 4, _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    let sd = (Double(n) * p * (1 - p)).squareRoot()
    XCTAssertLessThan(abs(Double(hits) - Double(n) * p), sigmas * sd,
                      "\(what): \(hits) of \(n), expected \(Double(n) * p) ± \(sd)", file: file, line: line)
}

/// Points (x, y) of a row-major n × 2 array.
func pairs(_ v: [Double]) -> [(x: Double, y: Double)] {
    stride(from: 0, to: v.count, by: 2).map { (v[$0], v[$0 + 1]) }
}
