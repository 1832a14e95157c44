import ArgumentParser
import Foundation
import Trainer

/// `rest-shaper init-model --config c.json [--out DIR]`: a Qwen3-architecture model with random
/// weights (N(0, 0.02²), norms 1), written as HF `config.json` + `model.safetensors`; the folder
/// defaults to `models/<config file name>` (e.g. `models/qwen3-0.6b-shape`).
struct InitModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init-model", abstract: "Create a Qwen3-architecture model with random weights from a config.")

    @Option(help: "HF-style config.json (vocab_size, hidden_size, …). Omit with --synthetic.") var config: String?
    @Flag(help: "Use the tiny default architecture sized for the built-in synthetic task's vocabulary.") var synthetic = false
    @Option(help: "Output folder (default: models/<config file name without .json>; models/synthetic with --synthetic).") var out: String?
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func run() async throws {
        let cfg: ModelConfig
        if let config {
            cfg = try ModelConfig.load(from: URL(fileURLWithPath: config))
        } else if synthetic {
            cfg = ModelConfig(vocabSize: SyntheticToolTask.vocabulary.vocabularySize, hiddenSize: 64, intermediateSize: 128,
                              numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 16, ropeTheta: 10_000,
                              tieWordEmbeddings: true, maxPositionEmbeddings: 128)
        } else {
            throw ValidationError("give --config FILE or --synthetic")
        }
        let out = self.out ?? "models/" + (config.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? "synthetic")
        let model = try Qwen3Model(config: cfg, backend: CPUBackend())
        model.randomInit(seed: seed)
        try model.save(directory: URL(fileURLWithPath: out))
        print("wrote \(out)/config.json and model.safetensors (\(model.weights.scalarCount) parameters)")
    }
}
