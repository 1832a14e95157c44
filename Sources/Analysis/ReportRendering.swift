import Foundation

/// The three renderings of an ``AnalysisReport``: a terminal table, JSON, and a self-contained HTML
/// page whose figures are inline SVG (each figure can also be written as its own `.svg` file).
public enum ReportRendering {
    // MARK: Terminal

    /// Per-run and per-group summaries, then the correlations (`perRun`: also each run's own rows).
    public static func text(_ r: AnalysisReport, perRun: Bool = false) -> String {
        let th = r.options.threshold.map { "steps→\(num($0))" } ?? "steps→th"
        var out = "Runs (final reward: mean of the last \(r.options.finalWindow) steps; \(th): first step where the mean of the last \(r.options.smooth) steps reaches it; reward noise: Var(Δreward)/2)\n"
        out += table(["run", "group", "steps", "final reward", th, "reward noise", "grad var", "grad norm", "entropy first→last", "stats cost"],
                     r.runs.map { s in [s.name, s.group, "\(s.steps)", num(s.finalReward), num(s.stepsToThreshold, "—"), num(s.rewardCurveVariance),
                                        num(s.gradVarianceMean), num(s.gradNormMean), "\(num(s.entropyFirst)) → \(num(s.entropyLast))",
                                        s.gradStatsOverhead.map { String(format: "+%.0f %%", $0 * 100) } ?? "—"] })
        if r.runs.count > 1 {
            out += "\nGroups (mean ± sd over runs)\n"
            out += table(["group", "runs", "final reward", th + " (reached)", "reward noise", "grad var", "grad norm"],
                         r.groups.map { g in [g.group, "\(g.runs.count)", pm(g.finalReward),
                                              "\(pm(g.stepsToThreshold)) (\(g.reachedThreshold)/\(g.runs.count))",
                                              pm(g.rewardCurveVariance), pm(g.gradVarianceMean), pm(g.gradNormMean)] })
        }
        let rows = r.correlations.filter { perRun || $0.scope != "run" || r.runs.count == 1 }
        out += "\nCorrelation of entropy with the policy-gradient statistic over steps (95 % moving-block bootstrap intervals; Δ: of step-to-step changes)\n"
        out += rows.isEmpty ? "(no run logs both entropy and a gradient statistic)\n"
            : table(["scope", "name", "entropy of", "y", "n", "Pearson [95 %]", "Spearman [95 %]", "Δ Pearson [95 %]"],
                    rows.map { c in [c.scope, c.name, c.region, c.yRegion == "all" && c.region != "all" ? "\(c.y) (all)" : c.y, "\(c.n)",
                                     withCI(c.pearson, c.pearsonCI), withCI(c.spearman, c.spearmanCI), withCI(c.diffPearson, c.diffPearsonCI)] })
        return out
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var w = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < w.count { w[i] = max(w[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: w[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        return line(header) + line(w.map { String(repeating: "-", count: $0) }) + rows.map(line).joined()
    }

    static func num(_ v: Double?, _ missing: String = "—") -> String {
        guard let v, v.isFinite else { return missing }
        let a = abs(v)
        if a != 0 && (a >= 1e4 || a < 1e-2) { return String(format: "%.3e", v) }
        return String(format: "%.3f", v)
    }

    static func pm(_ m: MeanSD?) -> String {
        guard let m else { return "—" }
        return m.sd.map { "\(num(m.mean)) ± \(num($0))" } ?? num(m.mean)
    }

    static func withCI(_ v: Double?, _ ci: [Double]?) -> String {
        guard let v else { return "—" }
        guard let ci, ci.count == 2 else { return String(format: "%+.2f", v) }
        return String(format: "%+.2f [%+.2f, %+.2f]", v, ci[0], ci[1])
    }

    // MARK: JSON

    public static func json(_ r: AnalysisReport) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(r)
    }

    // MARK: Figures and HTML

    /// A named figure (`id` is its file name without `.svg`).
    public struct Figure: Sendable {
        public var id: String
        public var caption: String
        public var svg: String
    }

    /// Every figure of the report: reward with seed bands, mean entropy, gradient variance, then per
    /// region entropy / weight / gradient variance, and entropy–variance scatter plots.
    public static func figures(_ r: AnalysisReport, series: [RunSeries]) -> [Figure] {
        let color = Dictionary(uniqueKeysWithValues: r.curves.enumerated().map { ($1.group, SVGPlot.palette[$0 % SVGPlot.palette.count]) })
        func lines(_ pick: (GroupCurves) -> Curve?, band: Bool) -> [SVGPlot.Series] {
            r.curves.compactMap { g in
                guard let c = pick(g), !c.steps.isEmpty else { return nil }
                let pts = zip(c.steps, c.mean).map { (x: $0, y: $1) }
                let b = band ? c.steps.indices.compactMap { i -> (x: Double, lo: Double, hi: Double)? in
                    c.sd[i].map { (x: c.steps[i], lo: c.mean[i] - $0, hi: c.mean[i] + $0) }
                } : []
                let runs = r.groups.first { $0.group == g.group }?.runs.count ?? 1
                return SVGPlot.Series(name: runs > 1 ? "\(g.group) (\(runs))" : g.group, color: color[g.group] ?? "#000", points: pts, band: b)
            }
        }
        let smooth = r.options.smooth > 1 ? ", \(r.options.smooth)-step moving average" : ""
        var figs: [Figure] = []
        func add(_ id: String, _ caption: String, _ plot: SVGPlot) {
            guard plot.series.contains(where: { !$0.points.isEmpty }) else { return }
            figs.append(Figure(id: id, caption: caption, svg: plot.render()))
        }
        add("reward", "Mean reward per step, mean ± sd over each group's runs\(smooth).",
            SVGPlot(title: "Reward", xLabel: "step", yLabel: "reward", series: lines({ $0.reward }, band: true)))
        add("entropy", "Mean policy entropy over response tokens (mean ± sd over runs\(smooth)).",
            SVGPlot(title: "Mean entropy", xLabel: "step", yLabel: "entropy (nats)", series: lines({ $0.entropy }, band: true)))
        add("grad-variance", "Variance across rollouts of the per-rollout policy gradient, tr Ĉov (mean over runs\(smooth)).",
            SVGPlot(title: "Policy-gradient variance", xLabel: "step", yLabel: "tr Cov", logY: true, series: lines({ $0.gradVariance }, band: false)))
        let regions = Set(r.curves.flatMap { $0.regionEntropy.keys }).sorted()
        for k in regions {
            add("entropy-\(k)", "Mean entropy of \(k) tokens (mean over runs\(smooth)).",
                SVGPlot(title: "Entropy: \(k)", xLabel: "step", yLabel: "entropy (nats)", series: lines({ $0.regionEntropy[k] }, band: false)))
        }
        for k in regions {
            add("weight-\(k)", "Mean ResT weight of \(k) tokens (after per-rollout normalisation; mean over runs\(smooth)).",
                SVGPlot(title: "Weight: \(k)", xLabel: "step", yLabel: "weight", series: lines({ $0.regionWeight[k] }, band: false)))
        }
        for k in regions {
            add("grad-variance-\(k)", "Policy-gradient variance of the loss restricted to \(k) tokens (mean over runs\(smooth)).",
                SVGPlot(title: "Gradient variance: \(k)", xLabel: "step", yLabel: "tr Cov", logY: true, series: lines({ $0.regionGradVariance[k] }, band: false)))
        }
        // Scatter: every step of every run, entropy against gradient variance (else norm, as the correlations).
        let useVariance = series.contains { s in s.gradVariance.contains { $0 != nil } }
        let yName = useVariance ? "gradient variance" : "gradient norm"
        func scatter(_ id: String, _ title: String, _ pick: (RunSeries) -> ([Double?], [Double?])) {
            var out: [SVGPlot.Series] = []
            for g in r.curves {
                var pts: [(x: Double, y: Double)] = []
                for s in series where s.group == g.group {
                    let (x, y) = pick(s)
                    pts += Analyzer.pairs(x, y).map { (x: $0.0, y: $0.1) }
                }
                if !pts.isEmpty { out.append(SVGPlot.Series(name: g.group, color: color[g.group] ?? "#000", points: pts, scatter: true)) }
            }
            var p = SVGPlot(title: title, xLabel: "entropy (nats)", yLabel: yName, logY: true, series: out)
            p.width = 420
            add(id, "\(title): one point per step and run.", p)
        }
        scatter("scatter", "Entropy vs \(yName)") { ($0.entropy, useVariance ? $0.gradVariance : $0.gradNorm) }
        for k in regions {
            scatter("scatter-\(k)", "\(k): entropy vs \(yName)") { s in
                let y = useVariance ? s.regionGradVariance[k] : s.regionGradNorm[k]
                return (s.regionEntropy[k] ?? [], y ?? (useVariance ? s.gradVariance : s.gradNorm))
            }
        }
        return figs
    }

    /// The HTML page: summary tables, correlation table, then every figure inline.
    public static func html(_ r: AnalysisReport, series: [RunSeries], title: String = "rest-shaper analyze") -> String {
        let figs = figures(r, series: series)
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(SVGPlot.escape(title))</title>\n"
        h += "<style>body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;margin:8px 0 20px}"
        h += "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}th{background:#f4f4f4}"
        h += "td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:6px;vertical-align:top}"
        h += "figcaption{font-size:12px;color:#444;max-width:540px}</style></head><body>\n"
        h += "<h1>\(SVGPlot.escape(title))</h1>\n"
        h += "<p>\(r.runs.count) run(s), \(r.groups.count) group(s). Options: threshold \(r.options.threshold.map { num($0) } ?? "none"), "
        h += "final window \(r.options.finalWindow) steps, smoothing \(r.options.smooth) steps, \(r.options.resamples) bootstrap resamples (seed \(r.options.seed)).</p>\n"
        h += "<h2>Groups</h2>\n" + htmlTable(["group", "runs", "final reward", "steps to threshold (reached)", "reward noise Var(Δr)/2", "grad variance", "grad norm"],
            r.groups.map { g in [g.group, "\(g.runs.count)", pm(g.finalReward), "\(pm(g.stepsToThreshold)) (\(g.reachedThreshold)/\(g.runs.count))",
                                 pm(g.rewardCurveVariance), pm(g.gradVarianceMean), pm(g.gradNormMean)] })
        h += "<h2>Correlation of entropy with the policy-gradient statistic</h2>\n"
        h += "<p>Over steps; intervals: 95 % moving-block bootstrap (blocks of ⌈n<sup>1/3</sup>⌉ steps within each run). Δ: Pearson's r of step-to-step changes, which removes the common trend of both series over training.</p>\n"
        h += htmlTable(["scope", "name", "entropy of", "y", "n", "Pearson [95 %]", "Spearman [95 %]", "Δ Pearson [95 %]"],
                       r.correlations.map { c in [c.scope, c.name, c.region, c.yRegion == "all" && c.region != "all" ? "\(c.y) (all)" : c.y, "\(c.n)",
                                                  withCI(c.pearson, c.pearsonCI), withCI(c.spearman, c.spearmanCI), withCI(c.diffPearson, c.diffPearsonCI)] })
        h += "<h2>Figures</h2>\n"
        for f in figs { h += "<figure id=\"\(f.id)\">\(f.svg)<figcaption>\(SVGPlot.escape(f.caption))</figcaption></figure>\n" }
        h += "<h2>Runs</h2>\n" + htmlTable(["run", "group", "steps", "final reward", "steps to threshold", "reward noise", "grad variance", "grad norm", "entropy first → last", "grad-stats cost", "keys read"],
            r.runs.map { s in [s.name, s.group, "\(s.steps)", num(s.finalReward), num(s.stepsToThreshold), num(s.rewardCurveVariance),
                               num(s.gradVarianceMean), num(s.gradNormMean), "\(num(s.entropyFirst)) → \(num(s.entropyLast))",
                               s.gradStatsOverhead.map { String(format: "+%.0f %%", $0 * 100) } ?? "—",
                               s.sources.sorted { $0.key < $1.key }.map { "\($0.key) ← \($0.value)" }.joined(separator: "; ")] })
        return h + "</body></html>\n"
    }

    static func htmlTable(_ header: [String], _ rows: [[String]]) -> String {
        var t = "<table><tr>" + header.map { "<th>\(SVGPlot.escape($0))</th>" }.joined() + "</tr>\n"
        for r in rows { t += "<tr>" + r.map { "<td>\(SVGPlot.escape($0))</td>" }.joined() + "</tr>\n" }
        return t + "</table>\n"
    }
}
