import Foundation

/// Settings of one analysis (the `analyze` command's options).
public struct AnalysisOptions: Codable, Sendable, Equatable {
    /// Reward threshold for "steps to threshold" (nil: not computed).
    public var threshold: Double?
    /// Final reward = mean reward over the last `finalWindow` steps.
    public var finalWindow: Int
    /// Trailing moving-average window for curves and for the threshold crossing.
    public var smooth: Int
    /// Bootstrap resamples for the correlation intervals (0: no intervals).
    public var resamples: Int
    public var seed: UInt64

    public init(threshold: Double? = nil, finalWindow: Int = 25, smooth: Int = 10, resamples: Int = 2000, seed: UInt64 = 17) {
        self.threshold = threshold; self.finalWindow = finalWindow; self.smooth = smooth; self.resamples = resamples; self.seed = seed
    }

    public func validate() throws {
        guard finalWindow >= 1, smooth >= 1, resamples >= 0 else {
            throw AnalysisError.invalidOption("final-window and smooth must be ≥ 1, resamples ≥ 0")
        }
        if let threshold, !threshold.isFinite { throw AnalysisError.invalidOption("threshold must be finite") }
    }
}

/// Mean and sample standard deviation over runs (seeds).
public struct MeanSD: Codable, Sendable, Equatable {
    public var mean: Double
    public var sd: Double?
    public var n: Int
    init?(_ x: [Double]) {
        guard let m = Statistics.mean(x) else { return nil }
        mean = m; sd = Statistics.sampleSD(x); n = x.count
    }
}

/// Per-run numbers of the study table.
public struct RunSummary: Codable, Sendable {
    public var name: String
    public var group: String
    public var path: String
    public var steps: Int
    /// Mean reward over the last `finalWindow` steps.
    public var finalReward: Double?
    /// First step at which the trailing `smooth`-step mean reward (a full window) reaches the
    /// threshold (nil: never, or no threshold).
    public var stepsToThreshold: Double?
    /// Step-to-step noise variance of the per-step mean reward (``Statistics/stepToStepVariance(_:)``).
    public var rewardCurveVariance: Double?
    /// Mean over steps of the per-rollout policy-gradient variance (tr Ĉov), when logged.
    public var gradVarianceMean: Double?
    public var gradNormMean: Double?
    /// Time of the gradient statistics / time of the rest of the step, summed over steps (same run).
    public var gradStatsOverhead: Double?
    public var entropyFirst: Double?
    public var entropyLast: Double?
    /// Quantity → log key it was read from.
    public var sources: [String: String]
}

/// Seed statistics of a group of runs.
public struct GroupSummary: Codable, Sendable {
    public var group: String
    public var runs: [String]
    public var finalReward: MeanSD?
    /// Over the runs that reached the threshold (`reachedThreshold` of them).
    public var stepsToThreshold: MeanSD?
    public var reachedThreshold: Int
    public var rewardCurveVariance: MeanSD?
    public var gradVarianceMean: MeanSD?
    public var gradNormMean: MeanSD?
}

/// Correlation between mean entropy and a gradient statistic over steps.
public struct CorrelationRow: Codable, Sendable {
    /// `run`, `group` (its runs pooled) or `all` (every run pooled).
    public var scope: String
    public var name: String
    /// Entropy of this region (`all`: the mean entropy over response tokens).
    public var region: String
    /// `gradVariance` or `gradNorm` (the latter when a log has no variance, e.g. VERL's `actor/grad_norm`).
    public var y: String
    /// Region of the gradient statistic (`all` when the log has no per-region gradient statistics).
    public var yRegion: String
    /// Steps (pairs) used.
    public var n: Int
    public var pearson: Double?
    public var pearsonCI: [Double]?
    public var spearman: Double?
    public var spearmanCI: [Double]?
    /// Pearson's r of the first differences (step-to-step changes): the co-movement left once the
    /// common trend of both series over training is removed.
    public var diffPearson: Double?
    public var diffPearsonCI: [Double]?
}

/// Mean ± SD across a group's runs at each step (each run smoothed first).
public struct Curve: Codable, Sendable {
    public var steps: [Double]
    public var mean: [Double]
    public var sd: [Double?]
    public var n: [Int]
}

/// The curves of one group.
public struct GroupCurves: Codable, Sendable {
    public var group: String
    public var reward: Curve
    public var entropy: Curve
    public var gradVariance: Curve
    public var regionEntropy: [String: Curve]
    public var regionWeight: [String: Curve]
    public var regionGradVariance: [String: Curve]
}

