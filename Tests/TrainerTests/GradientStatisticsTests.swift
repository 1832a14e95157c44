import Foundation
import Pipeline
import TestSupport
import Testing
import Trainer

/// ``GradientStatistics`` against brute force, and its hook in the trainer.
@Suite struct GradientStatisticsTests {
    /// Two right-padded groups of three rows, random coefficients on the "response" positions,
    /// random regions (think, tool_name, tool_args); one row has no gradient (zero advantage).
    struct Case {
        let groups = 2, rows = 3, time = 9
        var inputs: [[Int32]] = [], targets: [[Int32]] = [], coef: [[Float]] = [], cats: [[UInt8]] = []
        init(vocab: Int) {
            var rng = TrainerRNG(seed: 9)
            for r in 0..<(groups * rows) {
                let len = 6 + Int(rng.next() % 4)   // 6...9 valid positions, the rest padding
                var i = [Int32](repeating: 0, count: time), t = i, c = [Float](repeating: 0, count: time), k = [UInt8](repeating: 0, count: time)
                for p in 0..<len {
                    i[p] = Int32(rng.next() % UInt64(vocab)); t[p] = Int32(rng.next() % UInt64(vocab))
                    if p >= 2, r != 4 { c[p] = Float(rng.normal()) / 10; k[p] = [2, 4, 5][Int(rng.next() % 3)] }
                }
                inputs.append(i); targets.append(t); coef.append(c); cats.append(k)
            }
        }
    }

    /// The gradient of Σ coef·log p over the rows of `group` whose (row, position) pass `keep`,
    /// from one backward pass through the whole padded group batch (the trainer's own path).
    static func bruteGradient(_ m: Qwen3Model, _ c: Case, group: Int, invT: Float, keep: (Int, Int) -> Bool) throws -> [Double] {
        let be = m.backend, rows = c.rows, time = c.time, first = group * rows
        let ids = (0..<rows).flatMap { c.inputs[first + $0] }, tgt = (0..<rows).flatMap { c.targets[first + $0] }
        var coef = [Float](repeating: 0, count: rows * time)
        for r in 0..<rows { for p in 0..<time where keep(first + r, p) { coef[r * time + p] = c.coef[first + r][p] } }
        let pass = try m.forward(ids: ids, batch: rows, time: time)
        be.logProbBackward(logits: pass.logits, targets: tgt, coef: coef, rows: rows * time, vocab: m.config.vocabSize, invTemperature: invT)
        let grads = ParameterSet(specs: m.weights.specs, backend: be)
        m.backward(pass, dLogits: pass.logits, into: grads)
        return grads.tensors.flatMap { be.download($0).map(Double.init) }
    }

    /// tr Ĉov of x_r = N·c_r straight from the definition: 1/(N−1) Σ_r ‖x_r − mean‖².
    static func traceOfCovariance(_ contributions: [[Double]]) -> Double {
        let n = Double(contributions.count), dim = contributions[0].count
        let xs = contributions.map { $0.map { $0 * n } }
        var mean = [Double](repeating: 0, count: dim)
        for x in xs { for j in 0..<dim { mean[j] += x[j] / n } }
        var sum = 0.0
        for x in xs { for j in 0..<dim { let d = x[j] - mean[j]; sum += d * d } }
        return sum / (n - 1)
    }

    static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    static func close(_ a: Double, _ b: Double, _ tol: Double = 1e-4) -> Bool { abs(a - b) <= tol * max(abs(a), abs(b), 1e-12) }

