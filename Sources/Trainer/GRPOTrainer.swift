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
    /// Rollout and update phases of a GRPO step: wall time and tokens/s (sampled tokens;
    /// positions run through the update's forward and backward passes; a micro-batch with no
    /// gradient — its group's advantages all 0 — runs the forward only, see
    /// ``UpdateTally/skippedBackwards``).
    public var rolloutSeconds: Double = 0
    public var rolloutTokensPerSecond: Double = 0
    public var updateSeconds: Double = 0
    public var updateTokensPerSecond: Double = 0
    /// Peak resident memory of the process so far (bytes), and the peak of the backend's own
    /// tensors (host memory on the CPU, device memory on a GPU).
    public var peakResidentBytes: Int = 0
    public var peakBackendBytes: Int = 0
    /// The digest (PROTOCOL.md §`applied`) of the weights as the loss multiplied them in this
    /// step's first epoch, over every group: what a sidecar trainer would acknowledge.
    public var appliedWeights: WeightDigest? = nil
    /// Policy-gradient norm and variance, overall and per region (only with `gradStats` on).
    public var gradStats: GradientStats? = nil
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
            let ref = try Qwen3Model(config: model.config, backend: model.backend, precision: model.precision)
            for (a, b) in zip(model.parameters.tensors, ref.parameters.tensors) {
                model.backend.copy(a, srcOffset: 0, to: b, dstOffset: 0, count: a.count)
            }
            ref.refreshWorkingWeights()
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
        let ntok = Double(max(1, responses.reduce(0) { $0 + $1.count }))
        let size = config.execution.updateMicroBatch > 0 ? config.execution.updateMicroBatch : prompts.count
        let head = TokenLoss(model: model, chunkRows: config.execution.headChunk)
        grads.zero(on: model.backend)
        var loss = 0.0, positions = 0
        for first in stride(from: 0, to: prompts.count, by: size) {
            let idx = first..<min(first + size, prompts.count)
            let b = SequenceBatch(prompts: Array(prompts[idx]), responses: Array(responses[idx]), pad: pad)
            let segments = (0..<b.batch).map { k in (k * b.time + b.responseStart[k])..<(k * b.time + b.responseStart[k] + b.responseLength[k]) }
            let pass = try model.forwardHidden(ids: b.inputs, batch: b.batch, time: b.time, recompute: config.execution.recompute)
            positions += b.batch * b.time
            let dHidden = model.backend.makeTensor(count: b.batch * b.time * model.config.hiddenSize)
            head.backward(pass, segments: segments, targets: b.targets, invTemperature: 1, dHidden: dHidden, grads: grads) { _, offsets, logp in
                loss -= logp.reduce(0.0) { $0 + Double($1) } / ntok
                return [Float](repeating: Float(-1 / ntok), count: offsets.count)
            }
            model.backward(pass, dHidden: dHidden, into: grads)
        }
        let savedLR = optimizer.lr
        optimizer.lr = config.warmupLR
        let norm = optimizer.step(model: model, grads: grads)
        optimizer.lr = savedLR
        warmupDone += 1
        let dt = Date().timeIntervalSince(t0)
        var m = StepMetrics(phase: "warmup", step: warmupDone, loss: loss, gradNorm: norm, lr: Double(config.warmupLR),
                            tokensPerSecond: Double(positions) / dt, seconds: dt)
        m.recordMemory(backend: model.backend)
        return m
    }

    // MARK: GRPO

    /// One GRPO step: batched rollouts for `promptsPerStep` prompts, shaping, then `ppoEpochs`
    /// optimizer steps.
    @discardableResult
    public func grpoStep() throws -> StepMetrics {
        let t0 = Date()
        let n = config.samplesPerPrompt
        let examples = nextExamples(config.promptsPerStep)
        let prompts = try examples.map { try codec.encode($0.prompt) }
        // Rollouts: `rolloutPrompts` prompts (× n samples) per batch.
        let perBatch = config.execution.rolloutPrompts > 0 ? config.execution.rolloutPrompts : prompts.count
        let sampler = Sampler(model: model)
        var rollouts: [Rollout] = []
        for first in stride(from: 0, to: prompts.count, by: perBatch) {
            rollouts += try sampler.sample(prompts: Array(prompts[first..<min(first + perBatch, prompts.count)]), n: n,
                                           options: config.sampling, stopIDs: stopIDs, padID: pad,
                                           drawable: codec.vocabularySize, rng: &rng)
        }
        var groups = examples.indices.map { i in
            RolloutGroup(example: examples[i], prompt: prompts[i], rollouts: Array(rollouts[(i * n)..<((i + 1) * n)]))
        }
        let sampled = rollouts.reduce(0) { $0 + $1.ids.count }
        let rolloutSeconds = Date().timeIntervalSince(t0)

        var m = StepMetrics(phase: "grpo", step: step + 1, loss: 0, gradNorm: 0, lr: Double(config.lr), profile: config.profile)
        var rewards: [Float] = [], comps = [Double](repeating: 0, count: 4)
        var entSum = 0.0, entCount = 0.0
        var wAll: [Float] = []
        var regionEnt: [String: (Double, Int)] = [:], regionW: [String: (Double, Int)] = [:]
        for gi in groups.indices {
            let result = try shape(group: groups[gi])
            groups[gi].weights = result.weights
            groups[gi].categories = result.categories
            groups[gi].advantages = result.advantages
            rewards += result.rewards
            for st in result.status where !st.isOK { m.rolloutErrors[st.code, default: 0] += 1 }
            for r in 0..<n { for c in 0..<4 { comps[c] += Double(result.components[r * 4 + c]) } }
            for (r, ro) in groups[gi].rollouts.enumerated() {
                for e in ro.entropies { entSum += Double(e); entCount += 1 }
                wAll += result.weights[r]
            }
            for (k, v) in result.metrics.tokenCounts {
                if let e = result.metrics.entropyMeans[k] { regionEnt[k, default: (0, 0)].0 += e * Double(v); regionEnt[k, default: (0, 0)].1 += v }
                if let w = result.metrics.weightMeans[k] { regionW[k, default: (0, 0)].0 += w * Double(v); regionW[k, default: (0, 0)].1 += v }
            }
        }

        let tUpdate = Date()
        let update = PolicyUpdate(model: model, reference: reference, config: config, pad: pad)
        var clipped = 0.0, counted = 0.0, klSum = 0.0, trained = 0
        let gradStats = config.gradStats && (step + 1) % config.gradStatsEvery == 0 ? GradientStatistics(model: model) : nil
        for epoch in 0..<config.ppoEpochs {
            grads.zero(on: model.backend)
            var coefficients = epoch == 0 && gradStats != nil ? groups.map { $0.rollouts.map { [Float](repeating: 0, count: $0.ids.count) } } : []
            let tally = try update.accumulate(groups, into: grads) { gi, r, offsets, coef in
                if !coefficients.isEmpty { coefficients[gi][r].replaceSubrange(offsets, with: coef) }
            }
            if let gradStats, !coefficients.isEmpty {   // before the optimizer moves the weights
                try gradStats.add(groups: groups, coefficients: coefficients, pad: pad, invTemperature: update.invTemperature)
                m.gradStats = gradStats.finish()
            }
            m.gradNorm = optimizer.step(model: model, grads: grads)
            if epoch == 0 { m.loss = tally.loss; m.appliedWeights = tally.applied }
            clipped += tally.clipped; counted += tally.tokens; klSum += tally.kl; trained += tally.positions
        }
        let updateSeconds = Date().timeIntervalSince(tUpdate)
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
        m.clipFraction = clipped / max(counted, 1)
        m.kl = klSum / max(counted, 1)
        m.responseLengthMean = Double(sampled) / Double(max(groups.count * n, 1))
        m.seconds = Date().timeIntervalSince(t0)
        m.tokensPerSecond = Double(trained + sampled) / m.seconds
        m.rolloutSeconds = rolloutSeconds
        m.rolloutTokensPerSecond = Double(sampled) / max(rolloutSeconds, 1e-9)
        m.updateSeconds = updateSeconds
        m.updateTokensPerSecond = Double(trained) / max(updateSeconds, 1e-9)
        m.recordMemory(backend: model.backend)
        return m
    }

    struct Shaped {
        var weights: [[Float]]; var categories: [[UInt8]]; var rewards: [Float]; var components: [Float]; var advantages: [Float]; var metrics: BatchMetrics
        var status: [RolloutStatus]
    }

    /// Hands one group to the shaping core (Qwen ids, entropies of the sampled tokens) and returns
    /// the `[n][responseLength]` weights, rewards and group-normalised advantages.
    func shape(group g: RolloutGroup) throws -> Shaped {
        let n = g.rollouts.count
        let len = max(1, g.rollouts.map(\.ids.count).max() ?? 1)
        let padQ = codec.shaperIDs([pad])[0]
        var ids = [Int32](repeating: padQ, count: n * len), mask = [Float](repeating: 0, count: n * len)
        var ent = [Float](repeating: 0, count: n * len)
        for (r, ro) in g.rollouts.enumerated() {
            let q = codec.shaperIDs(ro.ids)
            for t in 0..<q.count {
                ids[r * len + t] = q[t]; mask[r * len + t] = 1
                ent[r * len + t] = ro.entropies[t]
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
        let w = g.rollouts.enumerated().map { r, ro in Array(res.weights[(r * len)..<(r * len + ro.ids.count)]) }
        // Token regions the same way (a shaper that returns none leaves every token `outside`).
        let cats = g.rollouts.enumerated().map { r, ro in
            res.categories.count == n * len ? Array(res.categories[(r * len)..<(r * len + ro.ids.count)]) : [UInt8](repeating: 0, count: ro.ids.count)
        }
        // Group-normalised advantages (GRPO): (r − mean) / (std + 1e-6), unbiased std as torch.std.
        let mean = res.rewards.reduce(0, +) / Float(n)
        let varr = res.rewards.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(max(n - 1, 1))
        let adv = res.rewards.map { ($0 - mean) / (varr.squareRoot() + 1e-6) }
        return Shaped(weights: w, categories: cats, rewards: res.rewards, components: res.components, advantages: adv, metrics: res.metrics,
                      status: res.rolloutStatus)
    }
}
