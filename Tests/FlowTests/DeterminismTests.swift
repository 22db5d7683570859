import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

final class DeterminismTests: XCTestCase {
    func run(threads: Int, chunks: Int, divergence: Divergence) -> (dy: [Double], yBar: [Double], thetaBar: [Double]) {
        var g = Xoshiro256(seed: 77)
        let net = ODENet<Float>(configuration: ODENetConfiguration(dimension: 2), generator: &g)
        let field = CNFDynamics(network: net, batchSize: 257, divergence: divergence,
                                kineticEnergy: true, jacobianFrobenius: true, chunks: chunks, threads: threads)
        if divergence == .hutchinson { field.drawNoise(using: &g) }
        let s = randomValues(field.dimension, &g, scale: 2)
        let a = randomValues(field.dimension, &g)
        var dy = [Double](repeating: 0, count: field.dimension), dy2 = dy, yBar = dy
        var thetaBar = [Double](repeating: 0, count: field.parameterCount)
        field.evaluate(t: 0.4, y: s, dy: &dy2)
        field.vectorJacobianProduct(t: 0.4, y: s, cotangent: a, dy: &dy, yBar: &yBar, thetaBar: &thetaBar)
        XCTAssertEqual(dy, dy2)
        return (dy, yBar, thetaBar)
    }

    /// Float network: evaluate and the vector–Jacobian product give the same bits with 1, 2
    /// or 3 threads for a fixed chunk count.
    func testThreadCountDoesNotChangeBits() {
        for divergence in [Divergence.hutchinson, .exact] {
            let one = run(threads: 1, chunks: 3, divergence: divergence)
            for threads in [2, 3] {
                let many = run(threads: threads, chunks: 3, divergence: divergence)
                XCTAssertEqual(one.dy.map(\.bitPattern), many.dy.map(\.bitPattern), "\(divergence) threads \(threads)")
                XCTAssertEqual(one.yBar.map(\.bitPattern), many.yBar.map(\.bitPattern), "\(divergence) threads \(threads)")
                XCTAssertEqual(one.thetaBar.map(\.bitPattern), many.thetaBar.map(\.bitPattern), "\(divergence) threads \(threads)")
            }
        }
    }

    /// The Float field agrees with the Double field (same rounded parameters, same noise)
    /// to Float accuracy.
    func testFloatFieldMatchesDoubleField() {
        var g = Xoshiro256(seed: 78)
        let c = ODENetConfiguration(dimension: 2)
        let single = ODENet<Float>(configuration: c, generator: &g)
        let double = ODENet<Double>(configuration: c, parameters: single.parameters.map { Double($0) })
        let n = 64
        let fieldF = CNFDynamics(network: single, batchSize: n, kineticEnergy: true, jacobianFrobenius: true)
        let fieldD = CNFDynamics(network: double, batchSize: n, kineticEnergy: true, jacobianFrobenius: true)
        let noise = fieldF.drawNoise(using: &g)
        fieldD.setNoise(noise)
        // States the Float network represents exactly, so only the arithmetic differs.
        let s = randomValues(fieldF.dimension, &g, scale: 2).map { Double(Float($0)) }
        let a = randomValues(fieldF.dimension, &g).map { Double(Float($0)) }
        var dyF = [Double](repeating: 0, count: fieldF.dimension), yBarF = dyF, dyD = dyF, yBarD = dyF
        var thetaBarF = [Double](repeating: 0, count: fieldF.parameterCount), thetaBarD = thetaBarF
        fieldF.vectorJacobianProduct(t: 0.25, y: s, cotangent: a, dy: &dyF, yBar: &yBarF, thetaBar: &thetaBarF)
        fieldD.vectorJacobianProduct(t: 0.25, y: s, cotangent: a, dy: &dyD, yBar: &yBarD, thetaBar: &thetaBarD)
        XCTAssertLessThan(relativeError(dyF, dyD), 1e-5)
        XCTAssertLessThan(relativeError(yBarF, yBarD), 1e-5)
        XCTAssertLessThan(relativeError(thetaBarF, thetaBarD), 1e-5)
        XCTAssertGreaterThan(relativeError(thetaBarF, thetaBarD), 0, "Float and Double should not be bit-identical")
    }
}
