import Pipeline
import TestSupport
import Testing
import Trainer

/// The synthetic task scored by the real shaping core through the Qwen-id mapping.
@Suite struct EngineTaskTests {
    static func score(_ responses: [String], ex: TaskExample, profile: String = "aligned") throws -> ShapeResult {
        let v = SyntheticToolTask.vocabulary
        let engine = ShapingEngine(tokenizer: try TestFixtures.qwenTokenizer(), threads: 1)
        let ids = try responses.map { v.shaperIDs(try v.encode($0)) }
        let len = ids.map(\.count).max()!
        var flat: [Int32] = [], mask: [Float] = []
        for r in ids {
            flat += r + Array(repeating: 151_643, count: len - r.count)
            mask += Array(repeating: 1, count: r.count) + Array(repeating: 0, count: len - r.count)
        }
        let prompt = v.shaperIDs(try v.encode(ex.prompt))
        return try engine.shape(ShapeRequest(inputIDs: flat, mask: mask, batch: ids.count, length: len,
                                             groundTruths: Array(repeating: ex.groundTruth, count: ids.count), step: 1,
                                             promptIDs: Array(repeating: prompt, count: ids.count),
                                             options: ShapeOptions(profile: profile)))
    }

    @Test func groundTruthScoresHighest() throws {
        let ex = SyntheticToolTask(digits: 2).example(1)
        let wrongArg = ex.groundTruth.replacingOccurrences(of: "\"}}", with: "9\"}}")
        let noEnd = ex.groundTruth
        let r = try Self.score([ex.groundTruth + "<|im_end|>", wrongArg + "<|im_end|>", noEnd, "<think>"], ex: ex)
        print("rewards", r.rewards, "components", r.components, r.rolloutStatus)
        #expect(r.rewards[0] > r.rewards[1])
        #expect(r.rewards[1] > r.rewards[3])
        let w = Array(r.weights[0..<(r.weights.count / 4)])
        print("weights", w)
        #expect(w.contains { $0 > 1 })   // ResT up-weights name/argument tokens
    }
}

extension EngineTaskTests {
    /// An rlla prompt through the Qwen codec: the engine scores an unrelated answer below the
    /// ground truth.
    @Test func rllaScoredThroughQwenCodec() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let codec = QwenCodec(tokenizer: tok)
        let ex = try RLLAData.load(url: fixtures.url("rlla_subset.jsonl"))[0]
        let engine = ShapingEngine(tokenizer: tok, threads: 1)
        let responses = [ex.groundTruth + "<|im_end|>", "hello there<|im_end|>", "<think> x </think>\n<tool_call>\n{\"name\": \"Nope\", \"parameters\": {}}\n</tool_call><|im_end|>"]
        let ids = try responses.map { try codec.encode($0) }
        let len = ids.map(\.count).max()!
        var flat: [Int32] = [], mask: [Float] = []
        for r in ids { flat += r + Array(repeating: 151_643, count: len - r.count); mask += Array(repeating: 1, count: r.count) + Array(repeating: 0, count: len - r.count) }
        let prompt = try codec.encode(ex.prompt)
        let r = try engine.shape(ShapeRequest(inputIDs: flat, mask: mask, batch: 3, length: len,
                                              groundTruths: Array(repeating: ex.groundTruth, count: 3), step: 1,
                                              promptIDs: Array(repeating: prompt, count: 3)))
        print("rlla rewards", r.rewards, r.components)
        #expect(r.rewards[0] > r.rewards[1])
        #expect(r.rewards[0] > r.rewards[2])
    }
}
