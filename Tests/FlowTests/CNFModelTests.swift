import CNFCore
import Foundation
import ODE
import ToyData
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

/// Properties of the whole model: closed-form densities, gradients of the CNF loss by three
/// routes, and that training learns.
final class CNFModelTests: XCTestCase {
    let tight = SolveOptions(method: .dopri5, rtol: 1e-11, atol: 1e-11)

    /// With no hidden layers and a linear layer, f = A z + b is linear: with b = 0 the model's
    /// log-density is the Gaussian closed form log N(e^{AT} x; 0, I) + T tr A.
    func testLinearFlowMatchesClosedForm() throws {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [], activation: .tanh, layerType: .linear)
        let T = 0.7
        let config = ModelConfig(network: net, blocks: 1, time: T)
        let a = [-0.4, 0.9, -0.3, 0.2]
        let model = CNF<Double>(config: config, parameters: a + [0, 0])
        let points = [0.3, -1.2, 1.5, 0.7, -2.0, 0.1, 0.0, 0.0]
        var g = Xoshiro256(seed: 1)
        let (logp, _) = try model.logDensity(points: points, divergence: .exact, generator: &g, solve: tight)
        let A = Matrix<Double>(rows: 2, cols: 2, storage: a)
        let expAT = (T * A).exponential()
        for i in 0..<4 {
            let z = Matrix.product(expAT, Matrix(rows: 2, cols: 1, storage: Array(points[(2 * i)..<(2 * i + 2)])))
            let expected = -0.5 * (z[0, 0] * z[0, 0] + z[1, 0] * z[1, 0]) - log(2 * Double.pi) + T * (a[0] + a[3])
            XCTAssertEqual(logp[i], expected, accuracy: 1e-8)
        }
    }

    /// Hutchinson's log-density is unbiased: over many noise draws its mean is the exact value
    /// within 4 standard errors (a nonlinear network, so the estimate really varies).
    func testHutchinsonDensityIsUnbiased() throws {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [16, 16])
        var gen = Xoshiro256(seed: 4)
        let model = CNF<Double>(config: ModelConfig(network: net), generator: &gen)
        let x = [0.5, -0.25]
        let options = SolveOptions(method: .dopri5, rtol: 1e-9, atol: 1e-9)
        let exact = try model.logDensity(points: x, divergence: .exact, generator: &gen, solve: options).values[0]
        let m = 4000
        let many = [Double]((0..<m).flatMap { _ in x })
        for noise in NoiseDistribution.allCases {
            let est = try model.logDensity(points: many, divergence: .hutchinson, noise: noise, generator: &gen,
                                           solve: options, batchSize: m).values
            let mean = est.reduce(0, +) / Double(m)
            let sd = (est.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(m - 1)).squareRoot()
            XCTAssertGreaterThan(sd, 1e-4, "the estimate should vary with ε")
            XCTAssertEqual(mean, exact, accuracy: 4 * sd / Double(m).squareRoot(), "\(noise)")
        }
    }

    /// ∂loss/∂θ by the adjoint = by backprop through the solver = by central finite differences,
    /// for two blocks, RNODE terms and a learned T (Double, tight tolerances).
    func testLossGradientThreeWays() throws {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [6, 6])
        var gen = Xoshiro256(seed: 12)
        let model = CNF<Double>(config: ModelConfig(network: net, blocks: 2, time: 0.4, trainTime: true), generator: &gen)
        let n = 5
        let points = (0..<(2 * n)).map { _ in gen.normal() }
        let noise = (0..<2).map { _ in (0..<(2 * n)).map { _ in gen.rademacher() } }
        var options = DensityOptions(divergence: .hutchinson, solve: tight,
                                     adjoint: AdjointOptions(solve: tight, seminorm: true))
        options.kinetic = 0.05
        options.jacobian = 0.02
        let adjoint = try model.loss(points: points, noise: noise, options: options).gradient
        options.gradient = .backprop
        let backprop = try model.loss(points: points, noise: noise, options: options).gradient
        let theta = model.parameterVector
        var fd = [Double](repeating: 0, count: theta.count)
        let h = 1e-5
        for q in 0..<theta.count {
            var p = theta
            p[q] += h
            model.parameterVector = p
            let up = try model.loss(points: points, noise: noise, options: options, wantGradient: false).loss
            p[q] = theta[q] - h
            model.parameterVector = p
            let down = try model.loss(points: points, noise: noise, options: options, wantGradient: false).loss
            fd[q] = (up - down) / (2 * h)
        }
        model.parameterVector = theta
        func rel(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / b.map { $0 * $0 }.reduce(0, +).squareRoot()
        }
        print("CNF loss gradient: adjoint vs FD \(rel(adjoint, fd)), backprop vs FD \(rel(backprop, fd)), adjoint vs backprop \(rel(adjoint, backprop))")
        XCTAssertLessThan(rel(adjoint, fd), 1e-5)
        XCTAssertLessThan(rel(backprop, fd), 1e-5)
        XCTAssertLessThan(rel(adjoint, backprop), 1e-7)
        // The time parameters (the last two) get real gradients.
        XCTAssertGreaterThan(abs(adjoint[theta.count - 1]), 1e-6)
        XCTAssertEqual(adjoint[theta.count - 1], fd[theta.count - 1], accuracy: 1e-5 * max(1, abs(fd[theta.count - 1])))
    }

    /// Training runs the networks in float32: the float32 loss gradient (adjoint, training
    /// tolerances) agrees with the float64 one to float32 accuracy, so the cheaper precision
    /// computes the same training signal.
    func testFloatGradientMatchesDouble() throws {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64])
        var gen = Xoshiro256(seed: 21)
        let double = CNF<Double>(config: ModelConfig(network: net), generator: &gen)
        // The same weights, rounded to float32 in both models.
        let theta = double.parameterVector.map { Double(Float($0)) }
        double.parameterVector = theta
        let float = CNF<Float>(config: ModelConfig(network: net), parameters: theta)
        let n = 100
        let points = (0..<(2 * n)).map { _ in 1.5 * gen.normal() }
        let noise = [(0..<(2 * n)).map { _ in gen.rademacher() }]
        let solve = SolveOptions(method: .dopri5, rtol: 1e-5, atol: 1e-5)
        let options = DensityOptions(divergence: .hutchinson, solve: solve, adjoint: AdjointOptions(solve: solve, seminorm: true))
        let gd = try double.loss(points: points, noise: noise, options: options)
        let gf = try float.loss(points: points, noise: noise, options: options)
        let rel = zip(gf.gradient, gd.gradient).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            / gd.gradient.map { $0 * $0 }.reduce(0, +).squareRoot()
        print("float32 vs float64 loss gradient: relative difference \(rel); loss \(gf.loss) vs \(gd.loss)")
        XCTAssertLessThan(rel, 1e-3)
        XCTAssertEqual(gf.loss, gd.loss, accuracy: 1e-4)
    }

    /// A few hundred iterations on 8gaussians lower the test NLL substantially (from ≈ 6 nats
    /// at initialization towards the 2.83 floor).
    func testShortFitLearns() throws {
        var c = FitConfig()
        c.training.iters = 300
        c.training.batchSize = 100
        let toy = ToyDataset.eightGaussians
        let trainer = Trainer<Float>(config: c, dimension: 2) { rng, n in toy.sample(n, using: &rng) }
        var testGen = Xoshiro256(seed: 0, stream: 1)
        let test = toy.sample(1000, using: &testGen)
        func testNLL() throws -> Double {
            var g = Xoshiro256(seed: 0)
            let v = try trainer.model.logDensity(points: test, divergence: .exact, generator: &g, solve: c.solveOptions).values
            return -v.reduce(0, +) / Double(v.count)
        }
        let before = try testNLL()
        for _ in 0..<c.training.iters { _ = try trainer.step() }
        let after = try testNLL()
        print("8gaussians test NLL: \(before) → \(after) after \(c.training.iters) iterations")
        XCTAssertLessThan(after, before - 1.5)
        XCTAssertLessThan(after, 3.7)
        XCTAssertGreaterThan(after, toy.entropyFloor - 0.05, "below the entropy floor: a sign or normalizer bug")
    }
}
