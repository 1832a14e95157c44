import Foundation
import Pipeline

/// Per-step numbers written as one JSON line of the metrics file.
public struct StepMetrics: Sendable, Codable {
    public var phase: String
    public var step: Int
    public var loss: Double
    public var gradNorm: Double
    public var lr: Double
    public var rewardMean: Double = 0
    public var rewardStd: Double = 0
    /// Means of the reward components (format, correctness, length, score).
    public var formatMean: Double = 0
    public var correctnessMean: Double = 0
    public var lengthMean: Double = 0
    public var entropyMean: Double = 0
    /// Region → mean entropy / mean weight / token count, aggregated over the step's groups.
    public var entropyByRegion: [String: Double] = [:]
    public var weightByRegion: [String: Double] = [:]
    public var tokensByRegion: [String: Int] = [:]
    public var weightMean: Double = 0
    public var weightStd: Double = 0
    public var weightMin: Double = 0
    public var weightMax: Double = 0
    /// Share of valid response tokens with a non-zero weight (1 for `uniform`).
    public var weightedFraction: Double = 0
    public var clipFraction: Double = 0
    public var kl: Double = 0
    public var responseLengthMean: Double = 0
    public var tokensPerSecond: Double = 0
    public var seconds: Double = 0
    public var profile: String = ""
    /// Rollouts whose shaping status was not `ok` (weights fell back or the reward failed), by code.
    public var rolloutErrors: [String: Int] = [:]
}

/// GRPO with ResT token weights: samples `samplesPerPrompt` rollouts per prompt, has the shaping
/// core (a ``Shaper``, normally `ShapingEngine`) compute ToolRL rewards and per-token weights,
/// normalises rewards within each group into advantages, and minimises the PPO-clip loss
/// aggregated as Σ(ℓ·m·w) / (Σ(m·w) + 1e-8) per prompt group, averaged over groups.
public final class GRPOTrainer: @unchecked Sendable {
    public let config: TrainConfig
    public let model: Qwen3Model
    public let codec: TextCodec
    public let shaper: any Shaper
    public let optimizer: AdamW
    public let examples: [TaskExample]
    /// Completed GRPO steps (the shaping core receives `step + 1`, as the released trainer does).
    public internal(set) var step = 0
    /// Completed warm-up steps.
    public internal(set) var warmupDone = 0
    var rng: TrainerRNG
    var cursor = 0
    let reference: Qwen3Model?
    let grads: ParameterSet
    let pad: Int32
    let stopIDs: Set<Int32>

    public init(config: TrainConfig, model: Qwen3Model, codec: TextCodec, shaper: any Shaper, examples: [TaskExample]) throws {
        try config.validate()
        guard codec.vocabularySize <= model.config.vocabSize else {
            throw TrainerError.invalidConfig("tokenizer vocabulary (\(codec.vocabularySize)) exceeds the model's (\(model.config.vocabSize))")
        }
        guard !examples.isEmpty else { throw TrainerError.data("no training examples") }
        self.config = config; self.model = model; self.codec = codec; self.shaper = shaper; self.examples = examples
        optimizer = AdamW(model: model, lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: config.maxGradNorm)
        grads = ParameterSet(specs: model.weights.specs, backend: model.backend)
        rng = TrainerRNG(seed: config.seed ^ 0x5EED)
        pad = codec.specialID("<|endoftext|>") ?? 0
        stopIDs = Set(config.stopTokens.compactMap { codec.specialID($0) })
        if config.klCoef > 0 {
            let ref = try Qwen3Model(config: model.config, backend: model.backend)
            for (a, b) in zip(model.weights.tensors, ref.weights.tensors) {
                model.backend.copy(a, srcOffset: 0, to: b, dstOffset: 0, count: a.count)
            }
            reference = ref
        } else { reference = nil }
    }

    func nextExamples(_ k: Int) -> [TaskExample] {
        (0..<k).map { _ in defer { cursor += 1 }; return examples[cursor % examples.count] }
    }

    // MARK: Supervised warm-up

