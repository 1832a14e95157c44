import Tokenization

/// Encode/decode throughput measurements for the `bench` command (prints JSON there; never a timed test).
public enum TokenizerBenchmark {
    /// One measurement.
    public struct Result: Sendable, Codable {
        public var tokens: Int
        public var bytes: Int
        public var seconds: Double
        public var tokensPerSecond: Double
        public var megabytesPerSecond: Double
    }

    /// A deterministic rollout-like text (reasoning prose, a tool call in JSON, some digits and unicode)
    /// of at least `bytes` UTF-8 bytes.
    public static func sampleText(bytes: Int = 1 << 20) -> String {
        let words = ["the", "user", "wants", "to", "know", "weather", "in", "Paris", "tomorrow", "so", "I", "should",
                     "call", "function", "with", "city", "and", "unit", "parameters", "then", "summarize", "result",
                     "for", "them", "because", "it's", "important", "that", "we", "don't", "guess", "values",
                     "first", "check", "arguments", "carefully", "before", "answering", "question", "about",
                     "temperature", "forecast", "rain", "probability", "returned", "API", "response", "format"]
        var s = ""
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Int { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Int(state % 1_000_003) }
        while s.utf8.count < bytes {
            s += "<think>\n"
            for k in 0..<120 {
                s += (k % 15 == 0 ? "" : " ") + words[next() % words.count]
                if k % 15 == 14 { s += ". " }
                if k % 40 == 39 { s += "\n" }
            }
            s += " 温度 \(next() % 40)°C, naïve café 👍.\n</think>\n<tool_call>\n"
            s += #"{"name": "get_weather", "arguments": {"city": "Paris", "days": \#(next() % 9 + 1), "unit": "celsius", "hourly": [\#(next() % 100), \#(next() % 100), \#(next() % 100)], "note": "it's \"fine\""}}"#
            s += "\n</tool_call><|im_end|>\n"
        }
        return s
    }

    /// Encodes `text` `iterations` times on the calling thread (ids and offsets) and reports the best run.
    public static func encodeThroughput(_ tokenizer: Tokenizer, text: String, iterations: Int = 5) -> Result {
        var best = Double.infinity
        var tokens = 0
        let clock = ContinuousClock()
        for _ in 0..<max(1, iterations) {
            let start = clock.now
            let e = tokenizer.encode(text)
            let d = clock.now - start
            tokens = e.ids.count
            let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            best = min(best, seconds)
        }
        let bytes = text.utf8.count
        return Result(tokens: tokens, bytes: bytes, seconds: best, tokensPerSecond: Double(tokens) / best,
                      megabytesPerSecond: Double(bytes) / best / 1e6)
    }

    /// Decodes `ids` to a String `iterations` times and reports the best run.
    public static func decodeThroughput(_ tokenizer: Tokenizer, ids: [Int32], iterations: Int = 5) throws -> Result {
        var best = Double.infinity
        var bytes = 0
        let clock = ContinuousClock()
        for _ in 0..<max(1, iterations) {
            let start = clock.now
            let s = try tokenizer.decode(ids)
            let d = clock.now - start
            bytes = s.utf8.count
            best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        return Result(tokens: ids.count, bytes: bytes, seconds: best, tokensPerSecond: Double(ids.count) / best,
                      megabytesPerSecond: Double(bytes) / best / 1e6)
    }

    /// `rollouts` rollout-like texts of about `tokensPerRollout` tokens each: consecutive windows
    /// of the sample text's ids, decoded (what a trainer decodes from sampled rollouts).
    public static func rolloutTexts(_ tokenizer: Tokenizer, rollouts: Int = 512, tokensPerRollout: Int = 2048) throws -> [String] {
        let ids = tokenizer.encodeIDs(sampleText(bytes: max(1, rollouts * tokensPerRollout) * 5))
        var texts: [String] = []
        var at = 0
        for _ in 0..<rollouts {
            if at + tokensPerRollout > ids.count { at = 0 }
            texts.append(try tokenizer.decode(ids[at ..< min(ids.count, at + tokensPerRollout)]))
            at += tokensPerRollout
        }
        return texts
    }

    /// The `released` profile's tokenizer work on one batch: ``rolloutTexts(_:rollouts:tokensPerRollout:)``
    /// each re-encoded with offsets once, on the calling thread. Reports the best of `iterations`
    /// runs; `seconds` is for the whole batch.
    public static func rolloutBatchThroughput(_ tokenizer: Tokenizer, rollouts: Int = 512, tokensPerRollout: Int = 2048,
                                              iterations: Int = 3) throws -> Result {
        let texts = try rolloutTexts(tokenizer, rollouts: rollouts, tokensPerRollout: tokensPerRollout)
        var best = Double.infinity
        var tokens = 0
        let clock = ContinuousClock()
        for _ in 0..<max(1, iterations) {
            let start = clock.now
            tokens = 0
            for t in texts { tokens += tokenizer.encode(t).ids.count }
            let d = clock.now - start
            best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        return Result(tokens: tokens, bytes: bytes, seconds: best, tokensPerSecond: Double(tokens) / best,
                      megabytesPerSecond: Double(bytes) / best / 1e6)
    }

    /// Checksums of a batch's ids and code point offsets, as `examples/bench/hf_tokenizer.py`
    /// computes them (token n, counted from 1 over the batch: Σ n·(id+1) and Σ n·(31·start+end+1),
    /// mod 2⁶¹−1), so a comparison can show both sides produced the same encodings.
    public static func checksums(_ encodings: [Encoding]) -> (ids: UInt64, offsets: UInt64) {
        let mod: UInt64 = (1 << 61) - 1
        var ids: UInt64 = 0, offs: UInt64 = 0, n: UInt64 = 0
        for e in encodings {
            for (id, r) in zip(e.ids, e.offsets) {
                n += 1
                ids = (ids + (n * UInt64(id + 1)) % mod) % mod
                offs = (offs + (n * UInt64(31 * r.lowerBound + r.upperBound + 1)) % mod) % mod
            }
        }
        return (ids, offs)
    }
}
