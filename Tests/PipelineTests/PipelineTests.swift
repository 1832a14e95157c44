import Benchmarks
import Conformance
import Pipeline
import Regions
import TestSupport
import Testing

/// The batch engine: validation errors are typed and reject the request, per-rollout problems are
/// flagged without losing the batch, rows are independent of batching and threading, and the
/// entropy curriculum advances once per batch.
struct ShapingEngineTests {
    static let call = "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"
    static let response = "<think>\nThe user wants the weather.\n</think>\n<tool_call>\n\(call)\n</tool_call><|im_end|>"
    static let truth = "<think> ... </think>\n<tool_call>\n\(call)\n</tool_call>"

    static func batch(_ rows: [String], pad: Int = 3) throws -> (ids: [Int32], mask: [Float], t: Int) {
        let tok = try TestFixtures.qwenTokenizer()
        let encoded = rows.map { tok.encode($0).ids }
        let t = (encoded.map(\.count).max() ?? 0) + pad
        let padID = tok.id(forAddedToken: "<|endoftext|>")!
        var ids = [Int32](repeating: padID, count: rows.count * t), mask = [Float](repeating: 0, count: rows.count * t)
        for (r, e) in encoded.enumerated() { for (j, id) in e.enumerated() { ids[r * t + j] = id; mask[r * t + j] = 1 } }
        return (ids, mask, t)
    }

