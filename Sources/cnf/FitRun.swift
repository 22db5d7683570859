import ArgumentParser
import CNFCore
import Networks
import Flow
import Training
import Persistence
import Foundation
import ODE

/// Set by the SIGINT handler; the training loop finishes its iteration, checkpoints and exits.
nonisolated(unsafe) var interruptRequested: sig_atomic_t = 0

/// A training run writing to its folder.
struct FitRun<S: BLASScalar> {
    let config: FitConfig
    let out: String
    let render: Bool
    let threads: Int
    /// Behave as if interrupted once this iteration is done (tests of resume).
    var stopAfter: Int? = nil

    var metricsHeader: String { "iteration,loss,nll,nfe_forward,nfe_backward,seconds,val_nll,lr\n" }

    func run(resumeFrom: (file: SafeTensorsFile, path: String)?) throws {
        let data = try RunData.make(config)
        let trainer = Trainer<S>(config: config, dimension: data.dimension, threads: threads, sampleBatch: data.sampleBatch)
        let validationSet = data.validationPoints(config.validation.size)
        var metrics = metricsHeader
        var bestValidation = Double.infinity
        // The flow trains on standardized points; losses and NLLs are reported in the data's
        // units: −log p_x = −log p_flow − log|det A| (0 for toy sets: their numbers are unchanged).
        let unitShift = data.preprocessing.isIdentity ? 0 : data.preprocessing.standardizer.logAbsDetJacobian
        func inDataUnits(_ nll: Double) -> Double { unitShift == 0 ? nll : nll - unitShift }
        let preprocessingMetadata = data.preprocessing.metadata

        if let (file, path) = resumeFrom {
            try trainer.restore(try Checkpoint.trainingState(from: file, path: path))
            bestValidation = Double(file.metadata["cnf.best_val_nll"] ?? "") ?? .infinity
            // Keep the metrics rows up to the checkpoint.
            if let text = try? String(contentsOfFile: out + "/metrics.csv", encoding: .utf8) {
                var kept = metricsHeader
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                    guard let it = Int(fields.first ?? ""), it <= trainer.iteration else { continue }
                    kept += line + "\n"
                }
                metrics = kept
            }
            say("resuming \(out) at iteration \(trainer.iteration) of at most \(config.training.iters)")
        } else {
            try writeAtomically(try encodeJSON(config), to: out + "/config.json")
            let m = config.model, t = config.training
            say("fitting \(data.name) (d=\(data.dimension)): \(trainer.model.parameterCount) parameters, "
                + "\(m.dims.map(String.init).joined(separator: "-")) \(m.layer.rawValue) \(m.activation.rawValue), "
                + "T \(m.trainTime ? "learned from " : "")\(m.time)\(m.blocks > 1 ? " × \(m.blocks) blocks" : ""), "
                + "\(trainer.divergence.rawValue) trace, \(config.solver.method.rawValue) atol=\(config.solver.atol) rtol=\(config.solver.rtol), "
                + "gradient \(config.gradient.route.rawValue)\(config.gradient.route == .adjoint ? (config.gradient.adjoint.seminorm ? " (seminorm)" : " (full norm)") : ""), "
                + "lr \(t.lr) \(t.schedule.rawValue)\(t.warmup > 0 ? " (warm-up \(t.warmup))" : ""), "
                + "\(t.schedule == .plateau ? "at most " : "")\(t.iters) iterations, "
                + "\(t.ema.map { "EMA \($0), " } ?? "")"
                + "\(m.precision.rawValue), seed \(config.seed) → \(out)")
            if validationSet.isEmpty {
                say("no validation set (--validation-fraction 0): no best.safetensors and no stopping on validation")
            }
        }

        /// Mean NLL of the validation set (exact trace up to the `auto` limit, training
        /// tolerances), on the averaged weights when averaging is on.
        func validationNLL() throws -> Double {
            var g = Xoshiro256(seed: config.seed, stream: .logDensityNoise)
            let divergence: Divergence = data.dimension <= 16 ? .exact : .hutchinson
            let r = try trainer.withAveragedWeights {
                try $0.logDensity(points: validationSet, divergence: divergence, generator: &g,
                                  solve: config.solveOptions, batchSize: 1000)
            }
            return inDataUnits(-r.values.reduce(0, +) / Double(r.values.count))
        }

        func modelFile(averaged: Bool, extra: [String: String]) throws -> Data {
            let extra = extra.merging(preprocessingMetadata) { a, _ in a }
            let write = { (m: CNF<S>) in Data(try Checkpoint.modelFile(m, config: config, extra: extra).encoded()) }
            return averaged ? try trainer.withAveragedWeights(write) : try write(trainer.model)
        }

        func saveCheckpoint() throws {
            let extra = ["cnf.best_val_nll": "\(bestValidation)", "cnf.iteration": "\(trainer.iteration)"]
                .merging(preprocessingMetadata) { a, _ in a }
            try writeAtomically(Data(try Checkpoint.trainingFile(trainer, extra: extra).encoded()),
                                to: out + "/checkpoint.safetensors")
            try writeAtomically(metrics, to: out + "/metrics.csv")
        }

