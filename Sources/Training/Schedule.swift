#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When the plateau schedule stops holding the peak rate, and how it anneals.
///
/// **The trend rule** (`minGain` set; cnf ≥ 0.4): after at least `minPeak` iterations, the peak
/// rate is held while the validation NLL's recent trend still pays for more time at the peak.
/// At each validation the least-squares slope s (nats per iteration) is fitted to the last
/// max(`window`, ⌈`trendFraction` × n⌉) of the n validations made at the peak, and the peak
/// ends when the gain it projects over the next `annealFraction` × i iterations (at least 100),
/// −s · max(100, `annealFraction` × i), falls below `minGain` nats. The window and the horizon grow with the
/// run, so the rule is scale-free: a data set that is still learning structure slowly
/// (checkerboard, rings) stays at the peak, one that has settled (8gaussians) anneals early.
///
/// **The patience rule** (`minGain` nil; cnf 0.2–0.3 configurations): after `patience`
/// validations in a row that did not improve the best validation NLL by at least `minDelta`.
///
/// **The anneal.** With `decay` set (cnf ≥ 0.4), in `steps` steps: the rate is multiplied by
/// `decay` whenever the rule ends the current rate's phase (the trend fitted to that phase's
/// validations only), and training ends when the last rate's phase ends. A data set still
/// learning at a lower rate stays there as long as it pays (checkerboard's edges sharpen over
/// thousands of iterations at each rate); one that has settled passes through the steps at
/// `window` validations each. Near the budget the remaining steps are taken at `minAnneal`
/// iterations each (a short run: budget / (2 (steps + 1)) each), so that the run always ends at
/// the lowest rate.
/// With `decay` nil (cnf 0.2–0.3): a cosine anneal over max(`minAnneal`, `annealFraction` ×
/// iterations so far), and training ends with it.
/// While the anneal still improves validation faster than `extendRate` nats per 1 000
/// iterations (the least-squares slope of the last `window` validation NLLs: single validations
/// are too noisy to judge a trend by), each validation holds the rate where it is for one more
/// validation interval and moves the anneal's end that much later: a data set that keeps
/// gaining at an intermediate rate stays there; one that has settled anneals on.
/// The anneal starts early enough to end within the budget (`training.iters`), and an
/// extension never goes past it.
///
/// **The overfitting stop** (`overfitRise` set; cnf ≥ 0.4.1): the run ends when `window`
/// validations in a row are more than `overfitRise` nats above the best validation NLL so far
/// while the mean training NLL of each of their intervals is below the one that led to the
/// best — held-out fit worsening while the fit to the training rows improves. A toy set, whose
/// batches are fresh draws, cannot meet it (its training NLL rises with its validation NLL when
/// a high rate unsettles the fit); a small file's rows can (iris: 120 rows in 4-D).
public struct PlateauRule: Codable, Equatable, Sendable {
    public var patience: Int = 3
    public var minDelta: Double = 0.005
    /// The trend rule's threshold in nats (nil = the patience rule).
    public var minGain: Double? = 0.01
    /// The trend rule: the fraction of the peak's validations the slope is fitted to.
    public var trendFraction: Double = 0.3
    /// The trend rule: iterations at the peak (warm-up included) before it may end. Some
    /// sets improve slowly before they find their structure (rings: 3.53 → 3.51 nats in the
    /// first 700 iterations, then steadily down to 2.66).
    public var minPeak: Int = 1000
    /// The cosine anneal's length as a fraction of the iterations before it, and its shortest
    /// length: 1 500 iterations at batch 100 (measured on 8gaussians' validation stream, 20 000
    /// points: anneals of 550 / 1 000 / 1 500 iterations gave 2.8462 / 2.8448 / 2.8412 nats; the
    /// hard sets, whose peaks end after 3 000 iterations, anneal for longer anyway).
    public var annealFraction: Double = 0.5
    public var minAnneal: Int = 1500
    /// 0: the anneal's length is fixed when it starts.
    public var extendRate: Double = 0.02
    /// The step anneal: the rate's factor at each step (nil = the cosine anneal), and the number
    /// of steps (the last rate is peak · decay^steps).
    public var decay: Double? = nil
    public var steps: Int = 3
    public var window: Int = 5
    /// The overfitting stop's margin in nats (nil = off). Measured on every toy-set fit made
    /// for cnf 0.4 (137 runs, metrics.csv): none would have stopped; iris and diabetes do.
    public var overfitRise: Double? = 0.05
    public init() {}