    /// One supervised step on `batch` examples (cross-entropy on the ground-truth response +
    /// `<|im_end|>`); returns its metrics.
    @discardableResult
    public func warmupStep() throws -> StepMetrics {
        let t0 = Date()
        let batchEx = nextExamples(config.warmupBatch)
        let end = codec.specialID("<|im_end|>").map { [$0] } ?? []
        let prompts = try batchEx.map { try codec.encode($0.prompt) }
        let responses = try batchEx.map { try codec.encode($0.groundTruth) + end }
        let b = SequenceBatch(prompts: prompts, responses: responses, pad: pad)
        let pass = try model.forward(ids: b.inputs, batch: b.batch, time: b.time)
        let rows = b.batch * b.time, be = model.backend
        let lp = be.makeTensor(count: rows)
        be.logProbAndEntropy(logits: pass.logits, targets: b.targets, rows: rows, vocab: model.config.vocabSize,
                             invTemperature: 1, logProb: lp, entropy: nil)
        let logp = be.download(lp)
        let ntok = max(1, b.responseMask.reduce(0, +))
        let loss = -zip(logp, b.responseMask).reduce(0.0) { $0 + Double($1.0 * $1.1) } / Double(ntok)
        let coef = b.responseMask.map { -$0 / ntok }
        grads.zero(on: be)
        be.logProbBackward(logits: pass.logits, targets: b.targets, coef: coef, rows: rows, vocab: model.config.vocabSize, invTemperature: 1)
        model.backward(pass, dLogits: pass.logits, into: grads)
        let savedLR = optimizer.lr
        optimizer.lr = config.warmupLR
        let norm = optimizer.step(weights: model.weights, grads: grads)
        optimizer.lr = savedLR
        warmupDone += 1
        let dt = Date().timeIntervalSince(t0)
        return StepMetrics(phase: "warmup", step: warmupDone, loss: loss, gradNorm: norm, lr: Double(config.warmupLR),
                           tokensPerSecond: Double(rows) / dt, seconds: dt)
    }

    // MARK: GRPO

    struct Group {
        let example: TaskExample
        let prompt: [Int32]
        let responses: [[Int32]]
        let batch: SequenceBatch
        var weights: [Float] = []      // per target position, [batch·time]
        var advantages: [Float] = []   // per row
        var oldLogp: [Float] = []
    }