    @Test func shapesABatchWithRewardsCategoriesAndMetrics() throws {
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), threads: 2)
        let b = try Self.batch([Self.response, "<think>\nhm\n</think>\n<response>Hi</response><|im_end|>"])
        let r = try engine.shape(ShapeRequest(inputIDs: b.ids, mask: b.mask, batch: 2, length: b.t,
                                              groundTruths: [Self.truth, Self.truth], step: 0))
        #expect(r.rewards[0] == 4)                  // format 1 + correctness 3
        #expect(r.components[0 * 4 + 0] == 1)
        #expect(r.components[0 * 4 + 1] == 3)
        #expect(r.rewards[1] < r.rewards[0])
        #expect(r.rolloutStatus.allSatisfy { $0.isOK })
        // Weights: zero on padding, mean 1 over the positive valid weights of each row.
        for row in 0..<2 {
            let w = r.weights[(row * b.t)..<((row + 1) * b.t)], m = b.mask[(row * b.t)..<((row + 1) * b.t)]
            #expect(zip(w, m).allSatisfy { $1 != 0 || $0 == 0 })
            let positive = w.filter { $0 > 0 }
            #expect(abs(positive.reduce(0, +) / Float(positive.count) - 1) < 1e-5)
        }
        #expect(r.categories.contains(TokenCategory.toolName.rawValue))
        #expect(r.metrics.tokenCounts["tool_name"] ?? 0 > 0)
        #expect(r.metrics.gammas["tool_name"] == Double(Float(1.2)))
        #expect(r.metrics.entropyProgress == nil)
    }

    @Test func rowsDoNotDependOnBatchingOrThreads() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let rows = [Self.response, "<think>x</think>\n<tool_call>\n{\"name\": \"a\", \"parameters\": {}}\n</tool_call>", "plain text"]
        let b = try Self.batch(rows)
        let many = try ShapingEngine(tokenizer: tok, threads: 3).shape(
            ShapeRequest(inputIDs: b.ids, mask: b.mask, batch: 3, length: b.t, groundTruths: Array(repeating: Self.truth, count: 3), step: 50))
        for row in 0..<3 {
            let span = (row * b.t)..<((row + 1) * b.t)
            let one = try ShapingEngine(tokenizer: tok, threads: 1).shape(
                ShapeRequest(inputIDs: Array(b.ids[span]), mask: Array(b.mask[span]), batch: 1, length: b.t, groundTruths: [Self.truth], step: 50))
            #expect(one.weights == Array(many.weights[span]))
            #expect(one.categories == Array(many.categories[span]))
            #expect(one.rewards[0] == many.rewards[row])
        }
    }

    @Test func invalidRequestsAreTypedErrors() throws {
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer())
        #expect(throws: ShapeError.shape("mask has 1 elements, expected 1×2")) {
            try engine.shape(ShapeRequest(inputIDs: [1, 2], mask: [1], batch: 1, length: 2, groundTruths: [""], step: 0))
        }
        #expect(throws: ShapeError.tokenID(row: 0, position: 1, id: 999_999)) {
            try engine.shape(ShapeRequest(inputIDs: [1, 999_999], mask: [1, 1], batch: 1, length: 2, groundTruths: [""], step: 0))
        }
        #expect(throws: ShapeError.self) {
            try engine.shape(ShapeRequest(inputIDs: [1], mask: [1], batch: 1, length: 1, groundTruths: [""], step: 0,
                                          options: ShapeOptions(profile: "no-such-profile")))
        }
        #expect(throws: ShapeError.self) {
            try engine.shape(ShapeRequest(inputIDs: [1], mask: [1], batch: 1, length: 1, groundTruths: [""], step: 0,
                                          entropy: .entropies([.nan])))
        }
    }

    /// Non-finite entropies, logits and log-sum-exps, and temperatures that overflow the logits,
    /// are `value` errors (issue 11), never a trap and never a non-finite weight.
    @Test func nonFiniteNumbersAreValueErrors() throws {
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), threads: 1)
        func code(_ e: EntropyInput, temperature: Float = 1) -> String? {
            do {
                _ = try engine.shape(ShapeRequest(inputIDs: [1, 2], mask: [1, 1], batch: 1, length: 2, groundTruths: [""], step: 0,
                                                  entropy: e, options: ShapeOptions(temperature: temperature)))
                return nil
            } catch let e as ShapeError { return e.code } catch { return "untyped \(error)" }
        }
        func logits(_ v: [Float]) -> EntropyInput { .logits(bytes: v.withUnsafeBytes { Array($0) }, dtype: .fp32, vocab: v.count / 2) }
        #expect(code(.entropies([0.5, 1])) == nil)
        for bad: Float in [.nan, .infinity, -.infinity, -1] { #expect(code(.entropies([0.5, bad])) == "value") }
        #expect(code(logits([1, 2, 3, 4])) == nil)
        #expect(code(logits([1, .nan, 3, 4])) == "value")
        #expect(code(logits([1, 2, .infinity, 4])) == "value")
        #expect(code(logits([-.infinity, -.infinity, 3, 4])) == "value") // a row with no distribution
        #expect(code(logits([3e38, -3e38, 1, 2])) == nil)
        #expect(code(logits([1e30, -1e30, 1, 2]), temperature: 1e-30) == nil) // one-hot rows: entropy 0, finite
        #expect(code(.topK(logits: [5, 2], k: 1, logsumexp: [1, 3], vocab: 10)) == "value") // log-sum-exp below the top logit
        #expect(code(.topK(logits: [1, 2], k: 1, logsumexp: [1.5, .nan], vocab: 10)) == "value")
        #expect(code(.topK(logits: [.nan, 2], k: 1, logsumexp: [1.5, 3], vocab: 10)) == "value")
        #expect(code(.topK(logits: [1, 2], k: 1, logsumexp: [2, 3], vocab: 10)) == nil)
    }

    /// An unparseable ground truth (the reference raises) flags that rollout only.
    @Test func rewardErrorsAreFlaggedPerRollout() throws {
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer())
        let b = try Self.batch([Self.response, Self.response])
        let r = try engine.shape(ShapeRequest(inputIDs: b.ids, mask: b.mask, batch: 2, length: b.t,
                                              groundTruths: [Self.truth, "<tool_call>\n{not json\n</tool_call>"], step: 0))
        #expect(r.rolloutStatus[0].isOK)
        #expect(r.rolloutStatus[1].code == "reward_error")
        #expect(r.rewards[0] == 4)
    }

    /// The README's worked example, through the engine: think entropy 2.0, 1.5, 1.8, 0.9 moves
    /// γ_think 0.6 → 0.8 → 0.8 (monotone) → 1.0.
    @Test func entropyCurriculumMovesGammaThink() throws {
        let schedule = #"{"gammas": {"think": {"kind": "entropy", "start": 0.6, "end": 1.0}}, "entropy_schedule": {"full_drop": 0.5}}"#
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), config: try .fromJSON(schedule))
        let b = try Self.batch([Self.response])
        var seen: [Double] = []
        for h in [2.0, 1.5, 1.8, 0.9] as [Float] {
            let r = try engine.shape(ShapeRequest(inputIDs: b.ids, mask: b.mask, batch: 1, length: b.t, groundTruths: [Self.truth],
                                                  step: 0, entropy: .entropies([Float](repeating: h, count: b.t))))
            seen.append(try #require(r.metrics.gammas["think"]))
            #expect(r.metrics.entropyMeans["think"].map { abs($0 - Double(h)) < 1e-6 } == true)
        }
        #expect(seen.map { ($0 * 1000).rounded() / 1000 } == [0.6, 0.8, 0.8, 1.0])
        #expect(engine.entropySchedule.progress == 1)
        engine.resetEntropySchedule()
        #expect(engine.entropySchedule.progress == 0)
    }

    @Test func syntheticBenchmarkBatchIsCanonicalAndValid() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let data = SyntheticRollouts(batch: 4, length: 256).make(tokenizer: tok)
        #expect(data.ids.count == 4 * 256)
        let r = try ShapingEngine(tokenizer: tok).shape(ShapeRequest(inputIDs: data.ids, mask: data.mask, batch: 4, length: 256,
                                                                     groundTruths: data.groundTruths, step: 10))
        #expect(r.rolloutStatus.allSatisfy { $0.isOK })
        #expect(r.metrics.tokenCounts["think"] ?? 0 > 0)
    }
}

/// The conformance runner recognises every kind of reference file it is given.
struct ConformanceRunnerTests {
    @Test func registryNamesEveryKind() {
        let kinds = Set(ConformanceRegistry.all.map { $0.kind })
        #expect(kinds.isSuperset(of: ["rest-vectors", "misalignment-demo", "tokenizer-cases"]))
        #expect(kinds.count == ConformanceRegistry.all.count)
    }

    @Test func recognisesAVectorsProbe() {
        #expect(RestVectorsSuite.recognises(firstRecordJSON: #"{"kind": "rest-vectors", "keys": ["kind", "cases"]}"#))
        #expect(!RestVectorsSuite.recognises(firstRecordJSON: #"{"kind": "tokenizer-cases", "keys": []}"#))
        #expect(MisalignmentDemoSuite.recognises(firstRecordJSON: #"{"kind": null, "keys": ["token_ids", "shift_starts_at_index", "weights_step0"]}"#))
    }
}
