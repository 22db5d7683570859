/// The accepted steps of a solve (t_n, h_n, y_n): what backpropagation through the solver
/// needs to replay it. Memory grows with the number of steps (the price the adjoint avoids).
public final class StepTape {
    public private(set) var times: [Double] = []
    public private(set) var steps: [Double] = []
    public private(set) var states: [Double] = []
    public private(set) var dimension = 0
    public private(set) var tableau: ButcherTableau = .euler

    public init() {}

    public var count: Int { times.count }

    func begin(dimension: Int, tableau: ButcherTableau) {
        self.dimension = dimension
        self.tableau = tableau
        times.removeAll(keepingCapacity: true)
        steps.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
    }

    func record(t: Double, h: Double, y: UnsafePointer<Double>) {
        times.append(t)
        steps.append(h)
        states.append(contentsOf: UnsafeBufferPointer(start: y, count: dimension))
    }
}

/// Backpropagation through the solver's own steps ("discretize, then optimize"): the exact
/// gradient of the discretized solution y_N with respect to y_0 and θ, with the accepted step
/// sizes held fixed. Each step is replayed (its stages recomputed from y_n) and reversed:
///
///     k̄_i = h b_i ȳ_{n+1} + Σ_{j>i} h a_ji Ȳ_j,   Ȳ_i = k̄_iᵀ ∂f/∂y(Y_i),
///     ȳ_n = ȳ_{n+1} + Σ_i Ȳ_i,                      θ̄ += Σ_i k̄_iᵀ ∂f/∂θ(Y_i).
///
/// - Parameters:
///   - yBar: on entry ∂L/∂y_N, on return ∂L/∂y_0.
///   - thetaBar: ∂L/∂θ is added to it.
/// - Returns: the number of vector-Jacobian products plus replayed evaluations.
@discardableResult
public func backpropagate(_ field: DifferentiableVectorField, tape: StepTape,
                          yBar: inout [Double], thetaBar: inout [Double]) -> Int {
    let n = tape.dimension, tab = tape.tableau, s = tab.stages, p = field.parameterCount
    precondition(yBar.count == n && thetaBar.count == p)
    var stageInputs = [Double](repeating: 0, count: s * n)
    var k = [Double](repeating: 0, count: s * n)
    var kBar = [Double](repeating: 0, count: s * n)
    var stageBar = [Double](repeating: 0, count: n)
    var thetaStage = [Double](repeating: 0, count: p)
    var scratch = [Double](repeating: 0, count: n)
    var work = 0
    for step in stride(from: tape.count - 1, through: 0, by: -1) {
        let t = tape.times[step], h = tape.steps[step]
        let y = Array(tape.states[(step * n)..<((step + 1) * n)])
        // Replay the stages.
        for i in 0..<s {
            for d in 0..<n { stageInputs[i * n + d] = y[d] }
            for j in 0..<i where tab.a[i][j] != 0 {
                for d in 0..<n { stageInputs[i * n + d] += h * tab.a[i][j] * k[j * n + d] }
            }
            // The last FSAL stage only serves the error estimate (b = 0): not needed.
            if i == s - 1 && tab.fsal { continue }
            stageInputs.withUnsafeBufferPointer { si in
                k.withUnsafeMutableBufferPointer { kp in
                    field.evaluate(t: t + tab.c[i] * h, y: si.baseAddress! + i * n, dy: kp.baseAddress! + i * n)
                }
            }
            work += 1
        }
        // Reverse them.
        var live = [Bool](repeating: false, count: s)
        for i in 0..<s {
            let w = h * tab.b[i]
            live[i] = w != 0
            for d in 0..<n { kBar[i * n + d] = w * yBar[d] }
        }
        for i in stride(from: s - 1, through: 0, by: -1) where live[i] {
            stageInputs.withUnsafeBufferPointer { si in
                kBar.withUnsafeBufferPointer { kb in
                    scratch.withUnsafeMutableBufferPointer { sc in
                        stageBar.withUnsafeMutableBufferPointer { sb in
                            thetaStage.withUnsafeMutableBufferPointer { tb in
                                field.vectorJacobianProduct(
                                    t: t + tab.c[i] * h, y: si.baseAddress! + i * n,
                                    cotangent: kb.baseAddress! + i * n, dy: sc.baseAddress!,
                                    yBar: sb.baseAddress!, thetaBar: tb.baseAddress!)
                            }
                        }
                    }
                }
            }
            work += 1
            for q in 0..<p { thetaBar[q] += thetaStage[q] }
            for d in 0..<n { yBar[d] += stageBar[d] }
            for j in 0..<i where tab.a[i][j] != 0 {
                let w = h * tab.a[i][j]
                live[j] = true
                for d in 0..<n { kBar[j * n + d] += w * stageBar[d] }
            }
        }
    }
    return work
}
