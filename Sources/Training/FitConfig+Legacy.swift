import Networks
import Flow
import ODE

/// The flat configuration written by cnf ≤ 0.1.0 (format 1): read only, to migrate. Its defaults
/// are that version's, so a partial old file means what it meant then.
struct LegacyFitConfig: Decodable {
    var dataset: String? = "8gaussians"
    var data: String? = nil
    var testFraction = 0.1
    var dims = [64, 64, 64]
    var activation = Activation.tanh
    var layer = LayerType.concatSquash
    var blocks = 1
    var time = 0.5
    var trainTime = false
    var trace = FitConfig.Trace.hutchinson
    var noise = NoiseDistribution.rademacher
    var kinetic = 0.0, jacobian = 0.0
    var solver = SolverMethod.dopri5
    var atol = 1e-5, rtol = 1e-5
    var step: Double? = nil
    var maxSteps = 10_000
    var gradient = GradientRoute.adjoint
    var seminorm = true
    var adjointAtol: Double? = nil, adjointRtol: Double? = nil
    var iters = 10_000
    var batchSize = 100
    var lr = 1e-3
    var lrSchedule = FitConfig.Schedule.cosine
    var weightDecay = 1e-5
    var precision = FitConfig.Precision.float
    var seed: UInt64 = 0
    var evalEvery = 500
    var testSize = 2_000
    var chunks = 2
    var cnfVersion = "0.1.0"
    var gitCommit: String? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataset, data, testFraction, dims, activation, layer, blocks, time, trainTime, trace, noise, kinetic,
             jacobian, solver, atol, rtol, step, maxSteps, gradient, seminorm, adjointAtol, adjointRtol, iters,
             batchSize, lr, lrSchedule, weightDecay, precision, seed, evalEvery, testSize, chunks, cnfVersion, gitCommit
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "the (format 1) configuration")
        if c.contains(.data) && !c.contains(.dataset) { dataset = nil }
        try c.update(&dataset, .dataset)
        try c.update(&data, .data)
        try c.update(&testFraction, .testFraction)
        try c.update(&dims, .dims)
        try c.update(&activation, .activation)
        try c.update(&layer, .layer)
        try c.update(&blocks, .blocks)
        try c.update(&time, .time)
        try c.update(&trainTime, .trainTime)
        try c.update(&trace, .trace)
        try c.update(&noise, .noise)
        try c.update(&kinetic, .kinetic)
        try c.update(&jacobian, .jacobian)
        try c.update(&solver, .solver)
        try c.update(&atol, .atol)
        try c.update(&rtol, .rtol)
        try c.update(&step, .step)
        try c.update(&maxSteps, .maxSteps)
        try c.update(&gradient, .gradient)
        try c.update(&seminorm, .seminorm)
        try c.update(&adjointAtol, .adjointAtol)
        try c.update(&adjointRtol, .adjointRtol)
        try c.update(&iters, .iters)
        try c.update(&batchSize, .batchSize)
        try c.update(&lr, .lr)
        try c.update(&lrSchedule, .lrSchedule)
        try c.update(&weightDecay, .weightDecay)
        try c.update(&precision, .precision)
        try c.update(&seed, .seed)
        try c.update(&evalEvery, .evalEvery)
        try c.update(&testSize, .testSize)
        try c.update(&chunks, .chunks)
        try c.update(&cnfVersion, .cnfVersion)
        try c.update(&gitCommit, .gitCommit)
    }
}

extension FitConfig {
    /// Format 1 had flat keys and no `format`; `data` was a file name (a string), not a section.
    static func isLegacy(_ decoder: Decoder) throws -> Bool {
        let c = try decoder.container(keyedBy: LegacyFitConfig.CodingKeys.self)
        let sections = try decoder.container(keyedBy: CodingKeys.self)
        if sections.contains(.format) { return false }
        let flatOnly = LegacyFitConfig.CodingKeys.allCases.filter { $0 != .data && $0 != .seed }
        if flatOnly.contains(where: { c.contains($0) }) { return true }
        return c.contains(.data) && (try? c.decode(String.self, forKey: .data)) != nil
    }

    /// The same run in today's layout: every value carried over, and the behaviours format 1
    /// did not have (warm-up, clipping, averaging, a validation split of a file) switched off,
    /// so the migrated run replays bit for bit.
    init(migrating old: LegacyFitConfig) {
        self.init()
        seed = old.seed
        data.dataset = old.dataset
        data.file = old.data
        data.testFraction = old.testFraction
        data.validationFraction = 0
        model.dims = old.dims
        model.activation = old.activation
        model.layer = old.layer
        model.blocks = old.blocks
        model.time = old.time
        model.trainTime = old.trainTime
        model.precision = old.precision
        density.trace = old.trace
        density.noise = old.noise
        density.kinetic = old.kinetic
        density.jacobian = old.jacobian
        solver = SolveOptions(method: old.solver, rtol: old.rtol, atol: old.atol)
        solver.step = old.step
        solver.maxSteps = old.maxSteps
        gradient.route = old.gradient
        gradient.adjoint.seminorm = old.seminorm
        gradient.adjoint.atol = old.adjointAtol
        gradient.adjoint.rtol = old.adjointRtol
        training.iters = old.iters
        training.batchSize = old.batchSize
        training.lr = old.lr
        training.schedule = old.lrSchedule
        training.warmup = 0
        training.weightDecay = old.weightDecay
        training.clip = nil
        training.ema = nil
        training.decayTime = true
        training.chunks = old.chunks
        validation.every = old.evalEvery
        validation.size = old.testSize
        provenance.cnfVersion = old.cnfVersion
        provenance.gitCommit = old.gitCommit
    }
}
