import Foundation
import Trainer

/// One GRPO step of the fallback trainer at a real model shape, timed in its two phases — what
/// `rest-shaper bench grpo` prints and `examples/bench/torch_grpo_step.py` mirrors in PyTorch.
///
/// Random weights and random prompt ids (a random model never stops early, so every rollout is
/// `newTokens` long and both sides do the same work): `prompts` prompts whose lengths are spaced
/// evenly from ¾·`promptTokens` to `promptTokens` (a padded batch), `samples` rollouts each.
/// The update is the trainer's own (``PolicyUpdate``: PPO-clip, per-token weights, one AdamW
/// step) with seeded advantages and uniform weights in place of the shaping core, whose cost is
/// not the subject here. Tokens/s: sampled tokens per rollout second; prompt + response tokens
/// per update second (padding excluded; the same count the PyTorch script uses).
public enum GRPOBenchmark {
    /// What one run measured.
    public struct Result: Codable, Sendable {
        public var backend: String
        public var precision: String
        public var parameters: Int
        public var prompts: Int
        public var samples: Int
        public var promptLengths: [Int]
        public var newTokens: Int
        public var microBatch: Int
        public var recompute: Bool
        public var rolloutSeconds: Double
        public var rolloutTokensPerSecond: Double
        public var updateSeconds: Double
        public var updateTokensPerSecond: Double
        public var updateTokens: Int
        public var loss: Double
        public var gradNorm: Double
        /// Peak of the backend's tensors (device memory on a GPU) and of the process's resident memory.
        public var peakBackendBytes: Int
        public var peakResidentBytes: Int
        /// What the memory plan predicted for the same settings.
        public var memoryPlanPeakBytes: Int
    }

    /// The prompt lengths both sides use: `count` lengths spaced evenly from ¾·`tokens` to `tokens`.
    public static func promptLengths(count: Int, tokens: Int) -> [Int] {
        (0..<count).map { p in count == 1 ? tokens : tokens - (tokens / 4) * (count - 1 - p) / (count - 1) }
    }

    public static func run(backend: TensorBackend, config: ModelConfig, precision: Precision, prompts: Int, samples: Int,
                           promptTokens: Int, newTokens: Int, microBatch: Int, recompute: Bool, seed: UInt64 = 1,
                           log: (String) -> Void = { _ in }) throws -> Result {
        var train = TrainConfig()
        train.promptsPerStep = prompts; train.samplesPerPrompt = samples
        train.sampling = SamplingOptions(temperature: 1, topP: 1, maxNewTokens: newTokens)
        train.lr = 1e-6; train.maxGradNorm = 1
        train.execution.precision = precision; train.execution.recompute = recompute; train.execution.updateMicroBatch = microBatch
        let lengths = promptLengths(count: prompts, tokens: promptTokens)
        let plan = MemoryPlan(model: config, train: train, longestPrompt: lengths.max() ?? promptTokens,
                              limitBytes: backend.memoryCapacity.bytes, limitSource: backend.memoryCapacity.source)
        log(plan.render())
        guard plan.fits else { throw TrainerError.insufficientMemory(plan.refusal) }

        let model = try Qwen3Model(config: config, backend: backend, precision: precision)
        model.randomInit(seed: seed)
        var rng = TrainerRNG(seed: seed &+ 1)
        let promptIDs = lengths.map { n in (0..<n).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) } }
        // A short warm-up of both phases (kernel loading, BLAS handles) outside the timings.
        log("warm-up")
        let warm = try Sampler(model: model).sample(prompts: [Array(promptIDs[0].prefix(16))], n: 2,
                                                    options: SamplingOptions(temperature: 1, topP: 1, maxNewTokens: 4), stopIDs: [], rng: &rng)
        let grads = ParameterSet(specs: model.weights.specs, backend: backend)
        let update = PolicyUpdate(model: model, reference: nil, config: train, pad: 0)
        _ = try update.accumulate([group(prompt: Array(promptIDs[0].prefix(16)), rollouts: warm, rng: &rng)], into: grads)
        _ = backend.sumOfSquares(grads.tensors[0])
        backend.resetPeak()

        log("rollouts: \(prompts) prompts × \(samples) samples × \(newTokens) new tokens")
        var t0 = Date()
        let rollouts = try Sampler(model: model).sample(prompts: promptIDs, n: samples, options: train.sampling, stopIDs: [], rng: &rng)
        let rolloutSeconds = Date().timeIntervalSince(t0)
        let sampled = rollouts.reduce(0) { $0 + $1.ids.count }

        log("update")
        let groups = promptIDs.indices.map { p in group(prompt: promptIDs[p], rollouts: Array(rollouts[(p * samples)..<((p + 1) * samples)]), rng: &rng) }
        t0 = Date()
        grads.zero(on: backend)
        let tally = try update.accumulate(groups, into: grads)
        let optimizer = AdamW(model: model, lr: train.lr, weightDecay: 0.01, maxGradNorm: train.maxGradNorm)
        let norm = optimizer.step(model: model, grads: grads)
        _ = backend.sumOfSquares(model.parameters.tensors[0])   // synchronise
        let updateSeconds = Date().timeIntervalSince(t0)
        let updateTokens = zip(promptIDs, groups).reduce(0) { acc, pg in acc + pg.1.rollouts.reduce(0) { $0 + pg.0.count + $1.ids.count } }
        return Result(backend: backend.name, precision: precision.rawValue, parameters: model.parameters.scalarCount,
                      prompts: prompts, samples: samples, promptLengths: lengths, newTokens: newTokens,
                      microBatch: update.microBatch(groupSize: samples), recompute: recompute,
                      rolloutSeconds: rolloutSeconds, rolloutTokensPerSecond: Double(sampled) / rolloutSeconds,
                      updateSeconds: updateSeconds, updateTokensPerSecond: Double(updateTokens) / updateSeconds, updateTokens: updateTokens,
                      loss: tally.loss, gradNorm: norm, peakBackendBytes: backend.memory.peakBytes,
                      peakResidentBytes: ProcessMemory.peakResidentBytes(), memoryPlanPeakBytes: plan.peakBytes)
    }

    /// A group with uniform weights and seeded, group-normalised advantages.
    static func group(prompt: [Int32], rollouts: [Rollout], rng: inout TrainerRNG) -> RolloutGroup {
        let raw = rollouts.map { _ in Float(rng.normal()) }
        let mean = raw.reduce(0, +) / Float(raw.count)
        return RolloutGroup(example: TaskExample(prompt: "", groundTruth: ""), prompt: prompt, rollouts: rollouts,
                            weights: rollouts.map { [Float](repeating: 1, count: $0.ids.count) },
                            advantages: raw.map { $0 - mean })
    }
}
