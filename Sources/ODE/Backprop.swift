/// The accepted steps of a solve (t_n, h_n, y_n): what backpropagation through the solver
/// needs to replay it. Memory grows with the number of steps (the price the adjoint avoids).
/// A `.backprop` solution owns its tape.
final class StepTape {
    private(set) var times: [Double] = []
    private(set) var steps: [Double] = []
    private(set) var states: [Double] = []
    private(set) var dimension = 0
    private(set) var tableau: ButcherTableau = .euler

    init() {}

    var count: Int { times.count }

    /// Bytes the tape holds: y_n, t_n and h_n for each accepted step.
    var bytes: Int { 8 * (states.count + 2 * count) }

    func begin(dimension: Int, tableau: ButcherTableau) {
        self.dimension = dimension
        self.tableau = tableau
        times.removeAll(keepingCapacity: true)
        steps.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
    }

    func record(t: Double, h: Double, y: StateVector) {
        times.append(t)
        steps.append(h)
        assert(y.count == dimension, "state of \(y.count) on a tape of \(dimension)")
        states.append(contentsOf: y)
    }
}

/// Backpropagation through the solver's own steps ("discretize, then optimize"): the exact
/// gradient of the discretized solution y_N with respect to y_0 and θ, with the accepted step
/// sizes held fixed. Each step is replayed (its stages recomputed from y_n by the same stage
/// routine as the forward step, `ButcherTableau.computeStages`) and reversed:
///
///     k̄_i = h b_i ȳ_{n+1} + Σ_{j>i} h a_ji Ȳ_j,   Ȳ_i = k̄_iᵀ ∂f/∂y(Y_i),
///     ȳ_n = ȳ_{n+1} + Σ_i Ȳ_i,                      θ̄ += Σ_i k̄_iᵀ ∂f/∂θ(Y_i).
///
/// Owns the replay's buffers for one shape (dimension n, stages s, parameters p: 3sn + 2n + p
/// Doubles), allocated once; a pullback allocates nothing per step.
final class BackpropReplay {
    let n: Int, s: Int, p: Int
    let stageInputs: MutableStateVector
    let k: MutableStateVector
    let kBar: MutableStateVector
    let stageBar: MutableStateVector
    let scratch: MutableStateVector
    let thetaStage: MutableStateVector
    /// Owns the memory of the six views above.
    private let storage: [StateBuffer]
    var live: [Bool]

    init(dimension n: Int, stages s: Int, parameters p: Int) {
        self.n = n; self.s = s; self.p = p
        storage = [s * n, s * n, s * n, n, n, p].map { StateBuffer(count: $0) }
        stageInputs = storage[0].vector
        k = storage[1].vector
        kBar = storage[2].vector
        stageBar = storage[3].vector
        scratch = storage[4].vector
        thetaStage = storage[5].vector
        live = [Bool](repeating: false, count: s)
    }

    /// - Parameters:
    ///   - yBar: on entry ∂L/∂y_N, on return ∂L/∂y_0.
    ///   - thetaBar: ∂L/∂θ is added to it.
    /// - Returns: the number of vector-Jacobian products plus replayed evaluations.
    func pullback(_ field: DifferentiableVectorField, tape: StepTape,
                  yBar: inout [Double], thetaBar: inout [Double]) -> Int {
        let tab = tape.tableau
        precondition(tape.dimension == n && tab.stages == s && field.parameterCount == p
                     && yBar.count == n && thetaBar.count == p, "backprop replay shape mismatch")
        // The last FSAL stage only serves the error estimate (b = 0): not replayed.
        let replayed = 0..<(tab.fsal ? s - 1 : s)
        var work = 0
        tape.states.withStateVector { states in
            yBar.withMutableStateVector { yb in
                thetaBar.withMutableStateVector { tb in
                    for step in stride(from: tape.count - 1, through: 0, by: -1) {
                        let t = tape.times[step], h = tape.steps[step]
                        work += tab.computeStages(field, t: t, h: h, y: states + step * n, k: k,
                                                  inputs: stageInputs, inputStride: n, dimension: n, range: replayed)
                        work += reverseStep(field, tab, t: t, h: h, yBar: yb, thetaBar: tb)
                    }
                }
            }
        }
        return work
    }

    /// The reverse of one replayed step: ȳ and θ̄ updated in place. Returns the VJPs made.
    @inline(__always)
    private func reverseStep(_ field: DifferentiableVectorField, _ tab: ButcherTableau, t: Double, h: Double,
                             yBar: MutableStateVector, thetaBar: MutableStateVector) -> Int {
        var work = 0
        for i in 0..<s {
            let w = h * tab.b[i]
            live[i] = w != 0
            for d in 0..<n { kBar[i * n + d] = w * yBar[d] }
        }
        for i in stride(from: s - 1, through: 0, by: -1) where live[i] {
            field.vectorJacobianProduct(t: t + tab.c[i] * h, y: (stageInputs + i * n).readOnly,
                                        cotangent: (kBar + i * n).readOnly,
                                        dy: scratch, yBar: stageBar, thetaBar: thetaStage)
            work += 1
            for q in 0..<p { thetaBar[q] += thetaStage[q] }
            for d in 0..<n { yBar[d] += stageBar[d] }
            let row = tab.a[i]
            for j in 0..<i where row[j] != 0 {
                let w = h * row[j]
                live[j] = true
                for d in 0..<n { kBar[j * n + d] += w * stageBar[d] }
            }
        }
        return work
    }
}

/// One-shot backprop through a recorded solve (tests): see `BackpropReplay`.
@discardableResult
func backpropagate(_ field: DifferentiableVectorField, tape: StepTape,
                   yBar: inout [Double], thetaBar: inout [Double]) -> Int {
    BackpropReplay(dimension: tape.dimension, stages: tape.tableau.stages, parameters: field.parameterCount)
        .pullback(field, tape: tape, yBar: &yBar, thetaBar: &thetaBar)
}
