#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The forward engine behind `solve(_:y0:from:to:options:saveAt:gradient:workspace:)`: a
/// Runge–Kutta method from `SolveOptions` with its step-size controller.
///
/// The solver owns every buffer a step needs (stages, trial state, error), allocated once
/// for its dimension; stepping allocates nothing. Integration runs forwards or backwards
/// (t1 < t0) alike. A `SolveWorkspace` keeps one per dimension and options.
final class ODESolver {
    let dimension: Int
    let options: SolveOptions
    let tableau: ButcherTableau

    /// Stage derivatives k_i, `stages × dimension`.
    let k: MutableStateVector
    /// The trial state of a step (also the stage input Y_i while stages are computed).
    let trial: MutableStateVector
    let candidate: MutableStateVector
    let error: MutableStateVector
    /// Owns the memory of the four views above.
    private let storage: [StateBuffer]
    let groups: [NormGroup]
    /// One past the last component any norm group covers: the step's error estimate is needed
    /// only below it (a seminorm leaves the adjoint's θ̄ out).
    let errorEnd: Int

    init(dimension: Int, options: SolveOptions) throws {
        if let m = options.validationError() { throw ODEError.invalidOptions(m) }
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.options = options
        self.tableau = options.method.tableau
        groups = options.normGroups ?? [NormGroup(start: 0, count: dimension)]
        for g in groups where g.start < 0 || g.count < 0 || g.start + g.count > dimension {
            throw ODEError.invalidOptions("norm group \(g.start)..<\(g.start + g.count) is outside the state of \(dimension)")
        }
        errorEnd = groups.map { $0.start + $0.count }.max() ?? 0
        storage = [StateBuffer(count: tableau.stages * dimension), StateBuffer(count: dimension),
                   StateBuffer(count: dimension), StateBuffer(count: dimension)]
        k = storage[0].vector
        trial = storage[1].vector
        candidate = storage[2].vector
        error = storage[3].vector
    }

    /// Integrates `state` in place from t0 to t1.
    @discardableResult
    func solve(_ f: VectorField, state: MutableStateVector, from t0: Double, to t1: Double,
                      tape: StepTape? = nil) throws -> SolveStats {
        try solve(f, state: state, times: [t0, t1], tape: tape) { _, _ in }
    }

    /// Array convenience: returns y(t1).
    func solve(_ f: VectorField, y0: [Double], from t0: Double, to t1: Double,
                      tape: StepTape? = nil) throws -> (y: [Double], stats: SolveStats) {
        precondition(y0.count == dimension, "y0 has \(y0.count) entries, the solver was made for \(dimension)")
        var y = y0
        let stats = try y.withMutableStateVector {
            try solve(f, state: $0, from: t0, to: t1, tape: tape)
        }
        return (y, stats)
    }

    /// Integrates `state` in place through `times` (monotone, either direction; `times[0]` is
    /// the start), calling `observe(i, y(times[i]))` at each of them, the start included.
    /// Steps are shortened to land on each requested time exactly.
    func solve(_ f: VectorField, state y: MutableStateVector, times: [Double],
                      tape: StepTape? = nil,
                      observe: (Int, StateVector) -> Void) throws -> SolveStats {
        precondition(f.dimension == dimension, "field has dimension \(f.dimension), solver \(dimension)")
        guard let t0 = times.first else { return SolveStats() }
        let dir: Double = (times.last! >= t0) ? 1 : -1
        for i in 1..<max(times.count, 1) where (times[i] - times[i - 1]) * dir < 0 {
            throw ODEError.invalidOptions("output times must be monotone, got \(times[i - 1]) then \(times[i])")
        }
        for i in 0..<dimension where !y[i].isFinite { throw ODEError.nonFiniteState(t: t0) }
        tape?.begin(dimension: dimension, tableau: tableau)
        observe(0, y.readOnly)
        if times.count == 1 { return SolveStats() }
        if tableau.isAdaptive {
            return try solveAdaptive(f, y: y, times: times, direction: dir, tape: tape, observe: observe)
        } else {
            return try solveFixed(f, y: y, times: times, direction: dir, tape: tape, observe: observe)
        }
    }

    // MARK: - Stepping

