import Analysis
import Foundation
import TestSupport
import Testing

/// This target's vendored fixtures (Fixtures/SOURCES.md, made by Fixtures/make_fixtures.py).
let fixtures = TestFixtures(bundle: .module)

/// `analyze` on fixture runs whose correlations are known in closed form (Fixtures/make_fixtures.py).
@Suite struct AnalysisTests {
    static func series(_ names: [String]) throws -> [RunSeries] {
        try names.map { RunSeries(try RunLog.load(path: try fixtures.path($0))) }
    }

    static func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-9) -> Bool { a.map { abs($0 - b) <= tol } ?? false }

    static func row(_ r: AnalysisReport, _ scope: String, _ name: String, _ region: String) throws -> CorrelationRow {
        try #require(r.correlations.first { $0.scope == scope && $0.name == name && $0.region == region },
                     "no \(scope) \(name) \(region) row")
    }

    @Test func statisticsOnHandComputedCases() {
        // Ranks with ties: x ranks 1, 2.5, 2.5, 4; ρ = 4.5 / √(4.5 · 5).
        #expect(Statistics.ranks([1, 2, 2, 3]) == [1, 2.5, 2.5, 4])
        #expect(Self.close(Statistics.spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / (4.5 * 5).squareRoot(), 1e-12))
        #expect(Self.close(Statistics.pearson([1, 2, 3, 4], [2, 4, 6, 8]), 1))
        #expect(Statistics.pearson([1, 1, 1], [1, 2, 3]) == nil)   // constant side
        #expect(Statistics.pearson([1, 2], [1, 2]) == nil)         // too few pairs
        #expect(Self.close(Statistics.stepToStepVariance([0, 1, 0, 1]), 0.5))
        #expect(Statistics.movingAverage([1, nil, 3, 5], window: 2).map { $0 ?? -1 } == [1, -1, 2, 4])
        #expect(Self.close(Statistics.quantile([0, 10], 0.25), 2.5))
    }

    @Test func bootstrapIntervalCoversAndIsSeeded() {
        let noise = (1...200).map { Double(($0 * 7919) % 101) / 101 }   // deterministic scatter
        let x = (0..<200).map(Double.init), y = zip(x, noise).map { $0 / 200 + $1 }
        let r = Statistics.pearson(x, y)!
        let seg = [Array(zip(x, y))]
        let a = Statistics.blockBootstrap(segments: seg, resamples: 500, seed: 3, statistic: Statistics.pearson)!
        let b = Statistics.blockBootstrap(segments: seg, resamples: 500, seed: 3, statistic: Statistics.pearson)!
        #expect(a == b)
        #expect(a.contains(r) && a.upperBound - a.lowerBound > 0.01, "\(a) vs r \(r)")
        // A perfect affine relation: every resample gives 1.
        let exact = Statistics.blockBootstrap(segments: [Array(zip(x, x.map { 3 * $0 - 1 }))], resamples: 200, statistic: Statistics.pearson)!
        #expect(Self.close(exact.lowerBound, 1, 1e-12) && Self.close(exact.upperBound, 1, 1e-12))
    }

    @Test func trainerRunsKnownCorrelationsAndSeedBands() throws {
        let runs = try Self.series(["trainer-seed1.jsonl", "trainer-seed2.jsonl"])
        #expect(runs.map(\.group) == ["trainer", "trainer"])
        #expect(runs[0].steps.count == 40 && runs[0].steps.first == 1)   // the warm-up line is skipped
        #expect(runs[0].sources["gradVariance"] == "gradStats/variance")
        let r = try Analyzer.analyze(runs, options: AnalysisOptions(threshold: 2.0, finalWindow: 5, smooth: 1, resamples: 300))
        for scope in [("run", "trainer-seed1"), ("run", "trainer-seed2"), ("group", "trainer")] {
            let all = try Self.row(r, scope.0, scope.1, "all")
            #expect(all.y == "gradVariance" && all.n == (scope.0 == "run" ? 40 : 80))
            #expect(Self.close(all.pearson, 0.6), "\(scope) r = \(all.pearson ?? .nan)")
            let ci = try #require(all.pearsonCI)
            #expect(ci[0] <= 0.6 && 0.6 <= ci[1])
            let think = try Self.row(r, scope.0, scope.1, "think")
            #expect(think.yRegion == "think")
            #expect(Self.close(think.pearson, 1) && Self.close(think.spearman, 1) && Self.close(think.diffPearson, 1))
            let name = try Self.row(r, scope.0, scope.1, "tool_name")
            #expect(Self.close(name.pearson, -1) && Self.close(name.spearman, -1))
            let args = try Self.row(r, scope.0, scope.1, "tool_args")
            #expect(Self.close(args.pearson, 0, 1e-12))
            #expect(!r.correlations.contains { $0.name == scope.1 && $0.region == "outside" }, "a region without gradient gets no row")
        }
        // Seed bands: seed 2 is seed 1 + 1 at every step.
        let curves = try #require(r.curves.first)
        #expect(curves.reward.steps.count == 40)
        for i in curves.reward.steps.indices {
            #expect(Self.close(curves.reward.mean[i], curves.reward.steps[i] / 10 + 0.5, 1e-12))
            #expect(Self.close(curves.reward.sd[i] ?? -1, 0.5.squareRoot(), 1e-12))
        }
        let s1 = try #require(r.runs.first { $0.name == "trainer-seed1" })
        #expect(Self.close(s1.finalReward, 3.8, 1e-12))           // mean of 3.6 … 4.0
        #expect(s1.stepsToThreshold == 20 && r.runs[1].stepsToThreshold == 10)
        #expect(Self.close(s1.rewardCurveVariance, 0.005, 1e-12))  // Δ = 0.1 every step
        #expect(Self.close(s1.gradStatsOverhead, 0.25, 1e-9))      // 0.01 s of 0.05 s per step
        // Steps to threshold count full windows only: with a 3-step window the first candidate is step 3.
        let early = try Analyzer.analyze(runs, options: AnalysisOptions(threshold: -1, smooth: 3, resamples: 0))
        #expect(early.runs.map(\.stepsToThreshold) == [3, 3])
        let late = try Analyzer.analyze(runs, options: AnalysisOptions(threshold: 1.95, smooth: 3, resamples: 0))
        #expect(late.runs[0].stepsToThreshold == 21)   // (1.9 + 2.0 + 2.1) / 3 at step 21
        let g = try #require(r.groups.first)
        #expect(g.reachedThreshold == 2 && Self.close(g.finalReward?.mean, 4.3, 1e-12) && Self.close(g.finalReward?.sd, 0.5.squareRoot(), 1e-12))
        // Every rendering mentions the numbers.
        let text = ReportRendering.text(r)
        #expect(text.contains("trainer") && text.contains("+0.60 ["))
        let json = try JSONDecoder().decode(AnalysisReport.self, from: try ReportRendering.json(r))
        #expect(json.correlations.count == r.correlations.count)
        let html = ReportRendering.html(r, series: runs)
        #expect(html.contains("<svg") && html.contains("Entropy: think") && !html.contains("src=") && !html.contains("href=") && !html.contains("<script"))
        let ids = ReportRendering.figures(r, series: runs).map(\.id)
        #expect(["reward", "entropy", "grad-variance", "entropy-think", "grad-variance-tool_args", "scatter", "scatter-think"].allSatisfy(ids.contains))
    }

    @Test func trlAndVerlLogsUseTheirKeys() throws {
        let runs = try Self.series(["trl-run.jsonl", "verl-run.jsonl"])
        let trl = runs[0], verl = runs[1]
        #expect(trl.steps.count == 40, "TRL's summary entry is dropped")
        #expect(trl.sources["reward"] == "reward" && trl.sources["gradNorm"] == "grad_norm" && trl.sources["entropy"] == "entropy")
        #expect(verl.sources["reward"] == "critic/score/mean" && verl.sources["gradNorm"] == "actor/grad_norm")
        #expect(verl.regionEntropy["think"]?.count == 40)
        let r = try Analyzer.analyze(runs, options: AnalysisOptions(resamples: 100))
        let t = try Self.row(r, "run", "trl-run", "all"), v = try Self.row(r, "run", "verl-run", "all")
        #expect(t.y == "gradNorm" && Self.close(t.pearson, 1) && Self.close(t.spearman, 1))
        #expect(Self.close(v.pearson, -1) && Self.close(v.spearman, -1))
        let vt = try Self.row(r, "run", "verl-run", "think")
        #expect(vt.yRegion == "all" && Self.close(vt.pearson, -1))
        #expect(r.groups.count == 2)
    }

    @Test func groupNames() {
        #expect(RunSeries.groupName(for: "aligned-step-seed3") == "aligned-step")
        #expect(RunSeries.groupName(for: "uniform_s12") == "uniform")
        #expect(RunSeries.groupName(for: "run.seed1") == "run")
        #expect(RunSeries.groupName(for: "qwen3") == "qwen3")
        #expect(RunSeries.groupName(for: "learning-aligned") == "learning-aligned")
    }

    @Test func badInputIsATypedError() throws {
        #expect(throws: AnalysisError.parse(file: "x.jsonl", line: 2, message: "a metrics line must be a JSON object")) {
            try RunLog.parse(Data("{\"step\": 1}\n[1, 2]\n".utf8), path: "x.jsonl", name: "x")
        }
        #expect(throws: AnalysisError.self) { try RunLog.parse(Data("{\"step\": 1\n".utf8), path: "y.jsonl", name: "y") }
        #expect(throws: AnalysisError.self) { try RunLog.load(path: "/nonexistent/run.jsonl") }
        #expect(throws: AnalysisError.self) { try Analyzer.analyze([], options: AnalysisOptions()) }
        #expect(throws: AnalysisError.self) { try Analyzer.analyze([], options: AnalysisOptions(smooth: 0)) }
    }
}
