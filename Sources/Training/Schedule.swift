#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When the plateau schedule stops holding the peak rate: after `patience` validations in a row
/// that did not improve the best validation NLL by at least `minDelta` nats. The anneal then
/// lasts max(`minAnneal`, `annealFraction` × iterations so far), and training ends with it.
/// It also starts early enough to end within the budget (`training.iters`).
public struct PlateauRule: Codable, Equatable, Sendable {
    public var patience: Int = 3
    public var minDelta: Double = 0.003
    public var annealFraction: Double = 0.5
    public var minAnneal: Int = 300
    public init() {}

    public func validationError() -> String? {
        if patience < 1 { return "--patience must be ≥ 1, got \(patience)" }
        if !(minDelta >= 0 && minDelta.isFinite) { return "--min-delta must be ≥ 0, got \(minDelta)" }
        if !(annealFraction > 0 && annealFraction <= 1) { return "--anneal-fraction must be in (0, 1], got \(annealFraction)" }
        if minAnneal < 1 { return "--min-anneal must be ≥ 1, got \(minAnneal)" }
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
        case .plateau:
            if annealStart == nil && i + annealLength(startingAt: i) >= budget {
                annealStart = i
                annealLength = max(1, budget - i)
            }
            guard let s = annealStart else { return peak }
            return peak * 0.5 * (1 + cos(Double.pi * Double(i - s) / Double(annealLength)))
        }
    }

    func annealLength(startingAt i: Int) -> Int { max(rule.minAnneal, Int(rule.annealFraction * Double(i))) }

    /// Records a validation NLL measured after iteration `iteration` (1-based count done).
    public mutating func observe(validation nll: Double, after iteration: Int) {
        if nll < (best ?? .infinity) - rule.minDelta {
            best = nll
            stale = 0
        } else {
            stale += 1
        }
        if kind == .plateau && annealStart == nil && stale >= rule.patience && iteration >= warmup {
            annealStart = iteration
            annealLength = min(annealLength(startingAt: iteration), max(1, budget - iteration))
        }
    }

    /// True once `iterationsDone` iterations end the run: the budget, or the plateau's anneal.
    public func isFinished(iterationsDone: Int) -> Bool {
        if iterationsDone >= budget { return true }
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
    }

    /// A short description of where the schedule stands, for progress lines.
    public var phase: String {
        guard kind == .plateau else { return "" }
        if let s = annealStart { return "annealing \(s)–\(s + annealLength)" }
        return "at peak"
    }
}