    @Test func matchesPerRolloutBruteForce() throws {
        let cfg = Fx.tinyConfig(tied: true)
        let m = try Fx.randomModel(cfg, seed: 31, std: 0.4)
        let c = Case(vocab: cfg.vocabSize), invT: Float = 1 / 0.9
        let n = c.groups * c.rows
        let stats = GradientStatistics(model: m)
        for r in 0..<n {
            try stats.addRollout(inputs: c.inputs[r], targets: c.targets[r], coef: c.coef[r], categories: c.cats[r], invTemperature: invT)
        }
        let s = stats.finish()

        // Brute force: one backward pass per rollout (and per (rollout, region)) through its whole group.
        func contributions(region: UInt8?) throws -> [[Double]] {
            try (0..<n).map { r in
                try Self.bruteGradient(m, c, group: r / c.rows, invT: invT) { row, p in row == r && (region == nil || c.cats[row][p] == region) }
            }
        }
        let all = try contributions(region: nil)
        #expect(Self.norm(all[4]) == 0, "row 4 has no gradient")
        #expect(s.rollouts == n)
        let g = (0..<all[0].count).map { j in all.reduce(0.0) { $0 + $1[j] } }
        // The step's gradient as the trainer computes it: one pass per group with every coefficient.
        let trainerG = try (0..<c.groups).map { gi in try Self.bruteGradient(m, c, group: gi, invT: invT) { _, _ in true } }
        let trainerNorm = Self.norm((0..<g.count).map { j in trainerG.reduce(0.0) { $0 + $1[j] } })
        let bruteVar = Self.traceOfCovariance(all)
        print("norm \(s.norm) brute \(Self.norm(g)) trainer \(trainerNorm); variance \(s.variance) brute \(bruteVar)")
        #expect(bruteVar > 0 && Self.norm(g) > 0)
        #expect(Self.close(s.norm, Self.norm(g)))
        #expect(Self.close(s.norm, trainerNorm))
        #expect(Self.close(s.variance, bruteVar))

        #expect(Set(s.normByRegion.keys) == ["think", "tool_name", "tool_args"])
        for (name, k) in [("think", UInt8(2)), ("tool_name", 4), ("tool_args", 5)] {
            let parts = try contributions(region: k)
            let gk = (0..<g.count).map { j in parts.reduce(0.0) { $0 + $1[j] } }
            let vk = Self.traceOfCovariance(parts)
            print("\(name): norm \(s.normByRegion[name] ?? -1) brute \(Self.norm(gk)); variance \(s.varianceByRegion[name] ?? -1) brute \(vk)")
            #expect(vk > 0)
            #expect(Self.close(s.normByRegion[name] ?? -1, Self.norm(gk)))
            #expect(Self.close(s.varianceByRegion[name] ?? -1, vk))
        }
    }

    @Test func rejectsMismatchedRows() throws {
        let m = try Fx.randomModel(Fx.tinyConfig(), seed: 1)
        let stats = GradientStatistics(model: m)
        #expect(throws: TrainerError.self) {
            try stats.addRollout(inputs: [1, 2, 3], targets: [2, 3], coef: [0, 1, 1], categories: [0, 0, 0], invTemperature: 1)
        }
    }

    /// The real shaping core's weights and categories, with rewards made distinct within each group
    /// so that every rollout has a non-zero advantage (a random model's rewards are all equal).
    struct DistinctRewards: Shaper {
        let engine: ShapingEngine
        func shape(_ r: ShapeRequest) throws -> ShapeResult {
            var res = try engine.shape(r)
            for b in 0..<r.batch { res.rewards[b] += 0.25 * Float(b) }
            return res
        }
    }

    static func trainer(gradStats: Bool, profile: String) throws -> GRPOTrainer {
        let v = SyntheticToolTask.vocabulary
        var cfg = Fx.tinyConfig(); cfg.vocabSize = v.vocabularySize
        let model = try Fx.randomModel(cfg, seed: 5, std: 0.1)
        var tc = TrainConfig()
        tc.initModel = cfg; tc.steps = 2; tc.promptsPerStep = 2; tc.samplesPerPrompt = 4; tc.klCoef = 0.05
        tc.sampling = SamplingOptions(temperature: 1, topP: 1, maxNewTokens: 10)
        tc.profile = profile; tc.gradStats = gradStats
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), threads: 1)
        return try GRPOTrainer(config: tc, model: model, codec: v, shaper: DistinctRewards(engine: engine),
                               examples: (0..<8).map { SyntheticToolTask().example($0) })
    }

    /// In the trainer: ‖g‖ is the step's own gradient norm, every region with gradient is reported,
    /// and turning the statistics on changes nothing about training.
    @Test(arguments: ["uniform", "aligned"]) func trainerHook(profile: String) throws {
        let on = try Self.trainer(gradStats: true, profile: profile), off = try Self.trainer(gradStats: false, profile: profile)
        for _ in 0..<2 {
            let a = try on.grpoStep(), b = try off.grpoStep()
            let s = try #require(a.gradStats)
            #expect(b.gradStats == nil)
            #expect(s.rollouts == 8)
            #expect(a.gradNorm > 0)
            #expect(Self.close(s.norm, a.gradNorm), "stats ‖g‖ \(s.norm) vs trainer \(a.gradNorm)")
            #expect(s.variance > 0)
            // Regions with gradient: those with tokens and a positive mean weight.
            let weighted = Set(a.weightByRegion.filter { $0.value > 0 }.keys)
            #expect(Set(s.normByRegion.keys) == weighted, "\(s.normByRegion.keys.sorted()) vs \(weighted.sorted())")
            if profile == "uniform" { #expect(weighted == Set(a.tokensByRegion.filter { $0.value > 0 }.keys)) }
            #expect(a.loss == b.loss && a.gradNorm == b.gradNorm && a.rewardMean == b.rewardMean)
        }
        for (x, y) in zip(on.model.weights.tensors, off.model.weights.tensors) {
            #expect(on.model.backend.download(x) == off.model.backend.download(y))
        }
    }
}