    public func validationError() -> String? {
        if patience < 1 { return "training.plateau.patience must be ≥ 1, got \(patience)" }
        if !(minDelta >= 0 && minDelta.isFinite) { return "training.plateau.minDelta must be ≥ 0, got \(minDelta)" }
        if !(annealFraction > 0 && annealFraction <= 1) { return "training.plateau.annealFraction must be in (0, 1], got \(annealFraction)" }
        if minAnneal < 1 { return "training.plateau.minAnneal must be ≥ 1, got \(minAnneal)" }
        if window < 2 { return "training.plateau.window must be ≥ 2, got \(window)" }
        if let g = minGain, !(g >= 0 && g.isFinite) { return "training.plateau.minGain must be ≥ 0, got \(g)" }
        if !(trendFraction > 0 && trendFraction <= 1) { return "training.plateau.trendFraction must be in (0, 1], got \(trendFraction)" }
        if minPeak < 0 { return "training.plateau.minPeak must be ≥ 0, got \(minPeak)" }
        if let d = decay, !(d > 0 && d < 1) { return "training.plateau.decay must be in (0, 1), got \(d)" }
        if steps < 1 { return "training.plateau.steps must be ≥ 1, got \(steps)" }
        if !(extendRate >= 0 && extendRate.isFinite) { return "training.plateau.extendRate must be ≥ 0, got \(extendRate)" }
        if let r = overfitRise, !(r > 0 && r.isFinite) { return "training.plateau.overfitRise must be > 0 (or off), got \(r)" }
        return nil
    }
}