    /// Computes stages 1..<s from k_0 (already in `k`), the new solution into `candidate`
    /// and, for embedded pairs, the error estimate into `error`. Returns evaluations made.
    @inline(__always)
    func attemptStep(_ f: VectorField, y: StateVector, t: Double, h: Double) -> Int {
        let n = dimension, s = tableau.stages
        let evals = tableau.computeStages(f, t: t, h: h, y: y, k: k, inputs: trial, inputStride: 0,
                                          dimension: n, range: 1..<s)
        if tableau.fsal {
            // The last stage's input is y + h Σ b_j k_j: the new solution.
            for d in 0..<n { candidate[d] = trial[d] }
        } else {
            for d in 0..<n { candidate[d] = y[d] }
            for j in 0..<s where tableau.b[j] != 0 {
                let w = h * tableau.b[j], kj = k + j * n
                for d in 0..<n { candidate[d] += w * kj[d] }
            }
        }
        if let e = tableau.e {
            let m = errorEnd
            for d in 0..<m { error[d] = 0 }
            for j in 0..<s where e[j] != 0 {
                let w = h * e[j], kj = k + j * n
                for d in 0..<m { error[d] += w * kj[d] }
            }
        }
        return evals
    }

    /// The error ratio: RMS of err_i / (atol + rtol · max(|y0_i|, |y1_i|)), or with norm
    /// groups the largest group RMS.
    @inline(__always)
    func errorRatio(y0: StateVector, y1: StateVector) -> Double {
        groupNorm { d in
            error[d] / (options.atol + options.rtol * max(abs(y0[d]), abs(y1[d])))
        }
    }

    /// RMS norm of v scaled by atol + rtol·|y| (Hairer's initial step selection).
    func scaledNorm(_ v: StateVector, _ y: StateVector) -> Double {
        groupNorm { d in v[d] / (options.atol + options.rtol * abs(y[d])) }
    }

    @inline(__always)
    func groupNorm(_ scaled: (Int) -> Double) -> Double {
        var worst = 0.0
        for g in groups {
            var sum = 0.0
            for d in g.start..<(g.start + g.count) { let r = scaled(d); sum += r * r }
            let rms = (sum / Double(max(g.count, 1))).squareRoot()
            if !(rms <= worst) { worst = rms }  // NaN propagates
        }
        return worst
    }

    /// Hairer, Nørsett & Wanner, Solving ODEs I, II.4: an initial step from the sizes of y,
    /// f(t0, y) and a finite-difference estimate of the second derivative. One evaluation.
    func initialStep(_ f: VectorField, y: StateVector, t0: Double, direction: Double,
                     span: Double) -> Double {
        let n = dimension
        let f0 = k
        let d0 = scaledNorm(y, y), d1 = scaledNorm(f0.readOnly, y)
        var h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
        h0 = min(h0, span)
        for d in 0..<n { trial[d] = y[d] + direction * h0 * f0[d] }
        let f1 = k + n  // stage 1's slot, overwritten by the first step anyway
        f.evaluate(t: t0 + direction * h0, y: trial.readOnly, dy: f1)
        for d in 0..<n { error[d] = (f1[d] - f0[d]) }
        let d2 = scaledNorm(error.readOnly, y) / h0
        let q = Double(min(tableau.order, tableau.embeddedOrder) + 1)
        let h1 = max(d1, d2) <= 1e-15 ? max(1e-6, h0 * 1e-3) : pow(0.01 / max(d1, d2), 1 / q)
        return min(100 * h0, h1, span)
    }

    /// Smallest step magnitude before underflow is declared.
    @inline(__always)
    func minimumStep(_ t: Double, _ scale: Double) -> Double {
        max(options.minStep, 8 * max(abs(t), scale).ulp)
    }

