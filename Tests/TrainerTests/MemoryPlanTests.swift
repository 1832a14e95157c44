import Foundation
import Testing
import Trainer

/// The memory plan against what the backend actually allocates in a GRPO step (the CPU
/// backend counts its tensors), with and without activation recomputation.
@Suite struct MemoryPlanTests {
    static func trainer(recompute: Bool, backend: CPUBackend) throws -> GRPOTrainer {
        let v = SyntheticToolTask.vocabulary
        let cfg = ModelConfig(vocabSize: v.vocabularySize, hiddenSize: 64, intermediateSize: 192, numHiddenLayers: 4,
                              numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 16, ropeTheta: 10_000, tieWordEmbeddings: true)
        let model = try Qwen3Model(config: cfg, backend: backend)
        model.randomInit(seed: 3)
        var tc = TrainConfig()
        tc.initModel = cfg; tc.steps = 1; tc.promptsPerStep = 2; tc.samplesPerPrompt = 4
        tc.sampling = SamplingOptions(temperature: 1, topP: 1, maxNewTokens: 24)
        tc.execution.recompute = recompute; tc.execution.updateMicroBatch = 2; tc.execution.headChunk = 16
        let examples = (0..<4).map { SyntheticToolTask().example($0) }
        return try GRPOTrainer(config: tc, model: model, codec: v, shaper: SyntheticFakeShaper(), examples: examples)
    }

    @Test(arguments: [false, true]) func planBoundsTheMeasuredPeak(recompute: Bool) throws {
        let backend = CPUBackend()
        let t = try Self.trainer(recompute: recompute, backend: backend)
        let plan = try t.memoryPlan()
        #expect(plan.render().contains(recompute ? "layer inputs" : "activations"))
        try t.grpoStep()
        let peak = backend.memory.peakBytes
        #expect(plan.peakBytes >= peak, "plan \(plan.peakBytes) < measured \(peak)")
        #expect(Double(plan.peakBytes) <= 1.6 * Double(peak), "plan \(plan.peakBytes) vs measured \(peak)")
        #expect(plan.fits)
    }

    @Test func recomputeShrinksTheUpdatePhase() throws {
        let a = try Self.trainer(recompute: false, backend: CPUBackend()).memoryPlan()
        let b = try Self.trainer(recompute: true, backend: CPUBackend()).memoryPlan()
        #expect(b.updateBytes < a.updateBytes)
    }

    @Test func aPlanThatDoesNotFitIsRefusedWithReasons() throws {
        var tc = TrainConfig()
        tc.promptsPerStep = 8; tc.samplesPerPrompt = 8; tc.sampling.maxNewTokens = 1024
        let shape = try JSONDecoder().decode(ModelConfig.self, from: Data("""
            {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "tie_word_embeddings": true}
            """.utf8))
        let plan = MemoryPlan(model: shape, train: tc, longestPrompt: 600, limitBytes: 24 << 30, limitSource: "test")
        #expect(!plan.fits)
        #expect(plan.refusal.contains("--recompute") && plan.refusal.contains("GiB"))
        #expect(plan.render().contains("DOES NOT FIT"))
        // Qwen3-1.7B's shape: 1,720,574,976 parameters (tied embeddings) → 6.9 GB of fp32 weights.
        #expect(plan.resident[0].bytes == 1_720_574_976 * 4)
    }
}
