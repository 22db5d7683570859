import Foundation
import XCTest
@testable import Training

final class ScheduleTests: XCTestCase {
    func section(_ kind: FitConfig.Schedule, iters: Int = 1000, warmup: Int = 0) -> FitConfig.TrainingSection {
        var t = FitConfig.TrainingSection()
        t.schedule = kind
        t.iters = iters
        t.warmup = warmup
        t.lr = 0.01
        t.plateau.patience = 2
        t.plateau.minDelta = 0.01
        t.plateau.annealFraction = 0.5
        t.plateau.minAnneal = 50
        t.plateau.minGain = nil      // the patience rule (cnf 0.3); the trend rule has its own tests
        t.plateau.decay = nil        // the cosine anneal (cnf 0.3); the step anneal has its own tests
        return t
    }

    func trendSection(iters: Int = 10_000) -> FitConfig.TrainingSection {
        var t = section(.plateau, iters: iters)
        t.plateau.minGain = 0.01
        t.plateau.trendFraction = 0.5
        t.plateau.window = 3
        t.plateau.minPeak = 300
        return t
    }

    /// The trend rule: the slope of the last max(window, ⌈fraction × n⌉) peak validations,
    /// times the horizon max(100, fraction × i), is the projected gain; the peak
    /// ends when it falls below minGain, and never before minPeak.
    func testTrendRuleEndsThePeakWhenTheProjectedGainIsSmall() {
        var s = LearningRateSchedule(trendSection())
        // Flat from the start: no end before minPeak (300), then at once.
        s.observe(validation: 3.0, after: 100)
        s.observe(validation: 3.0, after: 200)
        XCTAssertNil(s.annealStart)
        s.observe(validation: 3.0, after: 300)
        XCTAssertEqual(s.annealStart, 300)
        XCTAssertEqual(s.annealLength, 150)

        // Falling by 1e-4 per iteration: at i the projected gain is 1e-4 × 0.5 i ≥ 0.015 > 0.01.
        var f = LearningRateSchedule(trendSection())
        var nll = 3.0
        for k in 1...20 { nll -= 0.01; f.observe(validation: nll, after: 100 * k) }
        XCTAssertNil(f.annealStart)
        // Then the fall slows to 1e-6 per iteration: once the fitted window (half of the peak's
        // validations) has forgotten the fast part enough, the gain over 0.5 i drops below 0.01.
        var k = 20, ended: Int? = nil
        while ended == nil && k < 200 {
            k += 1; nll -= 1e-4; f.observe(validation: nll, after: 100 * k)
            ended = f.annealStart
        }
        // Window after n peak validations: ⌈n/2⌉ of them. The LS slope over a window of w
        // points, j of them slow (1e-6/it) and the rest fast (1e-4/it), first gives
        // −s · 50 k < 0.01 at k = 37: computed here independently of the schedule.
        func projected(_ n: Int) -> Double {
            let w = max(3, (n + 1) / 2)
            let pts = (n - w + 1...n).map { m -> (Double, Double) in
                let v = m <= 20 ? 3.0 - 0.01 * Double(m) : 2.8 - 1e-4 * Double(m - 20)
                return (Double(100 * m), v)
            }
            let mx = pts.map(\.0).reduce(0, +) / Double(w), my = pts.map(\.1).reduce(0, +) / Double(w)
            let sxy = pts.map { ($0.0 - mx) * ($0.1 - my) }.reduce(0, +), sxx = pts.map { ($0.0 - mx) * ($0.0 - mx) }.reduce(0, +)
            return -(sxy / sxx) * max(100, 0.5 * Double(100 * n))
        }
        let expected = (21...200).first { projected($0) < 0.01 }!
        XCTAssertEqual(ended, 100 * expected)
        XCTAssertGreaterThan(expected, 21)
    }

    func stepSection(iters: Int = 10_000) -> FitConfig.TrainingSection {
        var t = trendSection(iters: iters)
        t.plateau.decay = 0.5
        t.plateau.steps = 2
        t.plateau.minAnneal = 100
        return t
    }