    func solveAdaptive(_ f: VectorField, y: MutableStateVector, times: [Double], direction dir: Double,
                       tape: StepTape?, observe: (Int, StateVector) -> Void) throws -> SolveStats {
        let n = dimension, s = tableau.stages
        var stats = SolveStats()
        var t = times[0]
        let scale = times.map { abs($0) }.max()!
        f.evaluate(t: t, y: y.readOnly, dy: k)
        stats.evaluations += 1
        for d in 0..<n where !k[d].isFinite { throw ODEError.nonFiniteState(t: t) }
        var h: Double
        if let h0 = options.step {
            h = h0
        } else {
            h = initialStep(f, y: y.readOnly, t0: t, direction: dir, span: abs(times.last! - t))
            stats.evaluations += 1
        }
        h = min(h, options.maxStep)
        let q = Double(min(tableau.order, tableau.embeddedOrder) + 1)
        let beta1 = (options.icoeff + options.pcoeff) / q, beta2 = options.pcoeff / q
        var previousRatio = 1.0
        var lastRejectionNonFinite = false

        for index in 1..<times.count {
            let target = times[index]
            while (target - t) * dir > 0 {
                if stats.acceptedSteps + stats.rejectedSteps >= options.maxSteps {
                    throw ODEError.maxStepsReached(steps: options.maxSteps, t: t)
                }
                let remaining = abs(target - t)
                // Land exactly on the target when the step would reach it (or nearly).
                let clipped = h >= remaining * (1 - 1e-12)
                let hh = clipped ? remaining : h
                if hh < minimumStep(t, scale) && !clipped {
                    if lastRejectionNonFinite { throw ODEError.nonFiniteState(t: t) }
                    throw ODEError.stepSizeUnderflow(t: t, h: hh)
                }
                stats.evaluations += attemptStep(f, y: y.readOnly, t: t, h: dir * hh)
                let ratio = errorRatio(y0: y.readOnly, y1: candidate.readOnly)
                if ratio <= 1 {
                    tape?.record(t: t, h: dir * hh, y: y.readOnly)
                    stats.acceptedSteps += 1
                    t = clipped ? target : t + dir * hh
                    for d in 0..<n { y[d] = candidate[d] }
                    if tableau.fsal {
                        for d in 0..<n { k[d] = k[(s - 1) * n + d] }
                    } else {
                        f.evaluate(t: t, y: y.readOnly, dy: k)
                        stats.evaluations += 1
                    }
                    var factor = ratio == 0 ? options.maxFactor
                        : options.safety * pow(ratio, -beta1) * pow(previousRatio, beta2)
                    factor = min(options.maxFactor, max(options.minFactor, factor))
                    let proposal = min(hh * factor, options.maxStep)
                    h = clipped ? max(h, proposal) : proposal
                    previousRatio = max(ratio, 1e-4)
                    lastRejectionNonFinite = false
                } else {
                    stats.rejectedSteps += 1
                    lastRejectionNonFinite = !ratio.isFinite
                    let factor = ratio.isFinite ? max(options.minFactor, options.safety * pow(ratio, -1 / q))
                                                : options.minFactor
                    h = hh * min(1, factor)
                    if h < minimumStep(t, scale) {
                        if lastRejectionNonFinite { throw ODEError.nonFiniteState(t: t) }
                        throw ODEError.stepSizeUnderflow(t: t, h: h)
                    }
                }
            }
            observe(index, y.readOnly)
        }
        return stats
    }

    func solveFixed(_ f: VectorField, y: MutableStateVector, times: [Double], direction dir: Double,
                    tape: StepTape?, observe: (Int, StateVector) -> Void) throws -> SolveStats {
        let n = dimension
        var stats = SolveStats()
        let hMax = options.step!
        var t = times[0]
        for index in 1..<times.count {
            let target = times[index]
            let span = abs(target - t)
            let steps = span == 0 ? 0 : max(1, Int((span / hMax * (1 - 1e-12)).rounded(.up)))
            let h = dir * span / Double(max(steps, 1))
            let start = t
            for i in 0..<steps {
                if stats.acceptedSteps >= options.maxSteps {
                    throw ODEError.maxStepsReached(steps: options.maxSteps, t: t)
                }
                f.evaluate(t: t, y: y.readOnly, dy: k)
                stats.evaluations += 1 + attemptStep(f, y: y.readOnly, t: t, h: h)
                tape?.record(t: t, h: h, y: y.readOnly)
                for d in 0..<n { y[d] = candidate[d] }
                stats.acceptedSteps += 1
                t = i == steps - 1 ? target : start + Double(i + 1) * h
                for d in 0..<n where !y[d].isFinite { throw ODEError.nonFiniteState(t: t) }
            }
            t = target
            observe(index, y.readOnly)
        }
        return stats
    }
}
