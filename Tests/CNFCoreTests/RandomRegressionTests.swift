import XCTest
@testable import CNFCore

final class RandomRegressionTests: XCTestCase {
    /// Same seed, same numbers: the first values of seed 1 are fixed forever. They were
    /// computed by an independent Python transcription of splitmix64 + xoshiro256** from
    /// Blackman & Vigna's reference C code; any change breaks every saved experiment.
    func testFixedSeedSequence() {
        var g = Xoshiro256(seed: 1)
        let first = (0..<4).map { _ in g.next() }
        XCTAssertEqual(first, RandomRegressionTests.recorded)
    }

    static let recorded: [UInt64] = [12966619160104079557, 9600361134598540522,
                                      10590380919521690900, 7218738570589545383]

    func testStreamsDiffer() {
        var a = Xoshiro256(seed: 5, stream: 0), b = Xoshiro256(seed: 5, stream: 1)
        XCTAssertNotEqual(a.next(), b.next())
    }

    func testRademacherAndUniform() {
        var g = Xoshiro256(seed: 3)
        var plus = 0
        let n = 100_000
        for _ in 0..<n where g.rademacher() == 1 { plus += 1 }
        XCTAssertEqual(Double(plus) / Double(n), 0.5, accuracy: 4 * 0.5 / Double(n).squareRoot())
        var s = 0.0
        for _ in 0..<n { let u = g.uniform(); XCTAssertTrue(u >= 0 && u < 1); s += u }
        XCTAssertEqual(s / Double(n), 0.5, accuracy: 4 * (1.0 / 12 / Double(n)).squareRoot())
    }

    func testStateRoundTrip() {
        var g = Xoshiro256(seed: 9)
        _ = g.next()
        var h = Xoshiro256(state: g.stateWords)
        XCTAssertEqual(g.next(), h.next())
    }

    func testMatrixProductAgainstLoops() {
        let a = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
        let b = Matrix<Double>([[1, 0], [0, 1], [2, -1]])
        XCTAssertEqual(a * b, Matrix([[7, -1], [16, -1]]))
        XCTAssertEqual(Matrix.product(a, a, transposeA: true), a.transposed * a)
        let f = Matrix<Float>([[1, 2], [3, 4]])
        XCTAssertEqual(Matrix.product(f, f, transposeB: true), Matrix([[5, 11], [11, 25]]))
    }
}