    /// The step anneal: each phase (the peak, then each lower rate) ends by the trend rule fitted
    /// to that phase's validations alone; the rate halves at each end (decay 0.5), and the end
    /// of the last step (2) ends the run.
    func testStepAnnealLowersTheRateWhenEachPhaseSettles() {
        var s = LearningRateSchedule(stepSection())
        XCTAssertEqual(s.rate(at: 0), 0.01)
        // Peak: improving fast until 1000 (projected gain ≥ 0.01), then flat → ends at the first
        // validation whose fitted window (half the peak's validations, ≥ 3) is flat enough.
        var nll = 3.0, k = 0
        while s.annealStart == nil {
            k += 1
            if k <= 10 { nll -= 0.01 }
            s.observe(validation: nll, after: 100 * k)
            XCTAssertLessThan(k, 100)
        }
        let peakEnd = 100 * k
        XCTAssertGreaterThan(peakEnd, 1000)
        XCTAssertEqual(s.level, 1)
        XCTAssertEqual(s.rate(at: peakEnd), 0.005)
        // Step 1 does not end before it has `window` (3) validations of its own, however flat.
        s.observe(validation: nll, after: peakEnd + 100)
        s.observe(validation: nll, after: peakEnd + 200)
        XCTAssertEqual(s.level, 1)
        s.observe(validation: nll, after: peakEnd + 300)
        XCTAssertEqual(s.level, 2)
        XCTAssertEqual(s.rate(at: peakEnd + 300), 0.0025)
        XCTAssertFalse(s.isFinished(iterationsDone: peakEnd + 300))
        // Step 2 still gaining 1e-4 per iteration holds; flat, it ends the run.
        for j in 4...6 { nll -= 0.01; s.observe(validation: nll, after: peakEnd + 100 * j) }
        XCTAssertNil(s.finishedAt)
        for j in 7...20 where s.finishedAt == nil { s.observe(validation: nll, after: peakEnd + 100 * j) }
        let end = s.finishedAt!
        XCTAssertEqual(s.level, 2)
        XCTAssertFalse(s.isFinished(iterationsDone: end - 1))
        XCTAssertTrue(s.isFinished(iterationsDone: end))
    }

    /// Near the budget the remaining steps are forced, minAnneal (100) iterations each, so the
    /// run ends at the lowest rate whatever validation says.
    func testStepAnnealIsForcedNearTheBudget() {
        var s = LearningRateSchedule(stepSection(iters: 1000))
        // Always improving: no phase ends by itself.
        var rates: [Double] = []
        for i in 0..<1000 {
            rates.append(s.rate(at: i))
            if i % 100 == 99 { s.observe(validation: 10 - Double(i) / 100, after: i + 1) }
        }
        XCTAssertEqual(rates[799], 0.01)
        XCTAssertEqual(rates[800], 0.005)          // 1000 − 2 × 100
        XCTAssertEqual(rates[899], 0.005)
        XCTAssertEqual(rates[900], 0.0025)
        XCTAssertEqual(rates[999], 0.0025)
        XCTAssertTrue(s.isFinished(iterationsDone: 1000))
    }

    /// The trend rule's history is part of the saved state: a resumed run ends its peak where
    /// an uninterrupted one does.
    func testTrendRuleStateResumes() throws {
        var a = LearningRateSchedule(trendSection())
        var b = LearningRateSchedule(trendSection())
        var nll = 3.0
        for k in 1...60 {
            nll -= k < 30 ? 0.01 : 0.00005
            a.observe(validation: nll, after: 100 * k)
            if k == 25 {
                let saved = try JSONDecoder().decode(LearningRateSchedule.self, from: try JSONEncoder().encode(b))
                b = LearningRateSchedule(trendSection())
                b.resume(from: saved)
            }
            b.observe(validation: nll, after: 100 * k)
        }
        XCTAssertNotNil(a.annealStart)
        XCTAssertEqual(a, b)
        // The same for the step anneal (level, its start and validations, the end).
        var c = LearningRateSchedule(stepSection()), d = LearningRateSchedule(stepSection())
        nll = 3.0
        for k in 1...80 {
            nll -= k < 20 ? 0.01 : 0.00001
            _ = c.rate(at: 100 * k - 1); _ = d.rate(at: 100 * k - 1)
            c.observe(validation: nll, after: 100 * k)
            if k == 30 {
                let saved = try JSONDecoder().decode(LearningRateSchedule.self, from: try JSONEncoder().encode(d))
                d = LearningRateSchedule(stepSection())
                d.resume(from: saved)
            }
            d.observe(validation: nll, after: 100 * k)
        }
        XCTAssertNotNil(c.finishedAt)
        XCTAssertEqual(c, d)
    }