/// The learning rate over a run, and for the plateau schedule the decision to stop. Its state
/// (what validation has shown so far) is saved in checkpoints, so a resumed run continues on
/// the same rates.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public let kind: FitConfig.Schedule
    public let peak: Double
    public let warmup: Int
    public let budget: Int
    public let rule: PlateauRule
    /// Best validation NLL seen, validations since it improved by `minDelta`.
    public private(set) var best: Double? = nil
    public private(set) var stale = 0
    /// Plateau: the anneal's first iteration and length, once it has started.
    public private(set) var annealStart: Int? = nil
    public private(set) var annealLength = 0
    /// The last `rule.window` validations: (iteration, NLL), oldest first.
    public private(set) var recent: [Validation]? = nil
    public struct Validation: Codable, Equatable, Sendable {
        public var iteration: Int
        public var nll: Double
    }
    /// Plateau: iterations the anneal's rate was held (part of `annealLength`), and the
    /// iteration the current hold ends. Optional so that cnf 0.2's checkpoints still resume.
    public private(set) var annealHeld: Int? = nil
    public private(set) var holdUntil: Int? = nil
    /// The trend rule: every validation made at the current rate (the peak, or a step of the
    /// step anneal), after the warm-up.
    public private(set) var peakValidations: [Validation]? = nil
    /// The step anneal: the current step (0 = the peak) and where it began, and the iteration
    /// at which the last step ended the run.
    public private(set) var level: Int? = nil
    public private(set) var levelStart: Int? = nil
    public private(set) var finishedAt: Int? = nil
    /// The overfitting stop's state (nil while it is off, and in checkpoints of cnf ≤ 0.4.0).
    public private(set) var overfit: OverfitWatch? = nil
    public struct OverfitWatch: Codable, Equatable, Sendable {
        /// The training NLL summed over the current validation interval, and its iterations.
        public var intervalSum = 0.0
        public var intervalCount = 0
        /// The lowest validation NLL so far and its interval's mean training NLL.
        public var lowest: Validation? = nil
        public var lowestTraining = 0.0
        /// Validations in a row that met the rule, and the iteration it ended the run at.
        public var risen = 0
        public var stoppedAt: Int? = nil
    }
    /// The iteration the overfitting stop ended the run at.
    public var overfitAt: Int? { overfit?.stoppedAt }
    /// The lowest validation NLL the overfitting stop has seen.
    public var lowest: Validation? { overfit?.lowest }

    public init(_ t: FitConfig.TrainingSection) {
        kind = t.schedule
        peak = t.lr
        // A warm-up longer than a tenth of the budget would leave no time at the peak.
        warmup = min(t.warmup, t.iters / 10)
        budget = t.iters
        rule = t.plateau
    }

    /// The rate of iteration `i` (0-based). Also starts the plateau anneal when the budget
    /// requires it (call once per iteration, in order).
    public mutating func rate(at i: Int) -> Double {
        if i < warmup { return peak * Double(i + 1) / Double(warmup) }
        switch kind {
        case .constant:
            return peak
        case .cosine:
            return peak * 0.5 * (1 + cos(Double.pi * Double(i) / Double(max(budget, 1))))
        case .plateau where rule.decay != nil:
            // Near the budget every remaining step gets minAnneal iterations (a small budget: an
            // equal share of half of it).
            let current = level ?? 0
            let share = max(1, min(rule.minAnneal, budget / (2 * (rule.steps + 1))))
            var forced = current
            while forced < rule.steps && i >= budget - (rule.steps - forced) * share { forced += 1 }
            if forced > current { enterLevel(forced, at: i) }
            return peak * pow(rule.decay!, Double(level ?? 0))
        case .plateau:
            if annealStart == nil && i + annealLength(startingAt: i) >= budget {
                annealStart = i
                annealLength = max(1, budget - i)
            }
            guard let s = annealStart else { return peak }
            let held = annealHeld ?? 0
            let progress = max(i, holdUntil ?? i) - s - held
            return peak * 0.5 * (1 + cos(Double.pi * Double(progress) / Double(max(1, annealLength - held))))
        }
    }

    func annealLength(startingAt i: Int) -> Int { max(rule.minAnneal, Int(rule.annealFraction * Double(i))) }

    /// The trend rule's horizon at iteration i: `annealFraction` × i (at least 100): how much
    /// more time at the current rate the projected gain is measured over. Not `annealLength`:
    /// a long minimum anneal must not keep an early-settling run at the peak.
    func trendHorizon(at i: Int) -> Int { max(100, Int(rule.annealFraction * Double(i))) }

    /// The step anneal: from iteration `i` on, the rate is peak · decay^k.
    mutating func enterLevel(_ k: Int, at i: Int) {
        level = k
        levelStart = i
        peakValidations = []
        stale = 0
        best = nil
        if annealStart == nil { annealStart = i }
    }

    /// Whether the validations made at the current rate say its phase is over: the trend rule
    /// (projected gain over an anneal's length below `minGain`) or the patience rule.
    func phaseEnded(validations v: [Validation], iteration: Int, minimum: Int, since start: Int) -> Bool {
        guard let minGain = rule.minGain else { return stale >= rule.patience && iteration - start >= minimum }
        let fitted = max(rule.window, Int((rule.trendFraction * Double(v.count)).rounded(.up)))
        guard iteration >= minimum && v.count >= rule.window, let s = Self.slope(Array(v.suffix(fitted))) else { return false }
        return -s * Double(trendHorizon(at: iteration)) < minGain
    }

    /// Records one training iteration's NLL (for the overfitting stop).
    public mutating func record(training nll: Double) {
        guard kind == .plateau, rule.overfitRise != nil else { return }
        var w = overfit ?? OverfitWatch()
        w.intervalSum += nll
        w.intervalCount += 1
        overfit = w
    }

    /// The overfitting stop's bookkeeping at a validation: see `PlateauRule`.
    mutating func checkOverfitting(validation nll: Double, after iteration: Int) {
        guard kind == .plateau, let margin = rule.overfitRise, var w = overfit, w.intervalCount > 0 else { return }
        let training = w.intervalSum / Double(w.intervalCount)
        w.intervalSum = 0
        w.intervalCount = 0
        if let low = w.lowest, !(nll < low.nll) {
            w.risen = nll > low.nll + margin && training < w.lowestTraining ? w.risen + 1 : 0
            if w.risen >= rule.window && w.stoppedAt == nil { w.stoppedAt = iteration }
        } else {
            w.lowest = Validation(iteration: iteration, nll: nll)
            w.lowestTraining = training
            w.risen = 0
        }
        overfit = w
    }

    /// Records a validation NLL measured after iteration `iteration` (1-based count done).
    public mutating func observe(validation nll: Double, after iteration: Int) {
        checkOverfitting(validation: nll, after: iteration)
        let last = recent?.last?.iteration
        var r = recent ?? []
        r.append(Validation(iteration: iteration, nll: nll))
        if r.count > rule.window { r.removeFirst(r.count - rule.window) }
        recent = r
        // An anneal that is still paying off holds its rate for one more interval (within the budget).
        if kind == .plateau, rule.decay == nil, rule.extendRate > 0, let s = annealStart, let last, iteration > last,
           r.count == rule.window, r[0].iteration >= s, let slope = Self.slope(r), -slope * 1000 > rule.extendRate {
            let hold = min(iteration - last, budget - (s + annealLength))
            if hold > 0 {
                annealHeld = (annealHeld ?? 0) + hold
                annealLength += hold
                holdUntil = iteration + hold
            }
        }
        if nll < (best ?? .infinity) - rule.minDelta {
            best = nll
            stale = 0
        } else {
            stale += 1
        }
        if kind == .plateau && rule.decay != nil {
            guard iteration >= warmup && finishedAt == nil else { return }
            var v = peakValidations ?? []
            v.append(Validation(iteration: iteration, nll: nll))
            peakValidations = v
            let current = level ?? 0
            let start = levelStart ?? 0
            if phaseEnded(validations: v, iteration: iteration, minimum: current == 0 ? rule.minPeak : 0, since: start) {
                if current >= rule.steps { finishedAt = iteration } else { enterLevel(current + 1, at: iteration) }
            }
            return
        }
        guard kind == .plateau && annealStart == nil && iteration >= warmup else { return }
        let endPeak: Bool
        if let minGain = rule.minGain {
            var peak = peakValidations ?? []
            peak.append(Validation(iteration: iteration, nll: nll))
            peakValidations = peak
            let fitted = max(rule.window, Int((rule.trendFraction * Double(peak.count)).rounded(.up)))
            if iteration >= rule.minPeak && peak.count >= rule.window, let s = Self.slope(Array(peak.suffix(fitted))) {
                endPeak = -s * Double(trendHorizon(at: iteration)) < minGain
            } else {
                endPeak = false
            }
        } else {
            endPeak = stale >= rule.patience
        }
        if endPeak {
            annealStart = iteration
            annealLength = min(annealLength(startingAt: iteration), max(1, budget - iteration))
        }
    }

    /// The least-squares slope of NLL against iteration (nil when the iterations do not vary).
    static func slope(_ v: [Validation]) -> Double? {
        let n = Double(v.count)
        let mx = v.reduce(0) { $0 + Double($1.iteration) } / n, my = v.reduce(0) { $0 + $1.nll } / n
        var sxy = 0.0, sxx = 0.0
        for p in v { let dx = Double(p.iteration) - mx; sxy += dx * (p.nll - my); sxx += dx * dx }
        return sxx > 0 ? sxy / sxx : nil
    }

    /// True once `iterationsDone` iterations end the run: the budget, or the plateau's anneal.
    public func isFinished(iterationsDone: Int) -> Bool {
        if iterationsDone >= budget { return true }
        if let o = overfitAt, iterationsDone >= o { return true }
        if rule.decay != nil && kind == .plateau { return finishedAt.map { iterationsDone >= $0 } ?? false }
        if let s = annealStart { return iterationsDone >= s + annealLength }
        return false
    }

    /// Continues from a saved schedule's validation history (the rates' settings stay this
    /// one's, so a resumed run may be given a larger budget).
    public mutating func resume(from saved: LearningRateSchedule) {
        best = saved.best
        stale = saved.stale
        annealStart = saved.annealStart
        annealLength = saved.annealLength
        recent = saved.recent
        annealHeld = saved.annealHeld
        holdUntil = saved.holdUntil
        peakValidations = saved.peakValidations
        level = saved.level
        levelStart = saved.levelStart
        finishedAt = saved.finishedAt
        overfit = saved.overfit
    }

    /// A short description of where the schedule stands, for progress lines.
    public var phase: String {
        guard kind == .plateau else { return "" }
        if let decay = rule.decay {
            guard let k = level, k > 0 else { return "at peak" }
            return "step \(k) of \(rule.steps) (rate × \(String(format: "%.3g", pow(decay, Double(k)))))"
        }
        if let s = annealStart {
            let held = annealHeld ?? 0
            return "annealing \(s)–\(s + annealLength)" + (held > 0 ? " (rate held \(held) iterations)" : "")
        }
        return "at peak"
    }
}