        interruptRequested = 0
        signal(SIGINT) { _ in interruptRequested = 1 }
        defer { signal(SIGINT, SIG_DFL) }

        let progress = Progress(total: config.training.iters, label: "fit")
        var lastLoss = Double.nan, lastValidation = bestValidation
        var sessionSeconds: [Double] = []
        let every = config.validation.every
        while !trainer.isFinished {
            let record: IterationRecord
            do {
                record = try trainer.step()
            } catch {
                progress.finish()
                try saveCheckpoint()
                throw CLIError("training stopped at iteration \(trainer.iteration + 1): \(error). "
                               + "The last good state is in \(out)/checkpoint.safetensors (iteration \(trainer.iteration)).")
            }
            lastLoss = inDataUnits(record.loss)
            sessionSeconds.append(record.seconds)
            var validationField = ""
            let endOfBudget = record.iteration == config.training.iters
            if !validationSet.isEmpty && (record.iteration % every == 0 || endOfBudget) {
                let v = try validationNLL()
                lastValidation = v
                validationField = "\(v)"
                trainer.observe(validation: v)
                if v < bestValidation {
                    bestValidation = v
                    try writeAtomically(try modelFile(averaged: true, extra: ["cnf.iteration": "\(record.iteration)", "cnf.val_nll": "\(v)"]),
                                        to: out + "/best.safetensors")
                }
                if !progress.tty {
                    say(String(format: "iteration %d: validation NLL %.4f nats (best %.4f)%@", record.iteration, v, bestValidation,
                               trainer.schedule.phase.isEmpty ? "" : ", " + trainer.schedule.phase))
                }
            }
            metrics += "\(record.iteration),\(inDataUnits(record.loss)),\(inDataUnits(record.nll)),\(record.forwardNFE),\(record.backwardNFE),"
                + String(format: "%.6f", record.seconds) + ",\(validationField),\(trainer.adam.learningRate)\n"
            if record.iteration % every == 0 { try saveCheckpoint() }
            let validationText = lastValidation.isFinite ? String(format: "%.4f", lastValidation) : "–"
            progress.update(record.iteration, String(format: "loss %.4f  val %@  NFE %d/%d",
                                                     lastLoss, validationText, record.forwardNFE, record.backwardNFE))
            if interruptRequested != 0 || record.iteration == stopAfter {
                progress.finish()
                try saveCheckpoint()
                say("interrupted: saved iteration \(trainer.iteration) to \(out)/checkpoint.safetensors; continue with: cnf fit --resume --out \(out)")
                throw ExitCode(130)
            }
        }
        progress.finish()
        try saveCheckpoint()
        let overfitted = trainer.schedule.overfitAt != nil && FileManager.default.fileExists(atPath: out + "/best.safetensors")
        if overfitted {
            // The overfitting stop: the final weights are the validation-chosen ones.
            try writeAtomically(try Data(contentsOf: URL(fileURLWithPath: out + "/best.safetensors")), to: out + "/model.safetensors")
        } else {
            try writeAtomically(try modelFile(averaged: false, extra: ["cnf.iteration": "\(trainer.iteration)"]),
                                to: out + "/model.safetensors")
        }
        if trainer.average != nil {
            try writeAtomically(try modelFile(averaged: true, extra: ["cnf.iteration": "\(trainer.iteration)", "cnf.weights": "ema"]),
                                to: out + "/ema.safetensors")
        }
        let total = sessionSeconds.reduce(0, +)
        let margin = config.training.plateau.overfitRise ?? 0
        let stopped = overfitted
            ? String(format: " (stopped: overfitting — %d validations in a row more than %g nats above the best while the training NLL fell)",
                     config.training.plateau.window, margin)
            : trainer.iteration < config.training.iters ? " (stopped: validation NLL had settled)" : ""
        say(String(format: "done: %d iterations%@ in %.1f s (this session); last validation NLL %.4f nats, best %.4f",
                   trainer.iteration, stopped, total, lastValidation, bestValidation))
        if overfitted {
            say("model.safetensors holds the weights of the best validation NLL (iteration \(trainer.schedule.lowest?.iteration ?? 0)), "
                + "as best.safetensors; --overfit-rise 0 turns this stop off")
        } else if let rise = FitRun.overfitting(last: lastValidation, best: bestValidation) {
            warn(String(format: "the validation NLL rose %.3f nats above its best (%.4f → %.4f) while training went on: "
                        + "the model is fitting the training rows too closely. cnf eval scores the final weights; "
                        + "--checkpoint best scores the validation-chosen ones; fewer --iters or smaller --dims help",
                        rise, bestValidation, lastValidation))
        }
        try FitRun.afterFit(out: out, render: render, metrics: metrics, floor: data.entropyFloor, threads: threads)
    }
}

extension FitRun {
    /// How far the final validation NLL rose above the best one, when that is a sign of
    /// overfitting rather than noise: more than 0.05 nats and more than 2 % of |best|.
    static func overfitting(last: Double, best: Double) -> Double? {
        guard last.isFinite, best.isFinite else { return nil }
        let rise = last - best
        return rise > max(0.05, 0.02 * abs(best)) ? rise : nil
    }
}
