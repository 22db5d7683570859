import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

final class ODENetTests: XCTestCase {
    /// 8-8-8 networks, both layer types, every activation: tangents and backward vs
    /// central differences.
    func testThreeHiddenLayers() {
        var seed: UInt64 = 200
        for type in LayerType.allCases {
            for activation in Activation.allCases {
                let c = ODENetConfiguration(dimension: 2, hiddenWidths: [8, 8, 8], activation: activation, layerType: type)
                var g = Xoshiro256(seed: seed)
                let net = ODENet<Double>(configuration: c, generator: &g)
                checkNetworkDerivatives(net, rows: 3, k: 2, t: 0.21, seed: seed, label: "8-8-8 \(type) \(activation)")
                seed += 1
            }
        }
    }

    /// Backward adds into θ̄ (so chunks and time steps can accumulate), and a workspace
    /// sized for more rows and tangents serves smaller calls.
    func testBackwardAccumulatesAndWorkspaceIsReusable() {
        let c = ODENetConfiguration(dimension: 3, hiddenWidths: [6, 5])
        var g = Xoshiro256(seed: 3)
        let net = ODENet<Double>(configuration: c, generator: &g)
        let ws = net.makeWorkspace(maxRows: 10, tangents: 3)
        let x = randomValues(4 * 3, &g), xdot = randomValues(4 * 3, &g)
        let bar = randomValues(2 * 4 * 3, &g)
        var thetaBar = [Double](repeating: 0, count: net.parameterCount)
        var xbar = [Double](repeating: 0, count: 4 * 3)
        for _ in 0..<2 {
            _ = forwardStacked(net, t: 0.1, x: x, tangents: xdot, rows: 4, k: 1, outputWidth: 3, workspace: ws)
            net.backward(outputBar: bar, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
        }
        var once = [Double](repeating: 0, count: net.parameterCount)
        let fresh = net.makeWorkspace(maxRows: 4, tangents: 1)
        _ = forwardStacked(net, t: 0.1, x: x, tangents: xdot, rows: 4, k: 1, outputWidth: 3, workspace: fresh)
        net.backward(outputBar: bar, inputBar: &xbar, thetaBar: &once, workspace: fresh)
        for p in 0..<once.count { XCTAssertEqual(thetaBar[p], 2 * once[p], accuracy: 1e-14 * max(1, abs(once[p]))) }
    }

    /// The Float network with the same (rounded) parameters agrees with the Double one to
    /// Float accuracy, in outputs, tangents and gradients.
    func testFloatMatchesDouble() {
        let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64])
        var g = Xoshiro256(seed: 11)
        let double = ODENet<Double>(configuration: c, generator: &g)
        let single = ODENet<Float>(configuration: c, parameters: double.parameters.map { Float($0) })
        double.parameters = single.parameters.map { Double($0) }
        let rows = 50, k = 1
        let x = randomValues(rows * 2, &g, scale: 2), xdot = randomValues(rows * 2, &g)
        let bar = randomValues((1 + k) * rows * 2, &g)
        let xf = x.map { Float($0) }, xdotf = xdot.map { Float($0) }
        let x64 = xf.map { Double($0) }, xdot64 = xdotf.map { Double($0) }

        let wsD = double.makeWorkspace(maxRows: rows, tangents: k)
        let wsF = single.makeWorkspace(maxRows: rows, tangents: k)
        let outD = forwardStacked(double, t: 0.3, x: x64, tangents: xdot64, rows: rows, k: k, outputWidth: 2, workspace: wsD)
        let outF = forwardStacked(single, t: 0.3, x: xf, tangents: xdotf, rows: rows, k: k, outputWidth: 2, workspace: wsF)
        XCTAssertLessThan(relativeError(outF.map { Double($0) }, outD), 2e-6)

