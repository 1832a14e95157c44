import Foundation

/// Sampling settings for rollouts.
public struct SamplingOptions: Sendable, Codable, Equatable {
    public var temperature: Float = 1.0
    public var topP: Float = 1.0
    public var maxNewTokens: Int = 64
    public init(temperature: Float = 1.0, topP: Float = 1.0, maxNewTokens: Int = 64) {
        self.temperature = temperature; self.topP = topP; self.maxNewTokens = maxNewTokens
    }
}

/// Draws `n` continuations of one prompt at once (one ``KVCache`` row each).
public struct Sampler: Sendable {
    public let model: Qwen3Model
    public init(model: Qwen3Model) { self.model = model }

    /// Returns each row's sampled ids, ending with the first stop id when one was drawn
    /// (which is kept: `<|im_end|>` belongs to the response, as in the ToolRL data).
    public func sample(prompt: [Int32], n: Int, options: SamplingOptions, stopIDs: Set<Int32>,
                       rng: inout TrainerRNG) throws -> [[Int32]] {
        guard !prompt.isEmpty, n > 0 else { throw TrainerError.data("empty prompt or n = 0") }
        let vocab = model.config.vocabSize
        let cache = KVCache(model: model, batch: n, capacity: prompt.count + options.maxNewTokens)
        var logits = try model.decode(ids: Array(repeating: prompt, count: n).flatMap { $0 }, time: prompt.count, cache: cache)
        var out = [[Int32]](repeating: [], count: n)
        var done = [Bool](repeating: false, count: n)
        for step in 0..<options.maxNewTokens {
            var next = [Int32](repeating: 0, count: n)
            for r in 0..<n {
                if done[r] { next[r] = out[r].last ?? 0; continue }
                let id = Self.draw(logits[(r * vocab)..<((r + 1) * vocab)], temperature: options.temperature, topP: options.topP, rng: &rng)
                next[r] = id
                out[r].append(id)
                if stopIDs.contains(id) { done[r] = true }
            }
            if done.allSatisfy({ $0 }) || step == options.maxNewTokens - 1 { break }
            logits = try model.decode(ids: next, time: 1, cache: cache)
        }
        return out
    }

    /// Temperature + nucleus (top-p) sampling from one row of logits; temperature 0 = greedy.
    public static func draw(_ row: ArraySlice<Float>, temperature: Float, topP: Float, rng: inout TrainerRNG) -> Int32 {
        let base = row.startIndex
        if temperature <= 0 {
            var best = base
            for i in row.indices where row[i] > row[best] { best = i }
            return Int32(best - base)
        }
        let mx = row.max() ?? 0
        var probs = row.map { Double(exp(($0 - mx) / temperature)) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        var order = Array(probs.indices)
        if topP < 1 {
            order.sort { probs[$0] > probs[$1] }
            var acc = 0.0, keep = 0
            for i in order { acc += probs[i]; keep += 1; if acc >= Double(topP) { break } }
            order = Array(order.prefix(keep))
        }
        let mass = order.reduce(0.0) { $0 + probs[$1] }
        var u = rng.uniform() * mass
        for i in order { u -= probs[i]; if u <= 0 { return Int32(i) } }
        return Int32(order.last ?? 0)
    }
}
