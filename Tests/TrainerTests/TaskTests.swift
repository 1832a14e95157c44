import Foundation
import Pipeline
import TestSupport
import Testing
import Trainer

@Suite struct TaskTests {
    @Test func syntheticTextRoundTripsThroughPieces() throws {
        let v = SyntheticToolTask.vocabulary
        let task = SyntheticToolTask()
        for i in 0..<20 {
            let ex = task.example(i)
            for text in [ex.prompt, ex.groundTruth] {
                let ids = try v.encode(text)
                #expect(v.decode(ids) == text)
                #expect(v.shaperIDs(ids).allSatisfy { $0 >= 0 && $0 < 151_669 })
            }
        }
        let ex = task.example(3)
        #expect(ex.prompt.hasPrefix("<|im_start|>system\nTools: get_weather(city), find_book(title), play_song(song)<|im_end|>"))
        #expect(ex.prompt.hasSuffix("<|im_end|>\n<|im_start|>assistant\n"))
        #expect(ex.groundTruth.contains("<tool_call>\n{\"name\": \""))
        #expect(throws: TrainerError.self) { try v.encode("unknown §") }
        #expect(v.shaperIDs([999, -1]) == [151_643, 151_643])
        #expect(v.decode([999]) == "\u{FFFD}")
    }

    /// Every piece's Qwen id is the Qwen3 token whose text is the piece, so the shaping core's
    /// decode of the mapped ids is exactly the model's text.
    @Test func piecesAreQwenTokens() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let v = SyntheticToolTask.vocabulary
        for (p, q) in zip(v.pieces, v.qwenIDs) { #expect(try tok.decode([q]) == p, "piece \(p.debugDescription) ↔ \(q)") }
        let ex = SyntheticToolTask().example(5)
        #expect(try tok.decode(v.shaperIDs(try v.encode(ex.prompt + ex.groundTruth))) == ex.prompt + ex.groundTruth)
        let codec = QwenCodec(tokenizer: tok)
        #expect(codec.specialID("<|im_end|>") == 151_645)
        #expect(codec.decode(try codec.encode(ex.prompt)) == ex.prompt)
    }

    @Test func rllaSubsetLoads() throws {
        let ex = try RLLAData.load(url: fixtures.url("rlla_subset.jsonl"))
        #expect(ex.count == 8)
        #expect(ex[0].prompt.hasPrefix("<|im_start|>system\n"))
        #expect(ex[0].prompt.hasSuffix("<|im_start|>assistant\n"))
        #expect(ex[0].groundTruth.contains("<tool_call>"))
    }

