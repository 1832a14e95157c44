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

    public init(config c: TrainConfig, backend: TensorBackend = CPUBackend()) throws {
        try c.validate()
        // The Qwen3 tokenizer: the shaping core always needs it.
        let tokPath = c.tokenizerPath ?? c.modelPath.map { $0 + "/tokenizer.json" }
        guard let tokPath, FileManager.default.fileExists(atPath: tokPath) else {
            throw TrainerError.invalidConfig("tokenizerPath (a Qwen3 tokenizer.json or qwen.tiktoken) is required: the shaping core scores Qwen ids"
                                             + (tokPath.map { " — \($0) does not exist" } ?? ""))
        }
        let qwen: Tokenizer
        do { qwen = try Tokenizer.load(path: tokPath) } catch { throw TrainerError.tokenizer("\(tokPath): \(error)") }
        // Model.
        let model: Qwen3Model
        if let resume = c.resumeFrom {
            model = try Qwen3Model.load(directory: URL(fileURLWithPath: resume), backend: backend)
        } else if let path = c.modelPath {
            model = try Qwen3Model.load(directory: URL(fileURLWithPath: path), backend: backend)
        } else {
            var mc = c.initModel!
            if c.task == "synthetic" && mc.vocabSize <= 0 { mc.vocabSize = SyntheticToolTask.vocabulary.vocabularySize }  // 0 = size it to the task
            model = try Qwen3Model(config: mc, backend: backend)
            model.randomInit(seed: c.seed)
        }
        // Codec: the synthetic piece vocabulary for a small-vocabulary model, else Qwen ids.
        let pieces = SyntheticToolTask.vocabulary.vocabularySize
        if model.config.vocabSize < 151_643 {
            guard c.task == "synthetic", model.config.vocabSize >= pieces else {
                throw TrainerError.invalidConfig("vocab_size \(model.config.vocabSize): a model below the Qwen3 vocabulary only fits the synthetic task, with vocab_size ≥ \(pieces)")
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
        shaper = ShapingEngine(tokenizer: qwen)
        self.model = model
    }
}
