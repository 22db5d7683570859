import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

final class AdamTests: XCTestCase {
    /// L = ½ Σ c_i θ_i², ∇L = c ⊙ θ.
    func gradient(_ theta: [Double], _ c: [Double]) -> [Double] { zip(theta, c).map { $0 * $1 } }

    /// The first step has m̂ = g and v̂ = g², so θ₁ = θ₀ − lr·g/(|g| + ε) ≈ θ₀ − lr·sign(g).
    func testFirstStepIsSignStep() {
        var g = Xoshiro256(seed: 1)
        let c = randomValues(20, &g, scale: 5)
        let theta0 = randomValues(20, &g, scale: 3)
        var theta = theta0
        var adam = Adam(parameterCount: 20, learningRate: 0.01)
        let grad = gradient(theta0, c)
        adam.step(parameters: &theta, gradient: grad)
        for i in 0..<20 {
            let expected = theta0[i] - 0.01 * grad[i] / (abs(grad[i]) + 1e-8)
            XCTAssertEqual(theta[i], expected, accuracy: 1e-15)
            // |lr·g/(|g| + ε) − lr·sign(g)| = lr·ε/(|g| + ε).
            XCTAssertEqual(theta[i], theta0[i] - 0.01 * (grad[i] > 0 ? 1 : -1), accuracy: 0.01 * 1e-8 / abs(grad[i]) + 1e-15)
        }
    }

    /// A per-parameter rate factor scales that coordinate's step and nothing else: two steps
    /// with factors (1, 0.1, 0) equal the unscaled steps for the first coordinate, a tenth of
    /// its moves for the second, none for the third (the moments are the same either way).
    func testRateScaleScalesEachCoordinatesStep() {
        let theta0: [Double] = [1.5, -0.7, 0.3]
        let c: [Double] = [2, 3, 4]
        var plain = Adam(parameterCount: 3, learningRate: 0.02)
        var scaled = Adam(parameterCount: 3, learningRate: 0.02)
        scaled.rateScale = [1, 0.1, 0]
        var a = theta0, b = theta0
        var moves = [Double](repeating: 0, count: 3)
        for _ in 0..<2 {
            let before = a
            // The same gradients for both (taken at the unscaled iterate), so the moments agree.
            let g = gradient(a, c)
            plain.step(parameters: &a, gradient: g)
            scaled.step(parameters: &b, gradient: g)
            for i in 0..<3 { moves[i] += a[i] - before[i] }
        }
        XCTAssertEqual(b[0], a[0], accuracy: 0)
        XCTAssertEqual(b[1], theta0[1] + 0.1 * moves[1], accuracy: 1e-15)
        XCTAssertEqual(b[2], theta0[2])
        XCTAssertEqual(scaled.state, plain.state)
    }

    /// PyTorch's weight decay is L2 added to the gradient: the first step is the sign step
    /// of g + λθ.
    func testWeightDecayAddsToGradient() {
        let theta0: [Double] = [2, -1, 0.5]
        let grad: [Double] = [-0.5, 0.3, 0]
        var theta = theta0
        var adam = Adam(parameterCount: 3, learningRate: 1e-3, weightDecay: 0.4)
        adam.step(parameters: &theta, gradient: grad)
        for i in 0..<3 {
            let effective = grad[i] + 0.4 * theta0[i]
            XCTAssertEqual(theta[i], theta0[i] - 1e-3 * effective / (abs(effective) + 1e-8), accuracy: 1e-15)
        }
        // Coordinate 0: the decay (0.8) outweighs the gradient (−0.5), so θ decreases.
        XCTAssertLessThan(theta[0], theta0[0])
    }

    /// The second step against the formulas written out by hand.
    func testSecondStepMatchesBiasCorrectedMoments() {
        var theta = [1.0]
        var adam = Adam(parameterCount: 1, learningRate: 0.1, beta1: 0.8, beta2: 0.9, epsilon: 0)
        adam.step(parameters: &theta, gradient: [2])  // θ = 0.9
        adam.step(parameters: &theta, gradient: [-1])
        let m = 0.8 * (0.2 * 2) + 0.2 * -1, v = 0.9 * (0.1 * 4) + 0.1 * 1
        let expected = 0.9 - 0.1 * (m / (1 - 0.64)) / ((v / (1 - 0.81)).squareRoot())
        XCTAssertEqual(theta[0], expected, accuracy: 1e-15)
        XCTAssertEqual(adam.state.step, 2)
    }

    /// Exporting the state and restoring it into a fresh optimizer continues bit for bit.
    func testStateRestoreContinuesIdentically() throws {
        var g = Xoshiro256(seed: 2)
        let c = randomValues(10, &g, scale: 3)
        var theta = randomValues(10, &g).map { Float($0) }
        var adam = Adam(parameterCount: 10, learningRate: 0.05, weightDecay: 1e-5)
        for _ in 0..<5 { adam.step(parameters: &theta, gradient: gradient(theta.map(Double.init), c)) }
        let saved = adam.state, savedTheta = theta
        for _ in 0..<5 { adam.step(parameters: &theta, gradient: gradient(theta.map(Double.init), c)) }

        var resumed = Adam(parameterCount: 10, learningRate: 0.05, weightDecay: 1e-5)
        try resumed.restore(saved)
        var theta2 = savedTheta
        for _ in 0..<5 { resumed.step(parameters: &theta2, gradient: gradient(theta2.map(Double.init), c)) }
        XCTAssertEqual(theta.map(\.bitPattern), theta2.map(\.bitPattern))
        XCTAssertEqual(adam.state, resumed.state)

        XCTAssertThrowsError(try resumed.restore(Adam.State(step: 1, m: [0], v: [0]))) { error in
            XCTAssertTrue("\(error)".contains("10 parameters"), "\(error)")
        }
    }

    /// Stepping a network's parameters in place equals stepping the array.
    func testStepsNetworkInPlace() {
        var g = Xoshiro256(seed: 3)
        let net = ODENet<Float>(configuration: ODENetConfiguration(dimension: 2, hiddenWidths: [4]), generator: &g)
        let grad = randomValues(net.parameterCount, &g)
        var copy = net.parameters
        var a = Adam(parameterCount: net.parameterCount), b = a
        a.step(net, gradient: grad)
        b.step(parameters: &copy, gradient: grad)
        XCTAssertEqual(net.parameters, copy)
    }
}