/// Everything `analyze` reports.
public struct AnalysisReport: Codable, Sendable {
    public var options: AnalysisOptions
    public var runs: [RunSummary]
    public var groups: [GroupSummary]
    public var correlations: [CorrelationRow]
    public var curves: [GroupCurves]
}

/// Builds an ``AnalysisReport`` from runs' series.
public enum Analyzer {
    public static func analyze(_ runs: [RunSeries], options o: AnalysisOptions) throws -> AnalysisReport {
        try o.validate()
        guard !runs.isEmpty else { throw AnalysisError.noData("no runs given") }
        let summaries = runs.map { summarize($0, o) }
        var groupOrder: [String] = []
        for r in runs where !groupOrder.contains(r.group) { groupOrder.append(r.group) }
        let byGroup = Dictionary(grouping: runs, by: \.group)
        let groups = groupOrder.map { g in groupSummary(g, summaries.filter { $0.group == g }) }
        var correlations: [CorrelationRow] = []
        for r in runs { correlations += correlate(scope: "run", name: r.name, [r], o) }
        if groupOrder.count > 1 || runs.count > 1 {
            for g in groupOrder where (byGroup[g]?.count ?? 0) > 1 { correlations += correlate(scope: "group", name: g, byGroup[g] ?? [], o) }
            if groupOrder.count > 1 { correlations += correlate(scope: "all", name: "all", runs, o) }
        }
        let curves = groupOrder.map { g in groupCurves(g, byGroup[g] ?? [], o) }
        return AnalysisReport(options: o, runs: summaries, groups: groups, correlations: correlations, curves: curves)
    }

    static func present(_ x: [Double?]) -> [Double] { x.compactMap { $0 } }

    static func summarize(_ r: RunSeries, _ o: AnalysisOptions) -> RunSummary {
        let rewards = present(r.reward)
        var reach: Double? = nil
        if let th = o.threshold {
            // Full windows only: the first steps' partial averages are single noisy steps.
            let ma = Statistics.movingAverage(r.reward, window: o.smooth)
            var seen = 0
            for i in ma.indices {
                if r.reward[i] != nil { seen += 1 }
                if seen >= o.smooth, let v = ma[i], v >= th { reach = r.steps[i]; break }
            }
        }
        let ent = present(r.entropy)
        var statsTime = 0.0, restTime = 0.0
        for (total, stats) in zip(r.stepSeconds, r.gradStatsSeconds) {
            if let total, let stats { statsTime += stats; restTime += total - stats }
        }
        return RunSummary(name: r.name, group: r.group, path: r.path, steps: r.steps.count,
                          finalReward: Statistics.mean(Array(rewards.suffix(o.finalWindow))),
                          stepsToThreshold: reach, rewardCurveVariance: Statistics.stepToStepVariance(rewards),
                          gradVarianceMean: Statistics.mean(present(r.gradVariance)), gradNormMean: Statistics.mean(present(r.gradNorm)),
                          gradStatsOverhead: restTime > 0 ? statsTime / restTime : nil,
                          entropyFirst: ent.first, entropyLast: ent.last, sources: r.sources)
    }

    static func groupSummary(_ g: String, _ s: [RunSummary]) -> GroupSummary {
        let reached = s.compactMap(\.stepsToThreshold)
        return GroupSummary(group: g, runs: s.map(\.name), finalReward: MeanSD(s.compactMap(\.finalReward)),
                            stepsToThreshold: MeanSD(reached), reachedThreshold: reached.count,
                            rewardCurveVariance: MeanSD(s.compactMap(\.rewardCurveVariance)),
                            gradVarianceMean: MeanSD(s.compactMap(\.gradVarianceMean)), gradNormMean: MeanSD(s.compactMap(\.gradNormMean)))
    }

