import Foundation

/// What a training run will hold in backend memory, estimated from the model's shape and the
/// train config before anything is allocated, and the limit it must fit in.
///
/// Three parts: what lives for the whole run (weights, gradients, AdamW moments, a reference
/// model), the rollout phase (KV cache, prefill activations, logits rows) and the update phase
/// (activations of one micro-batch, one layer's backward, the LM-head chunk). The peak is the
/// resident part plus the larger phase. Counts follow the tensors the code allocates
/// (``Qwen3Model/layerForward(_:x:batch:time:)``, ``KVCache``, ``TokenLoss``); host-side
/// overhead (tokenizer, runtime) is not included. MemoryPlanTests checks the estimate against
/// the backend's measured peak.
public struct MemoryPlan: Sendable {
    /// One line of the plan.
    public struct Line: Sendable {
        public var item: String
        public var bytes: Int
        public var detail: String
    }

    public var resident: [Line] = []
    public var rollout: [Line] = []
    public var update: [Line] = []
    /// The memory the plan must fit in and where that figure came from.
    public var limitBytes: Int
    public var limitSource: String

    public var residentBytes: Int { resident.reduce(0) { $0 + $1.bytes } }
    public var rolloutBytes: Int { rollout.reduce(0) { $0 + $1.bytes } }
    public var updateBytes: Int { update.reduce(0) { $0 + $1.bytes } }
    /// Resident memory plus the larger phase.
    public var peakBytes: Int { residentBytes + max(rolloutBytes, updateBytes) }
    public var fits: Bool { peakBytes <= limitBytes }

    /// Estimates the plan of `train` on a model of shape `model`, whose longest prompt has
    /// `longestPrompt` tokens and longest warm-up response `longestAnswer` tokens.
    public init(model c: ModelConfig, train: TrainConfig, longestPrompt: Int, longestAnswer: Int = 0,
                limitBytes: Int, limitSource: String) {
        self.limitBytes = limitBytes; self.limitSource = limitSource
        let f = MemoryLayout<Float>.size
        let ex = train.execution
        let params = c.parameterSpecs.reduce(0) { $0 + $1.count }
        let matrices = c.parameterSpecs.filter { $0.shape.count == 2 }.reduce(0) { $0 + $1.count }
        let bf16 = ex.precision == .bf16
        resident.append(Line(item: bf16 ? "master weights (fp32)" : "weights (fp32)", bytes: params * f,
                             detail: "\(Self.count(params)) parameters"))
        if bf16 { resident.append(Line(item: "working weights (bf16)", bytes: matrices * 2, detail: "the weight matrices")) }
        resident.append(Line(item: "gradients (fp32)", bytes: params * f, detail: ""))
        resident.append(Line(item: "AdamW moments (fp32)", bytes: 2 * params * f, detail: "m and v"))
        if train.klCoef > 0 {
            resident.append(Line(item: "reference model", bytes: params * f + (bf16 ? matrices * 2 : 0), detail: "klCoef > 0"))
        }

        let d = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
        let ff = c.intermediateSize, L = c.numHiddenLayers, V = c.vocabSize
        let n = train.samplesPerPrompt
        // Rollouts: a batch of R prompts prefilled once, the cache then copied to R·n rows.
        let R = ex.rolloutPrompts > 0 ? min(ex.rolloutPrompts, train.promptsPerStep) : train.promptsPerStep
        let capacity = longestPrompt + train.sampling.maxNewTokens
        rollout.append(Line(item: "KV cache", bytes: KVCache.bytes(config: c, batch: R * n + R, capacity: capacity),
                            detail: "\(R)×\(n) rows × \(capacity) slots (+ the \(R) prefill rows)"))
        rollout.append(Line(item: "prefill activations", bytes: R * longestPrompt * (2 * d + 2 * q + 2 * kv + 2 * ff) * f,
                            detail: "\(R) × \(longestPrompt) positions"))
        let samplingScratch = R * n * V * f   // the CUDA kernel keeps each row's probabilities (the CPU one row)
        rollout.append(Line(item: "logits rows", bytes: (R + 2 * R * n) * V * f + samplingScratch,
                            detail: "prefill, per-step and sampling rows of \(V)"))

        // Update: one micro-batch of sequences of prompt + response.
        func updateLines(sequences: Int, length: Int, label: String) -> [Line] {
            let N = sequences * length
            let kept = c.activationFloatsPerPosition
            var lines: [Line] = []
            if ex.recompute {
                lines.append(Line(item: "\(label) layer inputs", bytes: L * N * d * f, detail: "\(sequences) × \(length) positions, recompute"))
                lines.append(Line(item: "\(label) recomputed layer", bytes: N * kept * f, detail: "one layer's activations"))
            } else {
                lines.append(Line(item: "\(label) activations", bytes: L * N * kept * f, detail: "\(sequences) × \(length) positions × \(L) layers"))
            }
            lines.append(Line(item: "\(label) backward of one layer", bytes: N * (3 * ff + 5 * d + 2 * q + 4 * kv) * f,
                              detail: "layer gradients + final norm"))
            lines.append(Line(item: "\(label) LM-head chunk", bytes: min(ex.headChunk, N) * V * f, detail: "\(ex.headChunk) rows of logits"))
            return lines
        }
        let mb = ex.updateMicroBatch > 0 ? min(ex.updateMicroBatch, n) : n
        let grpo = updateLines(sequences: mb, length: longestPrompt + train.sampling.maxNewTokens, label: "update:")
        var phase = grpo
        if train.warmupSteps > 0 {
            let wmb = ex.updateMicroBatch > 0 ? min(ex.updateMicroBatch, train.warmupBatch) : train.warmupBatch
            let warm = updateLines(sequences: wmb, length: longestPrompt + longestAnswer + 1, label: "warm-up:")
            if warm.reduce(0, { $0 + $1.bytes }) > grpo.reduce(0, { $0 + $1.bytes }) { phase = warm }
        }
        update = phase
    }

