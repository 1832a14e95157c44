import ArgumentParser
import Foundation
import Trainer

/// `rest-shaper bench train`: forward and forward+backward tokens/s of the fixed small config
/// (``TrainBenchmark/config``), printed as JSON. `examples/bench/torch_reference.py` measures
/// the same model with PyTorch on the CPU.
struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Benchmark forward+backward tokens/s for a small config.")

    @Option(help: "Sequences per batch.") var batch = 4
    @Option(help: "Tokens per sequence.") var seq = 128
    @Option(help: "Timed iterations.") var iterations = 5
    @Option(help: "Backend: cpu.") var backend = "cpu"

    func run() async throws {
        guard backend == "cpu" else { throw ValidationError("backend '\(backend)' is not available in this build (cpu only)") }
        let r = try TrainBenchmark.run(backend: CPUBackend(), batch: batch, seq: seq, iterations: iterations)
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var out = try enc.encode(r); out.append(0x0A)
        FileHandle.standardOutput.write(out)
    }
}
