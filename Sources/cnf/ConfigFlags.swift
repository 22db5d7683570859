import Foundation

/// The command line's names for the configuration's keys. The library checks a configuration
/// and names what is wrong by its key path (`training.plateau.patience must be ≥ 1, got 0`);
/// the command line says it with the flag the user typed, and keeps the key path for those who
/// wrote a config.json.
enum ConfigFlags {
    static let flags: [String: String] = [
        "data.dataset": "--dataset", "data.file": "--data", "data.testFraction": "--test-fraction",
        "data.validationFraction": "--validation-fraction", "data.standardize": "--standardize",
        "data.dequantize": "--dequantize", "data.dropMissing": "--drop-missing",
        "model.dims": "--dims", "model.blocks": "--blocks", "model.time": "--time",
        "density.kinetic": "--kinetic", "density.jacobian": "--jacobian", "solver.atol": "--atol", "solver.rtol": "--rtol",
        "training.iters": "--iters", "training.batchSize": "--batch-size", "training.lr": "--lr",
        "training.warmup": "--warmup", "training.weightDecay": "--weight-decay", "training.clip": "--clip",
        "training.ema": "--ema", "training.flowMatching": "--flow-matching", "training.timeRate": "--time-rate",
        "training.chunks": "--chunks", "validation.every": "--eval-every", "validation.size": "--validation-size",
        "training.plateau.patience": "--patience", "training.plateau.minDelta": "--min-delta",
        "training.plateau.annealFraction": "--anneal-fraction", "training.plateau.minAnneal": "--min-anneal",
        "training.plateau.window": "--window", "training.plateau.minGain": "--min-gain",
        "training.plateau.trendFraction": "--trend-fraction", "training.plateau.minPeak": "--min-peak",
        "training.plateau.decay": "--decay", "training.plateau.steps": "--steps",
        "training.plateau.extendRate": "--extend-rate", "training.plateau.overfitRise": "--overfit-rise",
    ]

    /// `message` with each key path it names replaced by its flag, and the key paths listed at
    /// the end: "--patience must be ≥ 1, got 0 (config.json: training.plateau.patience)".
    static func commandLine(_ message: String) -> String {
        if message.contains("(config.json: ") { return message }   // already said
        var out = message
        var named: [(position: Int, key: String)] = []
        for (key, flag) in flags {
            let pattern = "(?<![A-Za-z0-9_.])" + NSRegularExpression.escapedPattern(for: key) + "(?![A-Za-z0-9_])"
            guard let re = try? NSRegularExpression(pattern: pattern),
                  let first = re.firstMatch(in: message, range: NSRange(message.startIndex..., in: message)) else { continue }
            named.append((first.range.location, key))
            out = re.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out),
                                              withTemplate: NSRegularExpression.escapedTemplate(for: flag))
        }
        guard !named.isEmpty else { return message }
        return out + " (config.json: " + named.sorted { $0.position < $1.position }.map(\.key).joined(separator: ", ") + ")"
    }
}
