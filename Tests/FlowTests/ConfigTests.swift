import Foundation
import XCTest
@testable import Training
import ODE
import Networks

/// The nested configuration: round trip, defaults for missing keys, unknown keys refused, and
/// the flat files of cnf 0.1 migrated value for value.
final class ConfigTests: XCTestCase {
    func decode(_ json: String) throws -> FitConfig {
        try JSONDecoder().decode(FitConfig.self, from: Data(json.utf8))
    }

    func testRoundTripKeepsEveryValue() throws {
        var c = FitConfig()
        c.seed = 42
        c.data.dataset = nil
        c.data.file = "points.csv"
        c.data.validationFraction = 0.2
        c.model.dims = [8, 16]
        c.model.activation = .swish
        c.density.trace = .auto
        c.solver.atol = 1e-4
        c.solver.step = 0.01
        c.gradient.adjoint.rtol = 1e-6
        c.training.schedule = .plateau
        c.training.clip = 5
        c.training.ema = 0.99
        c.training.plateau.patience = 7
        c.validation.every = 33
        let back = try JSONDecoder().decode(FitConfig.self, from: JSONEncoder().encode(c))
        XCTAssertEqual(back, c)
        XCTAssertNotEqual(back, FitConfig())
    }

    func testMissingKeysTakeTheDeclaredDefaults() throws {
        let c = try decode("{\"format\": \(FitConfig.currentFormat), \"training\": {\"iters\": 123}, \"solver\": {\"atol\": 0.001}}")
        var expected = FitConfig()
        expected.training.iters = 123
        expected.solver.atol = 0.001
        XCTAssertEqual(c, expected)
        XCTAssertEqual(try decode("{}"), FitConfig())
    }