    /// The plan as a table (GiB), its peak, the limit and whether it fits.
    public func render() -> String {
        func gib(_ b: Int) -> String { String(format: "%8.2f GiB", Double(b) / 1_073_741_824) }
        var out = "memory plan (backend tensors):\n"
        for (title, lines) in [("whole run", resident), ("rollouts", rollout), ("update", update)] {
            out += "  \(title):\n"
            for l in lines { out += "    \(l.item.padding(toLength: 34, withPad: " ", startingAt: 0)) \(gib(l.bytes))  \(l.detail)\n" }
        }
        out += "  peak = whole run + max(rollouts, update) = \(gib(peakBytes).trimmingCharacters(in: .whitespaces))"
        out += "; limit \(gib(limitBytes).trimmingCharacters(in: .whitespaces)) (\(limitSource)): \(fits ? "fits" : "DOES NOT FIT")\n"
        return out
    }

    /// Why a plan that does not fit was refused, with what would shrink it.
    public var refusal: String {
        var hints: [String] = []
        if !(update.first?.item.contains("layer inputs") ?? true) { hints.append("--recompute") }
        hints.append("a smaller execution.updateMicroBatch")
        hints.append("a smaller execution.rolloutPrompts or sampling.maxNewTokens")
        hints.append("execution.memoryLimitGiB if the limit is wrong")
        return "the memory plan needs \(String(format: "%.2f", Double(peakBytes) / 1_073_741_824)) GiB but the limit is "
            + "\(String(format: "%.2f", Double(limitBytes) / 1_073_741_824)) GiB (\(limitSource)); try " + hints.joined(separator: ", ")
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000_000 ? String(format: "%.2f B", Double(n) / 1e9) : n >= 1_000_000 ? String(format: "%.1f M", Double(n) / 1e6) : "\(n)"
    }
}

extension ModelConfig {
    /// fp32 values one layer's forward keeps per position for its backward (see
    /// ``Qwen3Model/LayerActivations``): x, h1, x2, h2; q, q after norm+RoPE, attention output;
    /// k, cached k and v; gate, up, SwiGLU output; the norms' rstd and attention's lse.
    public var activationFloatsPerPosition: Int {
        let d = hiddenSize, q = numAttentionHeads * headDim, kv = numKeyValueHeads * headDim
        return 4 * d + 3 * q + 3 * kv + 3 * intermediateSize + 2 + 2 * numAttentionHeads + numKeyValueHeads
    }
}

extension MemoryPlan {
    /// The plan of `train` on a model of shape `model` over `examples` (their longest prompt and
    /// answer, as `codec` encodes them; the first 4096 examples are measured).
    public static func forTraining(model: ModelConfig, train: TrainConfig, codec: TextCodec, examples: [TaskExample],
                                   capacity: (bytes: Int, source: String)) throws -> MemoryPlan {
        let sample = examples.prefix(4096)
        let prompts = try sample.map { try codec.encode($0.prompt).count }
        let answers = train.warmupSteps > 0 ? try sample.map { try codec.encode($0.groundTruth).count } : [0]
        let limit = train.execution.memoryLimitGiB.map { (Int($0 * 1_073_741_824), "execution.memoryLimitGiB") } ?? capacity
        return MemoryPlan(model: model, train: train, longestPrompt: prompts.max() ?? 1, longestAnswer: answers.max() ?? 0,
                          limitBytes: limit.0, limitSource: limit.1)
    }
}

extension GRPOTrainer {
    /// The memory plan of this trainer's config on its model and data.
    public func memoryPlan() throws -> MemoryPlan {
        try MemoryPlan.forTraining(model: model.config, train: config, codec: codec, examples: examples,
                                   capacity: model.backend.memoryCapacity)
    }
}
