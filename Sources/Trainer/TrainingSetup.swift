import Foundation
import Pipeline
import Tokenization

/// Builds everything `rest-shaper train` needs from a ``TrainConfig``: model (HF folder,
/// checkpoint or random init), codec, training examples and the shaping engine.
public struct TrainingSetup: @unchecked Sendable {
    public let model: Qwen3Model
    public let codec: TextCodec
    public let examples: [TaskExample]
    public let shaper: any Shaper

    /// `beforeAllocating` sees the model's shape, codec and examples before any weight is
    /// allocated (the memory plan is checked there, so a run that cannot fit stops at once).
    public init(config c: TrainConfig, backend: TensorBackend = CPUBackend(),
                beforeAllocating: (ModelConfig, TextCodec, [TaskExample]) throws -> Void = { _, _, _ in }) throws {
        try c.validate()
        // The Qwen3 tokenizer: the shaping core always needs it.
        let tokPath = c.tokenizerPath ?? c.modelPath.map { $0 + "/tokenizer.json" }
        guard let tokPath, FileManager.default.fileExists(atPath: tokPath) else {
            throw TrainerError.invalidConfig("tokenizerPath (a Qwen3 tokenizer.json or qwen.tiktoken) is required: the shaping core scores Qwen ids"
                                             + (tokPath.map { " — \($0) does not exist" } ?? ""))
        }
        let qwen: Tokenizer
        do { qwen = try Tokenizer.load(path: tokPath) } catch { throw TrainerError.tokenizer("\(tokPath): \(error)") }
        let modelConfig = try Self.modelConfig(for: c)
        // Codec: the synthetic piece vocabulary for a small-vocabulary model, else Qwen ids.
        let pieces = SyntheticToolTask.vocabulary.vocabularySize
        if modelConfig.vocabSize < 151_643 {
            guard c.task == "synthetic", modelConfig.vocabSize >= pieces else {
                throw TrainerError.invalidConfig("vocab_size \(modelConfig.vocabSize): a model below the Qwen3 vocabulary only fits the synthetic task, with vocab_size ≥ \(pieces)")
            }
            codec = SyntheticToolTask.vocabulary
        } else {
            codec = QwenCodec(tokenizer: qwen)
        }
        // Data.
        if c.task == "rlla" {
            examples = try RLLAData.load(url: URL(fileURLWithPath: c.dataPath!))
        } else {
            let task = SyntheticToolTask(digits: c.syntheticDigits)
            examples = (0..<(c.syntheticPrompts > 0 ? c.syntheticPrompts : 4096)).map { task.example($0, seed: c.seed) }
        }
        try beforeAllocating(modelConfig, codec, examples)
        // Model.
        let model = try Qwen3Model(config: modelConfig, backend: backend, precision: c.execution.precision)
        if let dir = c.resumeFrom ?? c.modelPath {
            try model.loadWeights(directory: URL(fileURLWithPath: dir))
        } else {
            model.randomInit(seed: c.seed)
        }
        shaper = ShapingEngine(tokenizer: qwen)
        self.model = model
    }

    /// The architecture the config trains: the checkpoint's or model folder's `config.json`, or
    /// `initModel` (vocab_size 0 on the synthetic task: sized to its vocabulary).
    public static func modelConfig(for c: TrainConfig) throws -> ModelConfig {
        if let dir = c.resumeFrom ?? c.modelPath {
            return try ModelConfig.load(from: URL(fileURLWithPath: dir).appendingPathComponent("config.json"))
        }
        var mc = c.initModel!
        if c.task == "synthetic" && mc.vocabSize <= 0 { mc.vocabSize = SyntheticToolTask.vocabulary.vocabularySize }
        return mc
    }
}