        var xbarD = [Double](repeating: 0, count: rows * 2), thetaBarD = [Double](repeating: 0, count: double.parameterCount)
        var xbarF = [Float](repeating: 0, count: rows * 2), thetaBarF = [Float](repeating: 0, count: single.parameterCount)
        double.backward(outputBar: bar, inputBar: &xbarD, thetaBar: &thetaBarD, workspace: wsD)
        single.backward(outputBar: bar.map { Float($0) }, inputBar: &xbarF, thetaBar: &thetaBarF, workspace: wsF)
        XCTAssertLessThan(relativeError(xbarF.map { Double($0) }, xbarD), 1e-5)
        XCTAssertLessThan(relativeError(thetaBarF.map { Double($0) }, thetaBarD), 1e-5)
    }

    /// `evaluate` (the solve-without-gradients pass, which skips what only `backward` reads)
    /// gives `forward`'s output bit for bit: Float and Double, both layer types, every
    /// activation, 0–2 tangents, row counts on and off the kernels' blocking; and a `forward`
    /// after it leaves the workspace ready for `backward` again.
    func testEvaluateMatchesForwardBitForBit() {
        func check<S: BLASScalar>(_: S.Type, _ type: LayerType, _ activation: Activation, seed: UInt64) {
            let c = ODENetConfiguration(dimension: 2, hiddenWidths: [64, 64, 64], activation: activation, layerType: type)
            var g = Xoshiro256(seed: seed)
            let double = ODENet<Double>(configuration: c, generator: &g)
            let net = ODENet<S>(configuration: c, parameters: double.parameters.map { S($0) })
            for rows in [1, 7, 100, 131] {
                for k in 0...2 {
                    let ws = net.makeWorkspace(maxRows: rows, tangents: k)
                    let input = randomValues((1 + k) * rows * 2, &g, scale: 2).map { S($0) }
                    var viaForward = [S](repeating: 0, count: (1 + k) * rows * 2)
                    var viaEvaluate = [S](repeating: .nan, count: (1 + k) * rows * 2)
                    net.forward(t: S(0.4), input: input, rows: rows, tangents: k, output: &viaForward, workspace: ws)
                    input.withBufferView { x in
                        viaEvaluate.withMutableBufferView { y in
                            net.evaluate(t: S(0.4), input: x, rows: rows, tangents: k, output: y, workspace: ws)
                        }
                    }
                    XCTAssertFalse(ws.ready, "evaluate must not leave the workspace ready for backward")
                    let same = zip(viaForward, viaEvaluate).allSatisfy {
                        $0.sign == $1.sign && $0.exponentBitPattern == $1.exponentBitPattern
                            && $0.significandBitPattern == $1.significandBitPattern
                    }
                    XCTAssertTrue(same, "\(S.self) \(type) \(activation) rows \(rows) k \(k): evaluate differs from forward")
                    net.forward(t: S(0.4), input: input, rows: rows, tangents: k, output: &viaForward, workspace: ws)
                    XCTAssertTrue(ws.ready)
                }
            }
        }
        var seed: UInt64 = 900
        for type in LayerType.allCases {
            for activation in Activation.allCases {
                check(Float.self, type, activation, seed: seed)
                check(Double.self, type, activation, seed: seed)
                seed += 1
            }
        }
    }

    func testLinearDynamicsDerivatives() {
        var g = Xoshiro256(seed: 5)
        let a = Matrix<Double>(rows: 3, cols: 3, storage: randomValues(9, &g))
        let net = LinearDynamics(matrix: a)
        checkDualNetwork(net, inputWidth: 3, outputWidth: 3, rows: 4, k: 3, t: 0, seed: 6, tolerance: 1e-8)
        // u = A ẋ exactly: with ẋ = e_j on every row, u_j is column j of A.
        let ex = [1.0, 0, 0, 0, 1, 0, 0, 0, 1]
        let out = forwardStacked(net, t: 0, x: [0.5, -1, 2], tangents: ex, rows: 1, k: 3, outputWidth: 3)
        for j in 0..<3 { for i in 0..<3 { XCTAssertEqual(out[(1 + j) * 3 + i], a[i, j], accuracy: 1e-15) } }
    }
}