    func testUnknownKeysAreErrorsNamingTheKeyAndSection() throws {
        XCTAssertThrowsError(try decode(#"{"format": 2, "training": {"itres": 5}}"#)) { error in
            XCTAssertTrue("\(error)".contains("itres"), "\(error)")
            XCTAssertTrue("\(error)".contains("training"), "\(error)")
        }
        XCTAssertThrowsError(try decode(#"{"format": 2, "solver": {"atoll": 1}}"#)) { error in
            XCTAssertTrue("\(error)".contains("atoll"), "\(error)")
        }
        XCTAssertThrowsError(try decode("{\"format\": \(FitConfig.currentFormat + 1)}"))
    }

    /// A cnf 0.3 file (format 3) ended the plateau's peak by the patience rule: read back, it
    /// still does (the trend rule of format 4 would change its run), whatever else it leaves out.
    func testFormatThreeFileKeepsThePatienceRule() throws {
        let three = try decode(#"{"format": 3, "training": {"iters": 123, "schedule": "plateau", "plateau": {"patience": 3}}}"#)
        XCTAssertNil(three.training.plateau.minGain)
        XCTAssertEqual(three.training.ema, FitConfig().training.ema)
        let four = try decode(#"{"format": 4, "training": {"plateau": {"patience": 3}}}"#)
        XCTAssertEqual(four.training.plateau.minGain, PlateauRule().minGain)
        XCTAssertNotNil(four.training.plateau.minGain)
        var patience = FitConfig()
        patience.training.plateau.minGain = nil
        let text = String(decoding: try JSONEncoder().encode(patience), as: UTF8.self)
        XCTAssertTrue(text.contains(#""minGain":null"#), text)
        XCTAssertEqual(try JSONDecoder().decode(FitConfig.self, from: Data(text.utf8)), patience)
    }

    /// A cnf 0.4.0 file (format 4) had no overfitting stop: read back, it still has none (the
    /// stop would change a run whose validation rose), while a format-5 file without the key
    /// gets today's default; null means off and survives a round trip.
    func testFormatFourFileHasNoOverfittingStop() throws {
        let four = try decode(#"{"format": 4, "training": {"plateau": {"patience": 3}}}"#)
        XCTAssertNil(four.training.plateau.overfitRise)
        XCTAssertEqual(four.training.plateau.minGain, PlateauRule().minGain)
        let five = try decode(#"{"format": 5, "training": {"plateau": {"patience": 3}}}"#)
        XCTAssertEqual(five.training.plateau.overfitRise, 0.05)
        var off = FitConfig()
        off.training.plateau.overfitRise = nil
        let text = String(decoding: try JSONEncoder().encode(off), as: UTF8.self)
        XCTAssertTrue(text.contains(#""overfitRise":null"#), text)
        XCTAssertEqual(try JSONDecoder().decode(FitConfig.self, from: Data(text.utf8)), off)
    }

    /// `--preset cnf0.3` is cnf 0.3's default run: the config.json a default `cnf fit` of cnf 0.3
    /// wrote (format 3, copied from a run) reads back as the preset, provenance aside.
    func testPresetCnf03IsTheFormatThreeDefault() throws {
        let written = #"{"data":{"dataset":"8gaussians","testFraction":0.1,"validationFraction":0.1},"density":{"jacobian":0,"kinetic":0,"noise":"rademacher","trace":"auto"},"format":3,"gradient":{"adjoint":{"seminorm":true},"route":"adjoint"},"model":{"activation":"tanh","blocks":1,"dims":[64,64,64],"layer":"concatsquash","precision":"float","time":0.5,"trainTime":true},"provenance":{"cnfVersion":"0.3.0"},"seed":0,"solver":{"atol":0.001,"icoeff":1,"maxFactor":10,"maxSteps":10000,"method":"dopri5","minFactor":0.2,"minStep":0,"pcoeff":0,"rtol":0.001,"safety":0.9},"training":{"batchSize":100,"chunks":2,"clip":null,"ema":0.99,"iters":10000,"lr":0.03,"plateau":{"annealFraction":0.5,"extendRate":0.04,"minAnneal":300,"minDelta":0.005,"patience":3,"window":5},"schedule":"plateau","warmup":100,"weightDecay":1e-05},"validation":{"every":100,"size":2000}}"#
        var old = try decode(written)
        old.provenance = FitConfig().provenance
        XCTAssertEqual(old, FitConfig.Preset.cnf03.config)
        XCTAssertNotEqual(old, FitConfig())
    }

    /// A cnf 0.2 file (format 2) left nil options out and had no anneal extension: read back, it
    /// means what it meant then (EMA off, fixed anneal), whatever today's defaults; today's files
    /// write nil options as null, so they do not depend on the defaults either.
    func testFormatTwoFileKeepsItsMeaningAndNilsAreWritten() throws {
        let two = try decode(#"{"format": 2, "training": {"iters": 123, "schedule": "plateau"}}"#)
        XCTAssertNil(two.training.ema)
        XCTAssertEqual(two.training.plateau.extendRate, 0)
        XCTAssertEqual(two.training.iters, 123)
        XCTAssertEqual(two.format, FitConfig.currentFormat)
        var c = FitConfig()
        c.training.ema = nil
        c.training.clip = nil
        let text = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        XCTAssertTrue(text.contains(#""ema":null"#), text)
        XCTAssertEqual(try JSONDecoder().decode(FitConfig.self, from: Data(text.utf8)), c)
    }

    /// A flat file as cnf 0.1 wrote it: every value lands in its section; what 0.1 lacked is off.
    func testFlatFormatOneFileIsMigrated() throws {
        let flat = """
        {"activation":"elu","atol":0.0001,"batchSize":50,"blocks":2,"chunks":3,"cnfVersion":"0.1.0",
         "data":"x.csv","dims":[32,32],"evalEvery":100,"gradient":"backprop","iters":777,"jacobian":0.5,
         "kinetic":0.25,"layer":"linear","lr":0.002,"lrSchedule":"constant","maxSteps":500,"noise":"gaussian",
         "precision":"double","rtol":0.001,"seed":9,"seminorm":false,"solver":"rk4","step":0.05,
         "testFraction":0.2,"testSize":300,"time":0.7,"trace":"exact","trainTime":true,"weightDecay":0,
         "adjointAtol":1e-6,"gitCommit":"abc"}
        """
        let c = try decode(flat)
        XCTAssertNil(c.data.dataset)
        XCTAssertEqual(c.data.file, "x.csv")
        XCTAssertEqual(c.data.testFraction, 0.2)
        XCTAssertEqual(c.data.validationFraction, 0, "0.1 had no validation split: migrated runs keep their training rows")
        XCTAssertEqual(c.model.dims, [32, 32])
        XCTAssertEqual(c.model.activation, .elu)
        XCTAssertEqual(c.model.layer, .linear)
        XCTAssertEqual(c.model.blocks, 2)
        XCTAssertEqual(c.model.time, 0.7)
        XCTAssertTrue(c.model.trainTime)
        XCTAssertEqual(c.model.precision, .double)
        XCTAssertEqual(c.density.trace, .exact)
        XCTAssertEqual(c.density.noise, .gaussian)
        XCTAssertEqual(c.density.kinetic, 0.25)
        XCTAssertEqual(c.density.jacobian, 0.5)
        XCTAssertEqual(c.solver.method, .rk4)
        XCTAssertEqual(c.solver.atol, 1e-4)
        XCTAssertEqual(c.solver.rtol, 1e-3)
        XCTAssertEqual(c.solver.step, 0.05)
        XCTAssertEqual(c.solver.maxSteps, 500)
        XCTAssertEqual(c.gradient.route, .backprop)
        XCTAssertFalse(c.gradient.adjoint.seminorm)
        XCTAssertEqual(c.gradient.adjoint.atol, 1e-6)
        XCTAssertNil(c.gradient.adjoint.rtol)
        XCTAssertEqual(c.training.iters, 777)
        XCTAssertEqual(c.training.batchSize, 50)
        XCTAssertEqual(c.training.lr, 0.002)
        XCTAssertEqual(c.training.schedule, .constant)
        XCTAssertEqual(c.training.warmup, 0)
        XCTAssertEqual(c.training.weightDecay, 0)
        XCTAssertNil(c.training.clip)
        XCTAssertNil(c.training.ema)
        XCTAssertEqual(c.training.chunks, 3)
        XCTAssertEqual(c.seed, 9)
        XCTAssertEqual(c.validation.every, 100)
        XCTAssertEqual(c.validation.size, 300)
        XCTAssertEqual(c.provenance.gitCommit, "abc")
        XCTAssertEqual(c.format, FitConfig.currentFormat)
    }

    /// A partial flat file means what it meant to cnf 0.1: that version's defaults, not today's.
    func testPartialFlatFileUsesTheOldDefaults() throws {
        let c = try decode(#"{"dataset": "moons", "iters": 50}"#)
        XCTAssertEqual(c.data.dataset, "moons")
        XCTAssertEqual(c.training.iters, 50)
        XCTAssertEqual(c.solver.atol, 1e-5)
        XCTAssertEqual(c.solver.rtol, 1e-5)
        XCTAssertEqual(c.training.lr, 1e-3)
        XCTAssertEqual(c.training.schedule, .cosine)
        XCTAssertEqual(c.density.trace, .hutchinson)
        XCTAssertEqual(c.validation.every, 500)
        XCTAssertThrowsError(try decode(#"{"dataset": "moons", "iterz": 50}"#))
    }

    func testAutoTraceIsExactInLowDimensionsOnly() {
        var d = FitConfig.DensitySection()
        d.trace = .auto
        XCTAssertEqual(d.divergence(dimension: 2), .exact)
        XCTAssertEqual(d.divergence(dimension: FitConfig.Trace.autoExactMaxDimension), .exact)
        XCTAssertEqual(d.divergence(dimension: FitConfig.Trace.autoExactMaxDimension + 1), .hutchinson)
    }
}