    /// Entropy vs gradient variance (else norm) over steps: overall, then per region.
    static func correlate(scope: String, name: String, _ runs: [RunSeries], _ o: AnalysisOptions) -> [CorrelationRow] {
        let y: (String, (RunSeries) -> [Double?])
        if runs.allSatisfy({ !present($0.gradVariance).isEmpty }) { y = ("gradVariance", { $0.gradVariance }) }
        else if runs.allSatisfy({ !present($0.gradNorm).isEmpty }) { y = ("gradNorm", { $0.gradNorm }) }
        else { return [] }
        var rows: [CorrelationRow] = []
        if let row = correlation(scope: scope, name: name, region: "all", y: y.0, yRegion: "all",
                                 segments: runs.map { pairs($0.entropy, y.1($0)) }, o) { rows.append(row) }
        let regions = Set(runs.flatMap(\.regions)).sorted()
        func regionStats(_ r: RunSeries) -> [String: [Double?]] { y.0 == "gradVariance" ? r.regionGradVariance : r.regionGradNorm }
        // Logs with per-region gradient statistics omit regions that had no gradient (γ = 0): no row
        // for those. Logs without any (VERL, TRL) get the region's entropy against the overall statistic.
        let logsRegions = runs.allSatisfy { !regionStats($0).isEmpty }
        for k in regions {
            let perRegion = runs.allSatisfy { regionStats($0)[k] != nil }
            if logsRegions && !perRegion { continue }
            let segments = runs.map { r -> [(Double, Double)] in
                let ys = perRegion ? ((y.0 == "gradVariance" ? r.regionGradVariance[k] : r.regionGradNorm[k]) ?? []) : y.1(r)
                return pairs(r.regionEntropy[k] ?? [], ys)
            }
            if let row = correlation(scope: scope, name: name, region: k, y: y.0, yRegion: perRegion ? k : "all", segments: segments, o) {
                rows.append(row)
            }
        }
        return rows
    }

    static func pairs(_ x: [Double?], _ y: [Double?]) -> [(Double, Double)] {
        zip(x, y).compactMap { a, b in
            guard let a, let b, a.isFinite, b.isFinite else { return nil }
            return (a, b)
        }
    }

    static func correlation(scope: String, name: String, region: String, y: String, yRegion: String,
                            segments: [[(Double, Double)]], _ o: AnalysisOptions) -> CorrelationRow? {
        let all = segments.flatMap { $0 }
        guard all.count >= 3 else { return nil }
        let xs = all.map(\.0), ys = all.map(\.1)
        let diffs = segments.map { s in zip(Statistics.differences(s.map(\.0)), Statistics.differences(s.map(\.1))).map { ($0, $1) } }
        let dAll = diffs.flatMap { $0 }
        func ci(_ segs: [[(Double, Double)]], _ f: @escaping ([Double], [Double]) -> Double?) -> [Double]? {
            guard o.resamples > 0 else { return nil }
            return Statistics.blockBootstrap(segments: segs, resamples: o.resamples, seed: o.seed, statistic: f).map { [$0.lowerBound, $0.upperBound] }
        }
        return CorrelationRow(scope: scope, name: name, region: region, y: y, yRegion: yRegion, n: all.count,
                              pearson: Statistics.pearson(xs, ys), pearsonCI: ci(segments, Statistics.pearson),
                              spearman: Statistics.spearman(xs, ys), spearmanCI: ci(segments, Statistics.spearman),
                              diffPearson: Statistics.pearson(dAll.map(\.0), dAll.map(\.1)), diffPearsonCI: ci(diffs, Statistics.pearson))
    }

    /// Mean ± SD across runs at each step of each run's smoothed series.
    static func curve(_ runs: [RunSeries], _ o: AnalysisOptions, _ series: (RunSeries) -> [Double?]?) -> Curve {
        var at: [Double: [Double]] = [:]
        for r in runs {
            guard let s = series(r) else { continue }
            for (step, v) in zip(r.steps, Statistics.movingAverage(s, window: o.smooth)) { if let v, v.isFinite { at[step, default: []].append(v) } }
        }
        let steps = at.keys.sorted()
        return Curve(steps: steps, mean: steps.map { Statistics.mean(at[$0] ?? []) ?? .nan },
                     sd: steps.map { Statistics.sampleSD(at[$0] ?? []) }, n: steps.map { at[$0]?.count ?? 0 })
    }

    static func groupCurves(_ g: String, _ runs: [RunSeries], _ o: AnalysisOptions) -> GroupCurves {
        let regions = Set(runs.flatMap(\.regions)).sorted()
        func byRegion(_ f: @escaping (RunSeries) -> [String: [Double?]]) -> [String: Curve] {
            var out: [String: Curve] = [:]
            for k in regions {
                let c = curve(runs, o) { f($0)[k] }
                if !c.steps.isEmpty { out[k] = c }
            }
            return out
        }
        return GroupCurves(group: g, reward: curve(runs, o) { $0.reward }, entropy: curve(runs, o) { $0.entropy },
                           gradVariance: curve(runs, o) { $0.gradVariance }, regionEntropy: byRegion(\.regionEntropy),
                           regionWeight: byRegion(\.regionWeight), regionGradVariance: byRegion(\.regionGradVariance))
    }
}
