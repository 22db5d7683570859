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

    var metricsHeader: String { "iteration,loss,nll,nfe_forward,nfe_backward,seconds,test_nll\n" }

    func run(resumeFrom: (file: SafeTensorsFile, path: String)?) throws {
        let data = try RunData.make(config)
        let trainer = Trainer<S>(config: config, dimension: data.dimension, threads: threads, sampleBatch: data.sampleBatch)
        let testSet = data.testPoints(data.testCount.map { min($0, config.testSize) } ?? config.testSize)
        var metrics = metricsHeader
        var bestTest = Double.infinity
        var evalLog: [(Int, Double)] = []

        if let (file, path) = resumeFrom {
            try trainer.restore(try Checkpoint.trainingState(from: file, path: path))
            bestTest = Double(file.metadata["cnf.best_test_nll"] ?? "") ?? .infinity
            // Keep the metrics rows up to the checkpoint.
            if let text = try? String(contentsOfFile: out + "/metrics.csv", encoding: .utf8) {
                var kept = metricsHeader
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                    guard let it = Int(fields.first ?? ""), it <= trainer.iteration else { continue }
                    kept += line + "\n"
                    if fields.count >= 7, let t = Double(fields[6]) { evalLog.append((it, t)) }
                }
                metrics = kept
            }
            say("resuming \(out) at iteration \(trainer.iteration) of \(config.iters)")
        } else {
            try writeAtomically(try encodeJSON(config), to: out + "/config.json")
            say("fitting \(data.name) (d=\(data.dimension)): \(trainer.model.parameterCount) parameters, "
                + "\(config.dims.map(String.init).joined(separator: "-")) \(config.layer.rawValue) \(config.activation.rawValue), "
                + "\(config.trace.rawValue) trace, \(config.solver.rawValue) atol=\(config.atol) rtol=\(config.rtol), "
                + "gradient \(config.gradient.rawValue)\(config.gradient == .adjoint ? (config.seminorm ? " (seminorm)" : " (full norm)") : ""), "
                + "\(config.precision.rawValue), seed \(config.seed) → \(out)")
        }

        func testNLL() throws -> Double {
            var g = Xoshiro256(seed: config.seed, stream: 6)
            let r = try trainer.model.logDensity(points: testSet, divergence: .exact, generator: &g,
                                                 solve: config.solveOptions, batchSize: 1000)
            return -r.values.reduce(0, +) / Double(r.values.count)
        }

        func saveCheckpoint() throws {
            let extra = ["cnf.best_test_nll": "\(bestTest)", "cnf.iteration": "\(trainer.iteration)"]
            try writeAtomically(Data(try Checkpoint.trainingFile(trainer, extra: extra).encoded()),
                                to: out + "/checkpoint.safetensors")
            try writeAtomically(metrics, to: out + "/metrics.csv")
        }

        interruptRequested = 0
        signal(SIGINT) { _ in interruptRequested = 1 }
        defer { signal(SIGINT, SIG_DFL) }

        let progress = Progress(total: config.iters, label: "fit")
        var lastLoss = Double.nan, lastTest = bestTest
        var recentSeconds: [Double] = []
        while trainer.iteration < config.iters {
            let record: IterationRecord
            do {
                record = try trainer.step()
            } catch {
                progress.finish()
                try saveCheckpoint()
                throw CLIError("training stopped at iteration \(trainer.iteration + 1): \(error). "
                               + "The last good state is in \(out)/checkpoint.safetensors (iteration \(trainer.iteration)).")
            }
            lastLoss = record.loss
            recentSeconds.append(record.seconds)
            var testField = ""
            if record.iteration % config.evalEvery == 0 || record.iteration == config.iters {
                let t = try testNLL()
                lastTest = t
                testField = "\(t)"
                evalLog.append((record.iteration, t))
                if t < bestTest {
                    bestTest = t
                    try writeAtomically(Data(try Checkpoint.modelFile(trainer.model, config: config,
                                                                       extra: ["cnf.iteration": "\(record.iteration)", "cnf.test_nll": "\(t)"]).encoded()),
                                        to: out + "/best.safetensors")
                }
                if !progress.tty {
                    say(String(format: "iteration %d: test NLL %.4f nats (best %.4f)", record.iteration, t, bestTest))
                }
            }
            metrics += "\(record.iteration),\(record.loss),\(record.nll),\(record.forwardNFE),\(record.backwardNFE),"
                + String(format: "%.6f", record.seconds) + ",\(testField)\n"
            if record.iteration % config.evalEvery == 0 { try saveCheckpoint() }
            let testText = lastTest.isFinite ? String(format: "%.4f", lastTest) : "–"
            progress.update(record.iteration, String(format: "loss %.4f  test %@  NFE %d/%d",
                                                     lastLoss, testText, record.forwardNFE, record.backwardNFE))
            if interruptRequested != 0 || record.iteration == stopAfter {
                progress.finish()
                try saveCheckpoint()
                say("interrupted: saved iteration \(trainer.iteration) to \(out)/checkpoint.safetensors; continue with: cnf fit --resume --out \(out)")
                throw ExitCode(130)
            }
        }
        progress.finish()
        try saveCheckpoint()
        try writeAtomically(Data(try Checkpoint.modelFile(trainer.model, config: config,
                                                          extra: ["cnf.iteration": "\(trainer.iteration)"]).encoded()),
                            to: out + "/model.safetensors")
        let total = recentSeconds.reduce(0, +)
        say(String(format: "done: %d iterations in %.1f s (this session); final test NLL %.4f nats, best %.4f",
                   recentSeconds.count, total, lastTest, bestTest))
        try FitRun.afterFit(out: out, render: render, metrics: metrics, floor: data.entropyFloor)
    }
}