    @Test func samplerRespectsStopAndLength() throws {
        let v = SyntheticToolTask.vocabulary
        var cfg = Fx.tinyConfig(); cfg.vocabSize = v.vocabularySize
        let model = try Fx.randomModel(cfg, seed: 8, std: 0.5)
        var rng = TrainerRNG(seed: 1)
        let stop: Set<Int32> = [v.specialID("<|im_end|>")!]
        let out = try Sampler(model: model).sample(prompt: try v.encode(SyntheticToolTask().example(0).prompt), n: 5,
                                                   options: SamplingOptions(temperature: 1, topP: 0.9, maxNewTokens: 12),
                                                   stopIDs: stop, rng: &rng)
        #expect(out.count == 5)
        for row in out {
            #expect(row.count >= 1 && row.count <= 12)
            if let i = row.firstIndex(where: { stop.contains($0) }) { #expect(i == row.count - 1) }
        }
        // Greedy takes the argmax; top-p 0.01 keeps only the argmax.
        let be = CPUBackend(), logits = be.makeTensor(count: 3)
        be.upload([0.1, 2, 0.5], to: logits)
        #expect(be.sampleTokens(logits: logits, rows: 1, vocab: 3, temperature: 0, topP: 1, uniforms: []).ids == [1])
        for _ in 0..<20 {
            let u = [Float(rng.uniform())]
            #expect(be.sampleTokens(logits: logits, rows: 1, vocab: 3, temperature: 1, topP: 0.01, uniforms: u).ids == [1])
        }
    }

    /// The digest in the metrics is that of the weights the loss multiplied in, and it equals the
    /// digest of what the shaper handed out (the trainer maps response weights onto target positions).
    @Test func metricsRecordTheDigestOfTheAppliedWeights() throws {
        let v = SyntheticToolTask.vocabulary
        var cfg = Fx.tinyConfig(); cfg.vocabSize = v.vocabularySize
        let model = try Fx.randomModel(cfg, seed: 3, std: 0.1)
        var tc = TrainConfig()
        tc.warmupSteps = 0; tc.steps = 2; tc.promptsPerStep = 2; tc.samplesPerPrompt = 3
        tc.sampling = SamplingOptions(temperature: 1, topP: 1, maxNewTokens: 8); tc.initModel = cfg
        let shaper = DigestRecordingShaper()
        let trainer = try GRPOTrainer(config: tc, model: model, codec: v, shaper: shaper,
                                      examples: (0..<8).map { SyntheticToolTask().example($0) })
        for _ in 0..<2 {
            let before = shaper.handedOut.withLock { $0.count }
            let m = try trainer.grpoStep()
            let sent = shaper.handedOut.withLock { $0[before...].reduce(WeightDigest()) { $0.adding($1) } }
            let applied = try #require(m.appliedWeights)
            #expect(sent.matches(applied), "\(sent) vs \(applied)")
            #expect(applied.weightSum != Double(applied.tokens)) // not the mask: the weights are not all ones
        }
    }

    /// The whole loop (warm-up, GRPO, metrics JSONL, checkpoint, resume) on a fake shaper.
    @Test func grpoLoopRunsAndResumes() throws {
        let v = SyntheticToolTask.vocabulary
        var cfg = Fx.tinyConfig(); cfg.vocabSize = v.vocabularySize
        let model = try Fx.randomModel(cfg, seed: 2, std: 0.1)
        var tc = TrainConfig()
        tc.warmupSteps = 2; tc.warmupBatch = 4; tc.steps = 2; tc.promptsPerStep = 2; tc.samplesPerPrompt = 3
        tc.sampling = SamplingOptions(temperature: 1, topP: 1, maxNewTokens: 8); tc.checkpointEvery = 2
        tc.initModel = cfg; tc.klCoef = 0.05; tc.ppoEpochs = 2
        let examples = (0..<8).map { SyntheticToolTask().example($0) }
        let trainer = try GRPOTrainer(config: tc, model: model, codec: v, shaper: SyntheticFakeShaper(), examples: examples)
        let dir = Fx.tempDir("loop")
        let metrics = try trainer.run(metricsURL: dir.appendingPathComponent("m.jsonl"), checkpointDir: dir)
        #expect(metrics.count == 4)
        #expect(metrics.allSatisfy { $0.loss.isFinite && $0.gradNorm.isFinite })
        let lines = try String(contentsOf: dir.appendingPathComponent("m.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[3].contains("\"rewardMean\"") && lines[3].contains("\"appliedWeights\""))
        // uniform weights (the fake's): Σw = tokens, and every step records what its loss applied
        for m in metrics where m.phase == "grpo" {
            let d = try #require(m.appliedWeights)
            #expect(d.rows == 6 && d.tokens > 0 && d.weightSum == Double(d.tokens) && d.digest >= d.weightSum)
        }
        // Resume into a fresh trainer: same weights and position.
        let model2 = try Qwen3Model(config: cfg, backend: CPUBackend())
        let t2 = try GRPOTrainer(config: tc, model: model2, codec: v, shaper: SyntheticFakeShaper(), examples: examples)
        try t2.resume(from: dir.appendingPathComponent("latest"))
        #expect(t2.step == 2 && t2.warmupDone == 2)
        #expect(model2.backend.download(model2.weights.tensors[1]) == model.backend.download(model.weights.tensors[1]))
    }
}
