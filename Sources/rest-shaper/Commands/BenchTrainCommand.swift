import ArgumentParser
import Benchmarks
import Console
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
    @Option(help: "Backend: cpu, cuda or auto.") var backend = "cpu"
    @OptionGroup var progress: ProgressOptions

    func run() async throws {
        let be = try TrainBackendOption.make(backend) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let meter = progress.meter("bench train", total: 1 + 2 * iterations, unit: .items("passes"))
        let r = try TrainBenchmark.run(backend: be, batch: batch, seq: seq, iterations: iterations) { done, _ in meter.update(done) }
        meter.finish()
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var out = try enc.encode(r); out.append(0x0A)
        FileHandle.standardOutput.write(out)
    }
}
