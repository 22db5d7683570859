import Foundation
import Render

extension FitRun {
    /// What a finished fit writes besides the weights: loss.png, eval.json, and with --render the
    /// density map, comparison, samples and sequence.
    static func afterFit(out: String, render: Bool, metrics: String, floor: Double?, threads: Int) throws {
        if let image = Pictures.lossPlot(metricsCSV: metrics, floor: floor) {
            try writePNG(image, to: out + "/loss.png")
        }
        let report = try Eval.evaluate(folder: out, threads: threads)
        try writeAtomically(try encodeJSON(report), to: out + "/eval.json")
        var line = String(format: "test NLL %.4f ± %.4f nats (n = %d, exact trace, atol = rtol = 1e-8)",
                          report.nll, report.nllStderr, report.n)
        if report.entropyFloorRows == nil, let f = report.entropyFloor, let g = report.gap {
            line += String(format: "; floor %.3f, gap %.4f", f, g)
        }
        say(line)
        if report.entropyFloorRows != nil || report.gaussianNll != nil || report.entropyFloorWithheld != nil {
            for l in Eval.reportLines(report) { say(l) }
        }
        if render {
            try Render.render(run: out, grid: 512, range: nil, colormap: .viridis, samples: 100_000, checkpoint: "model",
                              threads: threads)
            try Sample.sample(run: out, n: 100_000, out: nil, frames: Sequences.defaultFrames, particles: 300, range: nil,
                              colormap: .viridis, seed: nil, checkpoint: "model", threads: threads,
                              densityGrid: 128)
        }
    }
}