    /// One GRPO step: rollouts for `promptsPerStep` prompts, then `ppoEpochs` optimizer steps.
    @discardableResult
    public func grpoStep() throws -> StepMetrics {
        let t0 = Date()
        let n = config.samplesPerPrompt
        let sampler = Sampler(model: model)
        var groups: [Group] = []
        var sampled = 0
        for ex in nextExamples(config.promptsPerStep) {
            let prompt = try codec.encode(ex.prompt)
            let responses = try sampler.sample(prompt: prompt, n: n, options: config.sampling, stopIDs: stopIDs, rng: &rng)
            sampled += responses.reduce(0) { $0 + $1.count }
            groups.append(Group(example: ex, prompt: prompt, responses: responses,
                                batch: SequenceBatch(prompts: Array(repeating: prompt, count: n), responses: responses, pad: pad)))
        }
        var m = StepMetrics(phase: "grpo", step: step + 1, loss: 0, gradNorm: 0, lr: Double(config.lr), profile: config.profile)
        var rewards: [Float] = [], comps = [Double](repeating: 0, count: 4)
        var entSum = 0.0, entCount = 0.0
        var wAll: [Float] = []
        var regionEnt: [String: (Double, Int)] = [:], regionW: [String: (Double, Int)] = [:]
        var clipped = 0.0, counted = 0.0, klSum = 0.0, trained = 0
        let be = model.backend, vocab = model.config.vocabSize, invT = 1 / max(config.sampling.temperature, 1e-4)
        for epoch in 0..<config.ppoEpochs {
            grads.zero(on: be)
            var lossSum = 0.0
            for gi in groups.indices {
                let b = groups[gi].batch, rows = b.batch * b.time
                let pass = try model.forward(ids: b.inputs, batch: b.batch, time: b.time)
                trained += rows
                let lpT = be.makeTensor(count: rows), entT = be.makeTensor(count: rows)
                be.logProbAndEntropy(logits: pass.logits, targets: b.targets, rows: rows, vocab: vocab,
                                     invTemperature: invT, logProb: lpT, entropy: epoch == 0 ? entT : nil)
                let logp = be.download(lpT)
                if epoch == 0 {
                    let ent = be.download(entT)
                    let result = try shape(group: groups[gi], entropies: ent)
                    groups[gi].oldLogp = logp
                    groups[gi].weights = result.weights
                    groups[gi].advantages = result.advantages
                    rewards += result.rewards
                    for st in result.status where !st.isOK { m.rolloutErrors[st.code, default: 0] += 1 }
                    for r in 0..<n { for c in 0..<4 { comps[c] += Double(result.components[r * 4 + c]) } }
                    for i in 0..<rows where b.responseMask[i] > 0 {
                        entSum += Double(ent[i]); entCount += 1; wAll.append(result.weights[i])
                    }
                    for (k, v) in result.metrics.tokenCounts {
                        if let e = result.metrics.entropyMeans[k] { regionEnt[k, default: (0, 0)].0 += e * Double(v); regionEnt[k, default: (0, 0)].1 += v }
                        if let w = result.metrics.weightMeans[k] { regionW[k, default: (0, 0)].0 += w * Double(v); regionW[k, default: (0, 0)].1 += v }
                    }
                }
                var refLogp: [Float]? = nil
                if let reference {
                    let rp = try reference.forward(ids: b.inputs, batch: b.batch, time: b.time)
                    let t = be.makeTensor(count: rows)
                    be.logProbAndEntropy(logits: rp.logits, targets: b.targets, rows: rows, vocab: vocab, invTemperature: invT, logProb: t, entropy: nil)
                    refLogp = be.download(t)
                }
                let g = groups[gi]
                var denom = 1e-8
                for i in 0..<rows { denom += Double(b.responseMask[i] * g.weights[i]) }
                var coef = [Float](repeating: 0, count: rows)
                var loss = 0.0
                let eps = config.clipEps
                for i in 0..<rows where b.responseMask[i] > 0 {
                    let w = Double(g.weights[i]) / denom
                    let a = g.advantages[i / b.time]
                    let ratio = exp(logp[i] - g.oldLogp[i])
                    let clippedRatio = min(max(ratio, 1 - eps), 1 + eps)
                    let unclippedTerm = ratio * a, clippedTerm = clippedRatio * a
                    loss += -Double(min(unclippedTerm, clippedTerm)) * w
                    let isClipped = clippedTerm < unclippedTerm
                    if epoch == 0 { counted += 1 }
                    if isClipped { clipped += 1 } else { coef[i] = Float(-Double(a * ratio) * w) }
                    if let refLogp {
                        let dlt = refLogp[i] - logp[i]
                        let kl = Double(exp(dlt) - dlt - 1)
                        loss += Double(config.klCoef) * kl * w
                        klSum += kl
                        coef[i] += Float(Double(config.klCoef) * w * Double(1 - exp(dlt)))
                    }
                }
                let scaleG = 1 / Float(groups.count)
                for i in coef.indices { coef[i] *= scaleG }
                lossSum += loss / Double(groups.count)
                be.logProbBackward(logits: pass.logits, targets: b.targets, coef: coef, rows: rows, vocab: vocab, invTemperature: invT)
                model.backward(pass, dLogits: pass.logits, into: grads)
            }
            m.gradNorm = optimizer.step(weights: model.weights, grads: grads)
            if epoch == 0 { m.loss = lossSum }
        }
        step += 1
        let rm = rewards.reduce(0.0) { $0 + Double($1) } / Double(max(rewards.count, 1))
        m.rewardMean = rm
        m.rewardStd = (rewards.reduce(0.0) { $0 + (Double($1) - rm) * (Double($1) - rm) } / Double(max(rewards.count, 1))).squareRoot()
        let nr = Double(max(rewards.count, 1))
        m.formatMean = comps[0] / nr; m.correctnessMean = comps[1] / nr; m.lengthMean = comps[2] / nr
        m.entropyMean = entSum / max(entCount, 1)
        m.entropyByRegion = regionEnt.mapValues { $0.1 > 0 ? $0.0 / Double($0.1) : 0 }
        m.weightByRegion = regionW.mapValues { $0.1 > 0 ? $0.0 / Double($0.1) : 0 }
        m.tokensByRegion = regionW.mapValues { $0.1 }
        if !wAll.isEmpty {
            let wm = wAll.reduce(0.0) { $0 + Double($1) } / Double(wAll.count)
            m.weightMean = wm
            m.weightStd = (wAll.reduce(0.0) { $0 + (Double($1) - wm) * (Double($1) - wm) } / Double(wAll.count)).squareRoot()
            m.weightMin = Double(wAll.min()!); m.weightMax = Double(wAll.max()!)
            m.weightedFraction = Double(wAll.count { $0 > 0 }) / Double(wAll.count)
        }
        m.clipFraction = clipped / max(counted * Double(config.ppoEpochs), 1)
        m.kl = klSum / max(counted * Double(config.ppoEpochs), 1)
        m.responseLengthMean = Double(sampled) / Double(max(groups.count * n, 1))
        m.seconds = Date().timeIntervalSince(t0)
        m.tokensPerSecond = Double(trained + sampled) / m.seconds
        return m
    }

