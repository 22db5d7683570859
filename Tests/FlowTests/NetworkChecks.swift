import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

/// Random values U(−scale, scale) from a seeded generator.
func randomValues(_ count: Int, _ g: inout Xoshiro256, scale: Double = 1) -> [Double] {
    (0..<count).map { _ in g.uniform(-scale, scale) }
}

/// ‖a − b‖∞ / max(‖b‖∞, floor): a relative error that does not blow up on zero entries.
func relativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-8) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0, size = floor
    for (x, y) in zip(a, b) {
        diff = max(diff, abs(x - y))
        size = max(size, abs(y))
    }
    return diff / size
}

/// Runs `network.forward` on arrays: input = [x; ẋ₁..k] stacked.
func forwardStacked<N: DualNetwork>(_ network: N, t: N.Scalar, x: [N.Scalar], tangents: [N.Scalar],
                                    rows: Int, k: Int, outputWidth: Int,
                                    workspace: DualWorkspace<N.Scalar>? = nil) -> [N.Scalar] {
    let ws = workspace ?? network.makeWorkspace(maxRows: rows, tangents: k)
    let input = x + tangents
    var output = [N.Scalar](repeating: 0, count: (1 + k) * rows * outputWidth)
    network.forward(t: t, input: input, rows: rows, tangents: k, output: &output, workspace: ws)
    return output
}

/// Checks a Double network against central differences, the way the dual layers promise:
/// 1. each tangent block u_j equals (f(x + hẋ_j) − f(x − hẋ_j)) / 2h;
/// 2. with L = Σ c ⊙ [f; u₁..k] for random c, backward's x̄ and θ̄ equal the central
///    differences of L in each input entry and each parameter.
func checkNetworkDerivatives(_ network: ODENet<Double>, rows: Int, k: Int, t: Double, seed: UInt64,
                             tolerance: Double = 1e-6, label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
    checkDualNetwork(network, inputWidth: network.inputWidth, outputWidth: network.outputWidth,
                     rows: rows, k: k, t: t, seed: seed, tolerance: tolerance, label: label, file: file, line: line)
}

func checkDualNetwork<N: DualNetwork>(_ network: N, inputWidth din: Int, outputWidth dout: Int,
                                      rows: Int, k: Int, t: Double, seed: UInt64, tolerance: Double,
                                      label: String = "", file: StaticString = #filePath, line: UInt = #line)
where N.Scalar == Double {
    var g = Xoshiro256(seed: seed)
    let x = randomValues(rows * din, &g)
    let xdot = randomValues(k * rows * din, &g)
    let stackedCount = (1 + k) * rows * dout
    let c = randomValues(stackedCount, &g)
    let h = 1e-5

    func run(_ x: [Double], _ xdot: [Double], _ k: Int) -> [Double] {
        forwardStacked(network, t: t, x: x, tangents: xdot, rows: rows, k: k, outputWidth: dout)
    }
    func loss(_ x: [Double]) -> Double { zip(c, run(x, xdot, k)).reduce(0) { $0 + $1.0 * $1.1 } }

    // 1. Tangents.
    let out = run(x, xdot, k)
    for j in 0..<k {
        let dir = Array(xdot[(j * rows * din)..<((j + 1) * rows * din)])
        let plus = run(zip(x, dir).map { $0 + h * $1 }, [], 0)
        let minus = run(zip(x, dir).map { $0 - h * $1 }, [], 0)
        let fd = zip(plus, minus).map { ($0 - $1) / (2 * h) }
        let u = Array(out[((1 + j) * rows * dout)..<((2 + j) * rows * dout)])
        let err = relativeError(u, fd)
        XCTAssertLessThan(err, tolerance, "\(label) tangent block \(j): relative error \(err)", file: file, line: line)
    }

    // 2. Backward.
    let ws = network.makeWorkspace(maxRows: rows, tangents: k)
    var xbar = [Double](repeating: .nan, count: rows * din)
    var thetaBar = [Double](repeating: 0, count: network.parameterCount)
    _ = forwardStacked(network, t: t, x: x, tangents: xdot, rows: rows, k: k, outputWidth: dout, workspace: ws)
    network.backward(outputBar: c, inputBar: &xbar, thetaBar: &thetaBar, workspace: ws)
    var fdx = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        var xp = x, xm = x
        xp[i] += h
        xm[i] -= h
        fdx[i] = (loss(xp) - loss(xm)) / (2 * h)
    }
    let errX = relativeError(xbar, fdx)
    XCTAssertLessThan(errX, tolerance, "\(label) x̄: relative error \(errX)", file: file, line: line)

    let theta = network.parameters
    var fdTheta = [Double](repeating: 0, count: theta.count)
    for p in 0..<theta.count {
        var tp = theta, tm = theta
        tp[p] += h
        tm[p] -= h
        network.parameters = tp
        let lp = loss(x)
        network.parameters = tm
        fdTheta[p] = (lp - loss(x)) / (2 * h)
    }
    network.parameters = theta
    if let tensors = (network as? ODENet<Double>)?.parameterTensors {
        for tensor in tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            let err = relativeError(Array(thetaBar[range]), Array(fdTheta[range]))
            XCTAssertLessThan(err, tolerance, "\(label) θ̄ \(tensor.name): relative error \(err)", file: file, line: line)
        }
    }
    let errTheta = relativeError(thetaBar, fdTheta)
    XCTAssertLessThan(errTheta, tolerance, "\(label) θ̄: relative error \(errTheta)", file: file, line: line)
}
