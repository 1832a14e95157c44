import Entropy
import Tokenization

/// Realistic tool-use rollouts for benchmarks and load tests: a `<think>` block of English
/// sentences, one or two `<tool_call>` JSON lines, the end-of-turn token, then `<|endoftext|>`
/// padding under mask 0. Seeded, so runs are comparable.
public struct SyntheticRollouts {
    public var batch: Int
    public var length: Int
    public var seed: UInt64

    public init(batch: Int, length: Int, seed: UInt64 = 42) {
        self.batch = batch; self.length = length; self.seed = seed
    }

    private static let words = ["the", "user", "wants", "weather", "in", "Paris", "tool", "takes", "a", "city",
                                "and", "unit", "so", "I", "should", "call", "get_weather", "with", "celsius", "first",
                                "then", "check", "forecast", "for", "tomorrow", "because", "they", "asked", "about",
                                "rain", "maybe", "also", "convert", "currency", "amount", "EUR", "USD", "flight",
                                "booking", "date", "2024-05-01", "number", "42", "results", "search", "query"]
    private static let tools = ["get_weather", "convert_currency", "search_flights", "book_hotel", "lookup_stock"]

    /// Builds the batch: ids and mask `[batch, length]` and a ground truth per row.
    public func make(tokenizer: Tokenizer) -> (ids: [Int32], mask: [Float], groundTruths: [String]) {
        var rng = SplitMix64(seed: seed)
        let pad = tokenizer.id(forAddedToken: "<|endoftext|>") ?? 0
        var ids = [Int32](repeating: pad, count: batch * length)
        var mask = [Float](repeating: 0, count: batch * length)
        var truths: [String] = []
        for r in 0..<batch {
            let tool = Self.tools[Int(rng.next() % UInt64(Self.tools.count))]
            let city = Self.words[Int(rng.next() % UInt64(Self.words.count))]
            let n = Int(rng.next() % 100)
            let call = "{\"name\": \"\(tool)\", \"parameters\": {\"query\": \"\(city)\", \"count\": \(n)}}"
            let tail = "\n</think>\n<tool_call>\n\(call)\n</tool_call><|im_end|>"
            let tailIDs = tokenizer.encode(tail).ids
            // Fill between half and all of the row, think text first.
            let target = length / 2 + Int(rng.next() % UInt64(max(1, length / 2)))
            // Sentences are encoded one at a time (cheap), then the row is re-encoded once so the ids
            // are the canonical tokenisation, as a sampled rollout usually is.
            var thinkIDs = tokenizer.encode("<think>\n").ids
            while thinkIDs.count + tailIDs.count < target {
                var sentence = ""
                for _ in 0..<12 { sentence += " " + Self.words[Int(rng.next() % UInt64(Self.words.count))] }
                thinkIDs += tokenizer.encode(sentence + ".").ids
            }
            let text = (try? tokenizer.decode(thinkIDs + tailIDs, skipSpecialTokens: false)) ?? ""
            var row = Array(tokenizer.encode(text).ids.prefix(length))
            if row.count < tailIDs.count { row = Array(tailIDs.prefix(length)) }
            for j in 0..<row.count { ids[r * length + j] = row[j]; mask[r * length + j] = 1 }
            truths.append("<think> ... </think>\n<tool_call>\n\(call)\n</tool_call>")
        }
        return (ids, mask, truths)
    }
}
