import CNFCore
import Foundation
import ODE
import ToyData
import XCTest
@testable import Networks
@testable import Flow
@testable import Training

/// The conditional flow-matching warm start: its loss against a hand computation, its gradient
/// against finite differences, and that a short run of it moves the flow towards the data.
final class FlowMatchingTests: XCTestCase {
    /// A linear field f = A z + b (no hidden layers), two blocks of T = 0.3 and 0.5: the loss is
    /// written out by hand — the path point, the block holding τ, the target (x₁ − x₀)/ΣT.
    func testLossMatchesHandComputation() {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [], activation: .tanh, layerType: .linear)
        let config = ModelConfig(network: net, blocks: 2, time: 0.3)
        let p0: [Double] = [0.5, -0.2, 0.1, 0.8, 0.3, -0.4], p1: [Double] = [-0.3, 0.6, 0.2, -0.1, 0.0, 0.2]
        let model = CNF<Double>(config: config, parameters: p0 + p1)
        model.timeRoots = [(0.3 as Double).squareRoot(), (0.5 as Double).squareRoot()]
        let x0: [Double] = [1, 2, -1, 0.5, 0, -2, 3, 1]
        let x1: [Double] = [0.2, -0.4, 1.1, 0.3, -0.7, 0.9, 0.1, -1.2]
        let u: [Double] = [0.3, 0.9]    // two groups of two points
        let r = model.flowMatchingLoss(points: x0, base: x1, times: u)
        var expected = 0.0
        for g in 0..<2 {
            let s = (Double(g) + u[g]) / 2, total = 0.8
            let tau = s * total
            let (p, t) = tau < 0.3 ? (p0, tau) : (p1, tau - 0.3)
            _ = t   // the linear layer does not see t
            for i in (2 * g)..<(2 * g + 2) {
                let z = [(1 - s) * x0[2 * i] + s * x1[2 * i], (1 - s) * x0[2 * i + 1] + s * x1[2 * i + 1]]
                let f = [p[0] * z[0] + p[1] * z[1] + p[4], p[2] * z[0] + p[3] * z[1] + p[5]]
                for j in 0..<2 {
                    let target = (x1[2 * i + j] - x0[2 * i + j]) / total
                    expected += (f[j] - target) * (f[j] - target)
                }
            }
        }
        XCTAssertEqual(r.loss, expected / 4, accuracy: 1e-14)
        // One group lands in each block here (τ = 0.12 and 0.76): both blocks get a gradient.
        XCTAssertTrue(r.gradient[0..<6].contains { $0 != 0 })
        XCTAssertTrue(r.gradient[6..<12].contains { $0 != 0 })
    }

    /// ∂L/∂θ against central differences for a ConcatSquash tanh network in Double, two blocks
    /// (the groups' times fall in both): relative L2 error below 1e-7.
    func testGradientMatchesFiniteDifferences() {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [8, 8])
        var gen = Xoshiro256(seed: 11)
        let model = CNF<Double>(config: ModelConfig(network: net, blocks: 2, time: 0.4), generator: &gen)
        let n = 12
        let x0 = (0..<(2 * n)).map { _ in gen.normal() * 2 }
        let x1 = (0..<(2 * n)).map { _ in gen.normal() }
        let u = (0..<4).map { _ in gen.uniform() }
        let r = model.flowMatchingLoss(points: x0, base: x1, times: u)
        let theta = model.parameterVector
        var fd = [Double](repeating: 0, count: theta.count)
        let h = 1e-6
        for k in 0..<theta.count {
            var p = theta
            p[k] += h; model.parameterVector = p
            let up = model.flowMatchingLoss(points: x0, base: x1, times: u).loss
            p[k] -= 2 * h; model.parameterVector = p
            let down = model.flowMatchingLoss(points: x0, base: x1, times: u).loss
            fd[k] = (up - down) / (2 * h)
        }
        model.parameterVector = theta
        let diff = zip(fd, r.gradient).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = fd.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertGreaterThan(norm, 1e-3)
        XCTAssertLessThan(diff / norm, 1e-7)
    }

    /// The float32 network (the fused kernels, no tangents: a path only flow matching takes
    /// with a VJP) gives the Double gradient to float precision.
    func testFloatGradientMatchesDouble() {
        let net = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64])
        var gen = Xoshiro256(seed: 12)
        let double = CNF<Double>(config: ModelConfig(network: net, blocks: 1, time: 0.5), generator: &gen)
        let single = CNF<Float>(config: double.config, parameters: double.parameterVector)
        let n = 100
        let x0 = (0..<(2 * n)).map { _ in gen.normal() * 2 }
        let x1 = (0..<(2 * n)).map { _ in gen.normal() }
        let u = (0..<10).map { _ in gen.uniform() }
        let a = double.flowMatchingLoss(points: x0, base: x1, times: u)
        let b = single.flowMatchingLoss(points: x0, base: x1, times: u)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * a.loss)
        let diff = zip(a.gradient, b.gradient).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = a.gradient.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThan(diff / norm, 1e-4)
    }

    /// 300 flow-matching iterations on 8gaussians, no likelihood: the flow's NLL on fresh
    /// points falls well below the untrained flow's (which is close to N(0, I)'s). Also guards
    /// the integration time: the warm start does not train T, and without weight decay on τ
    /// nothing else moves it (with it, Adam shrank τ by the rate every step and the targets
    /// (x₁ − x₀)/ΣT blew up).
    func testWarmStartAloneLearns() throws {
        var config = FitConfig()
        config.data.dataset = "8gaussians"
        config.model.dims = [32, 32]
        config.model.blocks = 1
        config.training.iters = 300
        config.training.flowMatching = 300
        config.training.warmup = 20
        config.training.lr = 1e-2
        let toy = try ToyDataset.named("8gaussians")
        let trainer = Trainer<Float>(config: config, dimension: 2, threads: 1) { rng, n in toy.sample(n, using: &rng) }
        var rng = Xoshiro256(seed: 5, stream: .test)
        let points = toy.sample(2_000, using: &rng)
        var solve = config.solver
        solve.atol = 1e-6; solve.rtol = 1e-6
        func nll() throws -> Double {
            var g = Xoshiro256(seed: 1)
            let v = try trainer.model.logDensity(points: points, divergence: .exact, generator: &g, solve: solve).values
            return -v.reduce(0, +) / Double(v.count)
        }
        let before = try nll()
        while !trainer.isFinished {
            let record = try trainer.step()
            XCTAssertEqual(record.forwardNFE, 0)
            XCTAssertTrue(record.nll.isNaN)
        }
        let after = try nll()
        // Measured: 6.00 → 3.95 nats (the floor is 2.83): a nat below is far outside noise.
        XCTAssertLessThan(after, before - 1, "before \(before), after \(after)")
    }
}
