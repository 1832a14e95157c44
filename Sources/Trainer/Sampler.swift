import Foundation

/// Sampling settings for rollouts.
public struct SamplingOptions: Sendable, Codable, Equatable {
    public var temperature: Float = 1.0
    public var topP: Float = 1.0
    public var maxNewTokens: Int = 64
    public init(temperature: Float = 1.0, topP: Float = 1.0, maxNewTokens: Int = 64) {
        self.temperature = temperature; self.topP = topP; self.maxNewTokens = maxNewTokens
    }

    enum CodingKeys: String, CodingKey { case temperature, topP, maxNewTokens }

    /// Every key optional (defaults: temperature 1, topP 1, maxNewTokens 64).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? 1
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? 1
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? 64
    }
}

/// One sampled continuation: the ids (ending with the stop id when one was drawn — `<|im_end|>`
/// belongs to the response, as in the ToolRL data), and per id its log-probability and the
/// entropy of the distribution it was drawn from (both at the sampling temperature).
public struct Rollout: Sendable, Equatable {
    public var ids: [Int32]
    public var logProbs: [Float]
    public var entropies: [Float]
    public var finish: FinishReason

    public init(ids: [Int32], logProbs: [Float], entropies: [Float], finish: FinishReason) {
        self.ids = ids; self.logProbs = logProbs; self.entropies = entropies; self.finish = finish
    }
}

/// Batched rollouts: prompts of different lengths share one batch (left-padded; see ``KVCache``),
/// each prompt is prefilled once and its KV cache copied to its `n` samples, and every step draws
/// the next token of all rows on the backend (``TensorBackend/sampleTokens(logits:rows:vocab:temperature:topP:uniforms:)``),
/// so only the sampled ids (with their log-probabilities and entropies) come back to the host.
/// Each row stops at its own first stop id; finished rows ride along until all are done.
public struct Sampler: Sendable {
    public let model: Qwen3Model
    public init(model: Qwen3Model) { self.model = model }

    /// `n` continuations of every prompt, prompt-major (`result[p · n + s]`). Temperature 0 is
    /// greedy and draws no random numbers; otherwise one uniform per row and step comes from `rng`.
    /// Only ids below `drawable` are drawn (default: the whole vocabulary; the trainer passes its
    /// tokenizer's size, so a vocabulary padded past it — 151,936 vs 151,669 — never yields a
    /// token the shaping core cannot decode).
    public func sample(prompts: [[Int32]], n: Int, options: SamplingOptions, stopIDs: Set<Int32>, padID: Int32 = 0,
                       drawable: Int? = nil, rng: inout TrainerRNG) throws -> [Rollout] {
        guard !prompts.isEmpty, n > 0, prompts.allSatisfy({ !$0.isEmpty }) else { throw TrainerError.data("empty prompt or n = 0") }
        guard options.maxNewTokens > 0 else { throw TrainerError.data("maxNewTokens must be positive") }
        let be = model.backend, vocab = model.config.vocabSize
        let width = prompts.map(\.count).max()!
        // Left padding (padding slots are never attended to); finished rows are fed `padID` too.
        let padding = prompts.map { Int32(width - $0.count) }
        let ids = prompts.flatMap { [Int32](repeating: padID, count: width - $0.count) + $0 }
        var cache = KVCache(model: model, batch: prompts.count, capacity: width + options.maxNewTokens, padding: padding)
        var logits = try model.decodeLogits(ids: ids, time: width, cache: cache)
        if n > 1 {
            cache = cache.repeated(n, backend: be)
            let expanded = be.makeTensor(count: prompts.count * n * vocab)
            for p in prompts.indices { for s in 0..<n {
                be.copy(logits, srcOffset: p * vocab, to: expanded, dstOffset: (p * n + s) * vocab, count: vocab)
            } }
            logits = expanded
        }
        let rows = prompts.count * n
        var out = [Rollout](repeating: Rollout(ids: [], logProbs: [], entropies: [], finish: .length), count: rows)
        var done = [Bool](repeating: false, count: rows)
        for step in 0..<options.maxNewTokens {
            let uniforms = options.temperature > 0 ? (0..<rows).map { _ in Float(rng.uniform()) } : []
            let drawn = be.sampleTokens(logits: logits, rows: rows, vocab: vocab, candidates: min(drawable ?? vocab, vocab),
                                        temperature: max(options.temperature, 0), topP: options.topP, uniforms: uniforms)
            var next = [Int32](repeating: padID, count: rows)
            for r in 0..<rows where !done[r] {
                let id = drawn.ids[r]
                out[r].ids.append(id); out[r].logProbs.append(drawn.logProbs[r]); out[r].entropies.append(drawn.entropies[r])
                next[r] = id
                if stopIDs.contains(id) { done[r] = true; out[r].finish = .stop(id) }
            }
            if done.allSatisfy({ $0 }) || step == options.maxNewTokens - 1 { break }
            logits = try model.decodeLogits(ids: next, time: 1, cache: cache)
        }
        return out
    }

    /// `n` continuations of one prompt (ids only).
    public func sample(prompt: [Int32], n: Int, options: SamplingOptions, stopIDs: Set<Int32>,
                       rng: inout TrainerRNG) throws -> [[Int32]] {
        try sample(prompts: [prompt], n: n, options: options, stopIDs: stopIDs, rng: &rng).map(\.ids)
    }
}
