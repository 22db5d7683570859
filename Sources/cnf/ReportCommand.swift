import ArgumentParser
import Networks
import Flow
import Training
import Persistence
import Foundation
import Render

/// What `cnf report` reads from one run folder.
struct RunSummary {
    var path: String
    var experiment: String
    var name: String
    var config: FitConfig
    var eval: EvalReport?
    /// `cnf eval --split validation` of the final weights, when it was run (eval-validation.json).
    var validation: EvalReport?
    var iterations: Int
    var totalSeconds: Double
    var medianIterationSeconds: Double
    var meanForwardNFE: Double
    var meanBackwardNFE: Double

    init?(folder: String, root: String) {
        guard let c = try? Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")),
              let config = try? JSONDecoder().decode(FitConfig.self, from: c),
              let metrics = try? String(contentsOfFile: folder + "/metrics.csv", encoding: .utf8) else { return nil }
        self.config = config
        path = folder
        let relative = String(folder.dropFirst(root.count)).split(separator: "/").map(String.init)
        name = relative.last ?? folder
        experiment = relative.count > 1 ? relative.dropLast().joined(separator: "/") : "."
        eval = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/eval.json"))).flatMap {
            try? JSONDecoder().decode(EvalReport.self, from: $0)
        }
        validation = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/eval-validation.json"))).flatMap {
            try? JSONDecoder().decode(EvalReport.self, from: $0)
        }
        var seconds: [Double] = [], fwd: [Double] = [], bwd: [Double] = []
        for line in metrics.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count >= 6, let s = Double(f[5]), let a = Double(f[3]), let b = Double(f[4]) else { continue }
            seconds.append(s); fwd.append(a); bwd.append(b)
        }
        iterations = seconds.count
        totalSeconds = seconds.reduce(0, +)
        medianIterationSeconds = seconds.isEmpty ? .nan : seconds.sorted()[seconds.count / 2]
        // NFE over the last 10 % of training, when the dynamics have settled.
        let tail = max(1, seconds.count / 10)
        meanForwardNFE = fwd.suffix(tail).reduce(0, +) / Double(max(1, min(tail, fwd.count)))
        meanBackwardNFE = bwd.suffix(tail).reduce(0, +) / Double(max(1, min(tail, bwd.count)))
    }

    /// The options that set this run apart from today's defaults, in the CLI's words.
    var settings: String {
        let c = config, d = FitConfig()
        var s: [String] = []
        func differs<T: Equatable>(_ a: T, _ b: T, _ text: @autoclosure () -> String) { if a != b { s.append(text()) } }
        differs(c.model.dims, d.model.dims, "--dims \(c.model.dims.map(String.init).joined(separator: "-"))")
        differs(c.model.blocks, d.model.blocks, "--blocks \(c.model.blocks)")
        differs(c.model.time, d.model.time, "--time \(c.model.time)")
        differs(c.model.trainTime, d.model.trainTime, "--train-time \(c.model.trainTime)")
        differs(c.model.activation, d.model.activation, "--activation \(c.model.activation.rawValue)")
        differs(c.density.trace, d.density.trace, "--trace \(c.density.trace.rawValue)")
        differs(c.gradient.route, d.gradient.route, "--gradient \(c.gradient.route.rawValue)")
        differs(c.gradient.adjoint.seminorm, d.gradient.adjoint.seminorm, "--seminorm \(c.gradient.adjoint.seminorm)")
        if c.solver.atol != d.solver.atol || c.solver.rtol != d.solver.rtol { s.append("tol \(c.solver.atol)/\(c.solver.rtol)") }
        differs(c.solver.method, d.solver.method, "--solver \(c.solver.method.rawValue)")
        if c.density.kinetic != 0 || c.density.jacobian != 0 { s.append("λK \(c.density.kinetic) λJ \(c.density.jacobian)") }
        let t = c.training, dt = d.training
        differs(t.batchSize, dt.batchSize, "batch \(t.batchSize)")
        differs(t.iters, dt.iters, "\(t.iters) it")
        differs(t.lr, dt.lr, "lr \(t.lr)")
        differs(t.schedule, dt.schedule, "lr \(t.schedule.rawValue)")
        differs(t.ema, dt.ema, "ema \(t.ema.map { "\($0)" } ?? "off")")
        differs(t.flowMatching, dt.flowMatching, "--flow-matching \(t.flowMatching)")
        if c.model.trainTime { differs(t.timeRate, dt.timeRate, "--time-rate \(t.timeRate)") }
        if t.schedule == .plateau {
            differs(t.plateau.minGain == nil, dt.plateau.minGain == nil, "--peak-rule \(t.plateau.minGain == nil ? "patience" : "trend")")
            differs(t.plateau.decay, dt.plateau.decay, "--decay \(t.plateau.decay.map { "\($0)" } ?? "0")")
            if t.plateau.decay == nil { differs(t.plateau.extendRate, dt.plateau.extendRate, "--extend-rate \(t.plateau.extendRate)") }
        }
        differs(c.model.precision, d.model.precision, c.model.precision.rawValue)
        return s.isEmpty ? "default" : s.joined(separator: ", ")
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Gather every run under a folder into one Markdown table (and plots).",
        discussion: """
        Finds run folders (config.json + metrics.csv) under --root, reads their eval.json and
        metrics.csv, and writes a Markdown summary: per experiment, test NLL ± s.e. and the gap to
        the entropy floor, NFE per iteration (forward/backward, mean over the last 10 % of
        training), iterations run, median seconds per iteration and total training time. Also writes
        <out>-nll-nfe.png (test NLL against NFE, every run) and, when toy-all runs exist, a
        gallery of their density maps.

        Example:  cnf report --root outputs --out outputs/SUMMARY.md
        """)

    @Option(help: "Folder to search for runs.") var root: String = "outputs"
    @Option(help: "Markdown file to write.") var out: String = "outputs/SUMMARY.md"
    @Flag(help: "Also write <out>.html: every table and picture of the runs (animations included) on one page.") var html = false
    @Flag(help: "With --html: inline the pictures as data: URIs (a page that stands alone; large).") var embed = false

    func run() throws {
        try runReportingErrors {
            let root = URL(fileURLWithPath: self.root).standardizedFileURL.path
            var folders: [String] = []
            let e = FileManager.default.enumerator(atPath: root)
            while let item = e?.nextObject() as? String {
                if item.hasSuffix("/config.json") || item == "config.json" {
                    folders.append(root + "/" + String(item.dropLast("config.json".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")))
                }
            }
            let runs = folders.sorted().compactMap { RunSummary(folder: $0, root: root + "/") }
            guard !runs.isEmpty else { throw CLIError("no runs (config.json + metrics.csv) under \(root)") }
            var md = "# cnf experiment summary\n\nGenerated by `cnf report --root \(self.root)`"
            if let commit = runs.compactMap({ $0.config.provenance.gitCommit }).first { md += " from runs made at commit `\(commit.prefix(12))`" }
            md += ". NLL in nats on the test stream (exact trace, dopri5 1e-8); NFE per training iteration, mean of the last 10 %; time on this machine.\n"
            for experiment in Array(Set(runs.map(\.experiment))).sorted() {
                md += "\n## \(experiment)\n\n"
                // Validation NLLs (what settings are chosen by) when the experiment scored them.
                let withValidation = runs.contains { $0.experiment == experiment && $0.validation != nil }
                md += "| run | data | settings |" + (withValidation ? " validation NLL |" : "")
                    + " test NLL | floor | gap | NFE fwd | NFE bwd | iterations | s/iter | train time |\n"
                md += "|---|---|---|" + (withValidation ? "---|" : "") + "---|---|---|---|---|---|---|---|\n"
                for r in runs where r.experiment == experiment {
                    let nll = r.eval.map { String(format: "%.4f ± %.4f", $0.nll, $0.nllStderr) } ?? "–"
                    let floor = r.eval?.entropyFloor.map { String(format: "%.3f", $0) } ?? "–"
                    let gap = r.eval?.gap.map { String(format: "%+.4f", $0) } ?? "–"
                    let val = withValidation ? " " + (r.validation.map { String(format: "%.4f ± %.4f", $0.nll, $0.nllStderr) } ?? "–") + " |" : ""
                    md += "| \(r.name) | \(r.config.dataName) | \(r.settings) |\(val) \(nll) | \(floor) | \(gap) | "
                        + String(format: "%.1f | %.1f | %d | %.4f | %.0f s |\n", r.meanForwardNFE, r.meanBackwardNFE,
                                 r.iterations, r.medianIterationSeconds, r.totalSeconds)
                }
                let gradientFiles = runs.filter { $0.experiment == experiment }
                    .compactMap { r -> (String, [GradientReport])? in
                        guard let d = try? Data(contentsOf: URL(fileURLWithPath: r.path + "/gradients.json")),
                              let g = try? JSONDecoder().decode([GradientReport].self, from: d) else { return nil }
                        return (r.name, g)
                    }
                for (name, reports) in gradientFiles {
                    md += "\nGradient routes at the weights of `\(name)` (one batch, one noise draw):\n\n"
                    md += "| method | rel. diff. to backprop | s | NFE fwd | NFE bwd | bwd steps | solver memory |\n|---|---|---|---|---|---|---|\n"
                    for g in reports {
                        md += String(format: "| %@ | %.2e | %.4f | %d | %d | %d | %.1f KiB |\n", g.method,
                                     g.relativeDifferenceToBackprop, g.seconds, g.nfeForward, g.nfeBackward,
                                     g.backwardSteps, Double(g.memoryBytes) / 1024)
                    }
                }
            }
            let base = out.hasSuffix(".md") ? String(out.dropLast(3)) : out
            if let plot = nllNFEPlot(runs) {
                try writePNG(plot, to: base + "-nll-nfe.png")
                md += "\n![test NLL against NFE](\(URL(fileURLWithPath: base).lastPathComponent)-nll-nfe.png)\n"
            }
            let gallery = runs.filter { FileManager.default.fileExists(atPath: $0.path + "/density.png") && $0.experiment.hasSuffix("toy-all") }
            if !gallery.isEmpty {
                let images = try gallery.map { try readPNG($0.path + "/density.png") }
                var rows: [Image] = []
                for start in stride(from: 0, to: images.count, by: 4) {
                    rows.append(hstack(Array(images[start..<min(start + 4, images.count)]),
                                       titles: gallery[start..<min(start + 4, gallery.count)].map(\.name)))
                }
                try writePNG(vstack(rows), to: base + "-toy-all.png")
                md += "\n![density maps of the toy-all runs](\(URL(fileURLWithPath: base).lastPathComponent)-toy-all.png)\n"
            }
            try writeAtomically(md, to: out)
            say("wrote \(out) (\(runs.count) runs)")
            if html {
                let page = try HTMLReport.page(runs: runs, root: self.root, pagePath: base + ".html",
                                               pictures: [(base + "-nll-nfe.png", "test NLL against NFE"),
                                                          (base + "-toy-all.png", "density maps of the toy-all runs")],
                                               embed: embed)
                try writeAtomically(page, to: base + ".html")
                say("wrote \(base).html")
            }
        }
    }

    /// Test NLL gap to the floor (or NLL) against NFE per iteration, one colour per experiment.
    func nllNFEPlot(_ runs: [RunSummary]) -> Image? {
        let pts = runs.compactMap { r -> (String, Double, Double)? in
            guard let e = r.eval else { return nil }
            return (r.experiment, r.meanForwardNFE + r.meanBackwardNFE, e.gap ?? e.nll)
        }
        guard pts.count >= 2 else { return nil }
        let xs = pts.map(\.1), ys = pts.map(\.2)
        let (x0, x1) = (xs.min()!, xs.max()!), (y0, y1) = (ys.min()!, ys.max()!)
        let px = max(1, 0.08 * (x1 - x0)), py = max(0.005, 0.08 * (y1 - y0))
        var panel = Panel(extent: Extent(xmin: x0 - px, xmax: x1 + px, ymin: y0 - py, ymax: y1 + py), width: 560, height: 360)
        let experiments = Array(Set(pts.map(\.0))).sorted()
        for (k, ex) in experiments.enumerated() {
            let c = Color.palette[k % Color.palette.count]
            panel.scatter(pts.filter { $0.0 == ex }.map { ($0.1, $0.2) }, color: c, alpha: 0.9, radius: 4)
            panel.legend.append((name: ex, color: c))
        }
        panel.ticks = .nice(5)
        panel.title = "NLL gap vs NFE"
        panel.xLabel = "NFE per iteration (forward + backward)"
        panel.yLabel = "nats above the floor"
        return panel.render()
    }
}