    struct Shaped {
        var weights: [Float]; var rewards: [Float]; var components: [Float]; var advantages: [Float]; var metrics: BatchMetrics
        var status: [RolloutStatus]
    }

    /// Hands one group to the shaping core (Qwen ids, entropies of the sampled tokens) and maps
    /// the `[n, responseLength]` weights back onto target positions.
    func shape(group g: Group, entropies: [Float]) throws -> Shaped {
        let b = g.batch, n = b.batch
        let len = max(1, b.responseLength.max() ?? 1)
        let padQ = codec.shaperIDs([pad])[0]
        var ids = [Int32](repeating: padQ, count: n * len), mask = [Float](repeating: 0, count: n * len)
        var ent = [Float](repeating: 0, count: n * len)
        for r in 0..<n {
            let q = codec.shaperIDs(g.responses[r])
            for t in 0..<q.count {
                ids[r * len + t] = q[t]; mask[r * len + t] = 1
                ent[r * len + t] = entropies[r * b.time + b.responseStart[r] + t]
            }
        }
        let options = ShapeOptions(profile: config.profile, reward: config.reward, rewardFlags: config.rewardFlags,
                                   scheduleJSON: config.scheduleJSON, temperature: config.sampling.temperature)
        let req = ShapeRequest(inputIDs: ids, mask: mask, batch: n, length: len,
                               groundTruths: Array(repeating: g.example.groundTruth, count: n), step: step + 1,
                               entropy: .entropies(ent), promptIDs: Array(repeating: codec.shaperIDs(g.prompt), count: n),
                               options: options)
        let res = try shaper.shape(req)
        guard res.weights.count == n * len, res.rewards.count == n else {
            throw TrainerError.data("shaper returned \(res.weights.count) weights / \(res.rewards.count) rewards for a \(n)×\(len) batch")
        }
        var w = [Float](repeating: 0, count: n * b.time)
        for r in 0..<n { for t in 0..<b.responseLength[r] { w[r * b.time + b.responseStart[r] + t] = res.weights[r * len + t] } }
        // Group-normalised advantages (GRPO): (r − mean) / (std + 1e-6), unbiased std as torch.std.
        let mean = res.rewards.reduce(0, +) / Float(n)
        let varr = res.rewards.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(max(n - 1, 1))
        let adv = res.rewards.map { ($0 - mean) / (varr.squareRoot() + 1e-6) }
        return Shaped(weights: w, rewards: res.rewards, components: res.components, advantages: adv, metrics: res.metrics,
                      status: res.rolloutStatus)
    }
}
