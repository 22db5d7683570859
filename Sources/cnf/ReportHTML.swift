import Foundation

/// `cnf report --html`: one page with every table and picture of the runs under a folder.
///
/// Pictures are linked by relative path (the run tree sits beside the page) or, with
/// `embed`, inlined as `data:` URIs so the page stands alone. Each run links its config.json.
enum HTMLReport {
    /// The pictures a run folder may hold, in page order, with captions.
    static let runPictures: [(file: String, caption: String)] = [
        ("loss.png", "training loss"),
        ("compare.png", "data | model density | model samples"),
        ("density.png", "model density"),
        ("samples.png", "samples"),
        ("sequence_animated.png", "sample sequence (animated)"),
        ("density_sequence_animated.png", "density sequence (animated)"),
        ("sequence.png", "sample sequence"),
        ("density_sequence.png", "density sequence"),
        ("trajectories.png", "trajectories"),
    ]

    /// A run's name on the page: `experiment/name`, or just `name` for a run directly under
    /// the root (experiment "."), as a sweep's runs are.
    static func runTitle(_ r: RunSummary) -> String {
        r.experiment == "." ? r.name : r.experiment + "/" + r.name
    }

    /// An `id` attribute for the run's section (the table links to it).
    static func anchor(_ r: RunSummary) -> String {
        escape(runTitle(r).replacingOccurrences(of: " ", with: "_"))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// `path` as the page at `page` should refer to it: relative when below the page's folder.
    static func link(_ path: String, from page: String) -> String {
        let folder = URL(fileURLWithPath: page).standardizedFileURL.deletingLastPathComponent().path + "/"
        let full = URL(fileURLWithPath: path).standardizedFileURL.path
        let rel = full.hasPrefix(folder) ? String(full.dropFirst(folder.count)) : URL(fileURLWithPath: full).absoluteString
        return rel.split(separator: "/").map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String($0) }
            .joined(separator: "/")
    }

    static func source(_ path: String, page: String, embed: Bool) throws -> String {
        guard embed else { return escape(link(path, from: page)) }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read picture '\(path)'") }
        return "data:image/png;base64," + data.base64EncodedString()
    }

    static func figure(_ path: String, caption: String, page: String, embed: Bool) throws -> String {
        "<figure><img src=\"\(try source(path, page: page, embed: embed))\" alt=\"\(escape(caption))\"><figcaption>\(escape(caption))</figcaption></figure>\n"
    }

    /// The page. `pictures` are report-wide figures (NLL vs NFE, the toy-all gallery).
    static func page(runs: [RunSummary], root: String, pagePath: String, pictures: [(path: String, caption: String)],
                     embed: Bool) throws -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>cnf report: \(escape(root))</title>
        <style>
        body { font-family: "DejaVu Sans", sans-serif; margin: 2em; color: #222; max-width: 1800px; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 14px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
        th { background: #f0f0f0; } td:nth-child(-n+3) { text-align: left; }
        figure { display: inline-block; margin: 0 1em 1em 0; vertical-align: top; }
        figure img { max-width: 100%; } figcaption { font-size: 13px; color: #555; }
        section.run { border-top: 1px solid #ddd; padding-top: 0.5em; }
        </style></head><body>
        <h1>cnf report</h1>
        <p>\(runs.count) runs under <code>\(escape(root))</code>. NLL in nats on the test stream (exact trace, dopri5 1e-8);
        NFE per training iteration, mean of the last 10 %; time on the machine that ran them.</p>\n
        """
        for (path, caption) in pictures where FileManager.default.fileExists(atPath: path) {
            h += try figure(path, caption: caption, page: pagePath, embed: embed)
        }
        for experiment in Array(Set(runs.map(\.experiment))).sorted() {
            let group = runs.filter { $0.experiment == experiment }
            h += "<h2>\(escape(experiment == "." ? "runs" : experiment))</h2>\n<table><tr><th>run</th><th>data</th><th>settings</th><th>test NLL</th><th>floor</th><th>gap</th><th>NFE fwd</th><th>NFE bwd</th><th>iterations</th><th>s/iter</th><th>train time</th><th>config</th></tr>\n"
            for r in group {
                let nll = r.eval.map { String(format: "%.4f ± %.4f", $0.nll, $0.nllStderr) } ?? "–"
                let floor = r.eval?.entropyFloor.map { String(format: "%.3f", $0) } ?? "–"
                let gap = r.eval?.gap.map { String(format: "%+.4f", $0) } ?? "–"
                h += "<tr><td><a href=\"#\(anchor(r))\">\(escape(r.name))</a></td><td>\(escape(r.config.dataName))</td><td>\(escape(r.settings))</td>"
                h += "<td>\(nll)</td><td>\(floor)</td><td>\(gap)</td>"
                h += String(format: "<td>%.1f</td><td>%.1f</td><td>%d</td><td>%.4f</td><td>%.0f s</td>", r.meanForwardNFE, r.meanBackwardNFE,
                            r.iterations, r.medianIterationSeconds, r.totalSeconds)
                h += "<td><a href=\"\(escape(link(r.path + "/config.json", from: pagePath)))\">config.json</a></td></tr>\n"
            }
            h += "</table>\n"
            for r in group {
                h += "<section class=\"run\" id=\"\(anchor(r))\"><h3>\(escape(runTitle(r)))</h3>\n"
                h += "<p>\(escape(r.settings)) · <a href=\"\(escape(link(r.path + "/config.json", from: pagePath)))\">config.json</a></p>\n"
                if let d = try? Data(contentsOf: URL(fileURLWithPath: r.path + "/gradients.json")),
                   let reports = try? JSONDecoder().decode([GradientReport].self, from: d) {
                    h += "<table><tr><th>method</th><th>rel. diff. to backprop</th><th>s</th><th>NFE fwd</th><th>NFE bwd</th><th>bwd steps</th><th>solver memory</th></tr>\n"
                    for g in reports {
                        h += String(format: "<tr><td>%@</td><td>%.2e</td><td>%.4f</td><td>%d</td><td>%d</td><td>%d</td><td>%.1f KiB</td></tr>\n",
                                    escape(g.method), g.relativeDifferenceToBackprop, g.seconds, g.nfeForward,
                                    g.nfeBackward, g.backwardSteps, Double(g.memoryBytes) / 1024)
                    }
                    h += "</table>\n"
                }
                for (file, caption) in runPictures where FileManager.default.fileExists(atPath: r.path + "/" + file) {
                    h += try figure(r.path + "/" + file, caption: caption, page: pagePath, embed: embed)
                }
                h += "</section>\n"
            }
        }
        return h + "</body></html>\n"
    }
}