    func testWarmUpIsLinearThenCosineMatchesItsFormula() {
        var s = LearningRateSchedule(section(.cosine, iters: 1000, warmup: 10))
        XCTAssertEqual(s.rate(at: 0), 0.001, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 4), 0.005, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 9), 0.01, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 500), 0.005, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 999), 0.01 * 0.5 * (1 + cos(Double.pi * 999 / 1000)))
        var c = LearningRateSchedule(section(.constant))
        XCTAssertEqual(c.rate(at: 777), 0.01)
        XCTAssertFalse(c.isFinished(iterationsDone: 999))
        XCTAssertTrue(c.isFinished(iterationsDone: 1000))
    }

    /// Held at the peak while validation improves; after `patience` stale validations a cosine
    /// anneal of max(minAnneal, fraction × done) iterations, and the run ends with it.
    func testPlateauAnnealsAfterPatienceStaleValidationsAndStops() {
        var s = LearningRateSchedule(section(.plateau, iters: 10_000))
        for i in 0..<100 { XCTAssertEqual(s.rate(at: i), 0.01) }
        s.observe(validation: 3.0, after: 100)
        s.observe(validation: 2.9, after: 200)     // improved by ≥ 0.01
        s.observe(validation: 2.895, after: 300)   // stale 1 (improvement below minDelta)
        XCTAssertNil(s.annealStart)
        s.observe(validation: 2.899, after: 400)   // stale 2 → anneal
        XCTAssertEqual(s.annealStart, 400)
        XCTAssertEqual(s.annealLength, 200)        // 0.5 × 400
        XCTAssertEqual(s.rate(at: 400), 0.01, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 500), 0.005, accuracy: 1e-12)
        XCTAssertFalse(s.isFinished(iterationsDone: 599))
        XCTAssertTrue(s.isFinished(iterationsDone: 600))
    }

    /// During the anneal, a validation slope (over the window, here 2 validations: the last
    /// gain) steeper than extendRate per 1000 iterations holds the rate for the next interval and
    /// moves the end as much; a small gain does not; no hold goes past the budget.
    func testAnnealHoldsItsRateWhileValidationStillGains() {
        var t = section(.plateau, iters: 10_000)
        t.plateau.extendRate = 0.04                 // 0.004 nats per 100 iterations
        t.plateau.window = 2
        var s = LearningRateSchedule(t)
        s.observe(validation: 3.0, after: 100)
        s.observe(validation: 3.0, after: 200)
        s.observe(validation: 3.0, after: 300)     // stale 2 → anneal 300–450
        XCTAssertEqual(s.annealStart, 300)
        XCTAssertEqual(s.annealLength, 150)
        for i in 300..<400 { _ = s.rate(at: i) }
        let before = s.rate(at: 399)
        s.observe(validation: 2.99, after: 400)    // gained 0.01 > 0.004: hold 400–500
        XCTAssertEqual(s.annealLength, 250)
        for i in 400..<500 { XCTAssertEqual(s.rate(at: i), s.rate(at: 400)) }
        XCTAssertEqual(s.rate(at: 400), 0.01 * 0.5 * (1 + cos(Double.pi * 100 / 150)), accuracy: 1e-15)
        XCTAssertLessThan(s.rate(at: 400), before + 1e-15)
        XCTAssertEqual(s.rate(at: 501), 0.01 * 0.5 * (1 + cos(Double.pi * 101 / 150)), accuracy: 1e-15)
        s.observe(validation: 2.988, after: 500)   // gained 0.002 < 0.004: anneals on
        XCTAssertEqual(s.annealLength, 250)
        XCTAssertFalse(s.isFinished(iterationsDone: 549))
        XCTAssertTrue(s.isFinished(iterationsDone: 550))

        // Near the budget the hold is cut to what is left, and the run ends at the budget.
        var u = LearningRateSchedule(t.with(iters: 460))
        u.observe(validation: 3.0, after: 100)
        u.observe(validation: 3.0, after: 200)
        u.observe(validation: 3.0, after: 300)     // anneal 300–450
        u.observe(validation: 2.9, after: 400)     // hold cut to 10
        XCTAssertEqual(u.annealStart! + u.annealLength, 460)
        XCTAssertTrue(u.isFinished(iterationsDone: 460))
    }

    /// The slope is the least-squares one, and a window reaching back before the anneal's start
    /// (the peak phase) never holds.
    func testSlopeIsLeastSquaresAndWindowStaysInTheAnneal() {
        let v = [(100, 3.0), (200, 2.0), (300, 2.5)].map { LearningRateSchedule.Validation(iteration: $0.0, nll: $0.1) }
        XCTAssertEqual(LearningRateSchedule.slope(v)!, -0.0025, accuracy: 1e-15)
        var t = section(.plateau, iters: 10_000)
        t.plateau.window = 3
        var s = LearningRateSchedule(t)
        s.observe(validation: 3.0, after: 100)
        s.observe(validation: 3.0, after: 200)
        s.observe(validation: 3.0, after: 300)     // anneal 300–450
        s.observe(validation: 2.0, after: 400)     // window 200–400 starts before 300: no hold
        XCTAssertEqual(s.annealLength, 150)
        s.observe(validation: 1.0, after: 500)     // window 300–500, steep: hold
        XCTAssertEqual(s.annealLength, 250)
    }

    func testPlateauAnnealEndsWithinTheBudget() {
        var s = LearningRateSchedule(section(.plateau, iters: 300))
        // Always improving: the anneal must still start so that it ends at the budget.
        var start: Int? = nil
        for i in 0..<300 {
            _ = s.rate(at: i)
            if start == nil, let a = s.annealStart { start = a }
            if i % 10 == 9 { s.observe(validation: 10 - Double(i) / 10, after: i + 1) }
        }
        XCTAssertEqual(start, 200)                 // 200 + max(50, 0.5 × 200) = 300
        XCTAssertEqual(s.annealStart! + s.annealLength, 300)
        XCTAssertTrue(s.isFinished(iterationsDone: 300))
    }

    func overfitSection() -> FitConfig.TrainingSection {
        var t = section(.plateau, iters: 10_000)
        t.plateau.overfitRise = 0.05
        t.plateau.window = 3
        t.plateau.patience = 1000         // the peak never ends: only the overfitting stop can
        return t
    }

    /// Feeds one validation interval of 100 iterations: each iteration's training NLL, then the
    /// validation NLL.
    func interval(_ s: inout LearningRateSchedule, after iteration: Int, training: Double, validation: Double) {
        for _ in 0..<100 { s.record(training: training) }
        s.observe(validation: validation, after: iteration)
    }

    /// The overfitting stop: `window` validations in a row more than `overfitRise` above the
    /// lowest, each while the interval's mean training NLL is below the lowest's interval's.
    func testOverfittingStopNeedsValidationUpAndTrainingDown() {
        // Held-out NLL rises while training falls (iris-like): stops at the third such validation.
        var s = LearningRateSchedule(overfitSection())
        interval(&s, after: 100, training: 3.0, validation: 2.5)
        interval(&s, after: 200, training: 2.0, validation: 2.0)                // the lowest
        interval(&s, after: 300, training: 1.9, validation: 2.06)
        interval(&s, after: 400, training: 1.8, validation: 2.1)
        XCTAssertNil(s.overfitAt)
        XCTAssertFalse(s.isFinished(iterationsDone: 400))
        interval(&s, after: 500, training: 1.7, validation: 2.2)
        XCTAssertEqual(s.overfitAt, 500)
        XCTAssertTrue(s.isFinished(iterationsDone: 500))
        XCTAssertEqual(s.lowest?.iteration, 200)

        // A rise within the margin, or a new lowest, restarts the count.
        var m = LearningRateSchedule(overfitSection())
        interval(&m, after: 100, training: 2.0, validation: 2.0)
        interval(&m, after: 200, training: 1.9, validation: 2.1)
        interval(&m, after: 300, training: 1.8, validation: 2.04)               // within 0.05
        interval(&m, after: 400, training: 1.7, validation: 2.1)
        interval(&m, after: 500, training: 1.6, validation: 2.1)
        XCTAssertNil(m.overfitAt)
        interval(&m, after: 600, training: 1.5, validation: 2.1)
        XCTAssertEqual(m.overfitAt, 600)

        // Validation and training rising together (a high rate unsettling the fit, as on toy
        // sets): never a stop.
        var u = LearningRateSchedule(overfitSection())
        interval(&u, after: 100, training: 2.0, validation: 2.0)
        for k in 2...10 { interval(&u, after: 100 * k, training: 2.0 + 0.1 * Double(k), validation: 2.0 + 0.1 * Double(k)) }
        XCTAssertNil(u.overfitAt)

        // Off (nil, format ≤ 4 files) and on other schedules: never a stop.
        var t = overfitSection()
        t.plateau.overfitRise = nil
        var off = LearningRateSchedule(t)
        var cos = LearningRateSchedule(overfitSection().with(schedule: .cosine))
        for k in 1...10 {
            interval(&off, after: 100 * k, training: 2.0 - 0.1 * Double(k), validation: 2.0 + 0.1 * Double(k))
            interval(&cos, after: 100 * k, training: 2.0 - 0.1 * Double(k), validation: 2.0 + 0.1 * Double(k))
        }
        XCTAssertNil(off.overfitAt)
        XCTAssertNil(cos.overfitAt)
    }

    /// An interrupt between two validations resumes with the interval's training sum, so the
    /// stop comes at the same iteration.
    func testOverfittingStopResumesMidInterval() throws {
        var whole = LearningRateSchedule(overfitSection())
        var parts = LearningRateSchedule(overfitSection())
        interval(&whole, after: 100, training: 2.0, validation: 2.0)
        interval(&parts, after: 100, training: 2.0, validation: 2.0)
        for k in 2...4 {
            for i in 0..<100 {
                let x = 2.0 - 0.01 * Double(k) - 1e-4 * Double(i)
                whole.record(training: x)
                parts.record(training: x)
                if k == 3 && i == 41 {
                    let saved = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(parts))
                    parts = LearningRateSchedule(overfitSection())
                    parts.resume(from: saved)
                }
            }
            whole.observe(validation: 2.0 + 0.1 * Double(k), after: 100 * k)
            parts.observe(validation: 2.0 + 0.1 * Double(k), after: 100 * k)
        }
        XCTAssertEqual(whole.overfitAt, 400)
        XCTAssertEqual(parts, whole)
    }

    func testStateSurvivesEncodingForResume() throws {
        var s = LearningRateSchedule(section(.plateau, iters: 10_000))
        s.observe(validation: 2, after: 100)
        s.observe(validation: 2, after: 200)
        s.observe(validation: 2, after: 300)
        let data = try JSONEncoder().encode(s)
        let back = try JSONDecoder().decode(LearningRateSchedule.self, from: data)
        XCTAssertEqual(back, s)
        var fresh = LearningRateSchedule(section(.plateau, iters: 10_000))
        fresh.resume(from: back)
        XCTAssertEqual(fresh, s)
        XCTAssertEqual(fresh.rate(at: 350), s.rate(at: 350))
    }
}

extension FitConfig.TrainingSection {
    func with(iters: Int) -> Self { var t = self; t.iters = iters; return t }
    func with(schedule: FitConfig.Schedule) -> Self { var t = self; t.schedule = schedule; return t }
}
