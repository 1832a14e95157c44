import ArgumentParser
import Benchmarks
import Foundation
import Trainer

/// `rest-shaper bench grpo`: one GRPO step at a real model shape (random weights) — rollout and
/// update tokens/s and peak memory, printed as JSON. `examples/bench/torch_grpo_step.py` does the
/// same step in PyTorch (HF transformers + a plain PPO-clip loss); `scripts/gpu_check.sh` runs both
/// on one GPU and prints the ratios.
struct BenchGRPOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grpo", abstract: "Benchmark one GRPO step (rollouts + update) at a model shape.")

    @Option(help: "HF-style model config (e.g. examples/train/qwen3-1.7b-shape.json).") var modelConfig: String
    @Option(help: "Prompts per step.") var prompts = 8
    @Option(help: "Rollouts per prompt.") var samples = 8
    @Option(help: "Longest prompt (tokens); the others are spaced down to ¾ of it.") var promptTokens = 512
    @Option(help: "New tokens per rollout.") var newTokens = 1024
    @Option(help: "Sequences per forward/backward pass of the update (0: a whole group).") var microBatch = 0
    @Flag(help: "Recompute activations in the backward pass.") var recompute = false
    @Option(help: "fp32 or bf16.") var precision: Precision = .bf16
    @Option(help: "Backend: cpu, cuda or auto.") var backend = "cuda"

    func run() async throws {
        let be = try TrainBackendOption.make(backend) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let config = try ModelConfig.load(from: URL(fileURLWithPath: modelConfig))
        let r = try GRPOBenchmark.run(backend: be, config: config, precision: precision, prompts: prompts, samples: samples,
                                      promptTokens: promptTokens, newTokens: newTokens, microBatch: microBatch, recompute: recompute) {
            FileHandle.standardError.write(Data(($0.hasSuffix("\n") ? $0 : $0 + "\n").utf8))
        }
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var out = try enc.encode(r); out.append(0x0A)
        FileHandle.standardOutput.write(out)
    }
}
