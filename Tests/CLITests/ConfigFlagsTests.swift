import Foundation
import XCTest
import Training
@testable import cnf

/// The library names a bad configuration value by its key path; the command line says it with
/// the flag, and keeps the key path for config.json users.
final class ConfigFlagsTests: XCTestCase {
    func testKeyPathsBecomeFlags() {
        XCTAssertEqual(ConfigFlags.commandLine("training.plateau.patience must be ≥ 1, got 0"),
                       "--patience must be ≥ 1, got 0 (config.json: training.plateau.patience)")
        XCTAssertEqual(ConfigFlags.commandLine("data.dataset and data.file are both set: give one"),
                       "--dataset and --data are both set: give one (config.json: data.dataset, data.file)")
        // A longer key that starts with a shorter one is not cut short; text without keys is kept.
        XCTAssertEqual(ConfigFlags.commandLine("training.iters must be ≥ 0"), "--iters must be ≥ 0 (config.json: training.iters)")
        XCTAssertEqual(ConfigFlags.commandLine("rtol must be positive, got -1"), "rtol must be positive, got -1")
    }

    /// Every check of the configuration names its value by a key path the command line maps to
    /// a flag (no flag spelled in the library), and every mapped flag exists.
    func testEveryCheckNamesAMappedKey() throws {
        var base = FitConfig()
        base.data.dataset = "moons"
        XCTAssertNil(base.validationError())
        let breaks: [(inout FitConfig) -> Void] = [
            { $0.model.blocks = 0 }, { $0.model.dims = [] }, { $0.model.time = 0 }, { $0.training.iters = -1 },
            { $0.training.batchSize = 0 }, { $0.training.lr = 0 }, { $0.training.warmup = -1 },
            { $0.training.weightDecay = -1 }, { $0.training.clip = 0 }, { $0.training.ema = 1 },
            { $0.training.flowMatching = -1 }, { $0.training.timeRate = 0 }, { $0.density.kinetic = -1 },
            { $0.validation.every = 0 }, { $0.validation.size = 1 }, { $0.training.chunks = 0 },
            { $0.data.testFraction = 1 }, { $0.data.validationFraction = -1 }, { $0.data.dropMissing = true },
            { $0.data.file = "x.csv" }, { $0.data.dataset = nil },
            { $0.training.plateau.patience = 0 }, { $0.training.plateau.minDelta = -1 },
            { $0.training.plateau.annealFraction = 0 }, { $0.training.plateau.minAnneal = 0 },
            { $0.training.plateau.window = 1 }, { $0.training.plateau.minGain = -1 },
            { $0.training.plateau.trendFraction = 0 }, { $0.training.plateau.minPeak = -1 },
            { $0.training.plateau.decay = 1 }, { $0.training.plateau.steps = 0 },
            { $0.training.plateau.extendRate = -1 }, { $0.training.plateau.overfitRise = 0 },
        ]
        for (i, breakIt) in breaks.enumerated() {
            var c = base
            breakIt(&c)
            let m = try XCTUnwrap(c.validationError(), "break \(i) was not caught")
            XCTAssertFalse(m.contains("--"), "the library spells a flag: \(m)")
            let cli = ConfigFlags.commandLine(m)
            XCTAssertTrue(cli.contains("--") && cli.contains("(config.json: "), "no mapped key in: \(m)")
        }
        let help = try CLI.run(["fit", "--help"]).stdout
        for flag in Set(ConfigFlags.flags.values) {
            XCTAssertTrue(help.contains(flag + " ") || help.contains(flag + "\n") || help.contains(flag + ","),
                          "\(flag) is not an option of cnf fit")
        }
    }

    func testFitSaysTheFlag() throws {
        let dir = CLI.temporaryFolder()
        let r = try CLI.run(["fit", "--dataset", "moons", "--patience", "0", "--out", dir + "/r"])
        assertOneErrorLine(r, contains: ["--patience must be ≥ 1, got 0", "training.plateau.patience"])
    }
}

extension ConfigFlagsTests {
    /// Messages pass through the mapping once whatever path they take (a command's check, then
    /// the top-level error printer): said twice, they do not change.
    func testMappingIsIdempotent() throws {
        let once = ConfigFlags.commandLine("data.testFraction must be in (0, 1), got 1.0")
        XCTAssertEqual(ConfigFlags.commandLine(once), once)
        let r = try CLI.run(["fit", "--dataset", "moons", "--test-fraction", "1", "--out", CLI.temporaryFolder() + "/r"])
        assertOneErrorLine(r, contains: ["--test-fraction must be in (0, 1), got 1.0 (config.json: data.testFraction)"])
        XCTAssertEqual(r.stderr.components(separatedBy: "config.json:").count, 2, r.stderr)
    }
}
