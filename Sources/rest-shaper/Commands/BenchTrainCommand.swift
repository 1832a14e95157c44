import ArgumentParser
import Benchmarks
import Console
import Foundation
import Trainer

/// `rest-shaper bench train`: forward and forward+backward tokens/s of the fixed small config
/// (``TrainBenchmark/config``), printed as JSON, with OpenBLAS's core (`blas_core`).
/// `--torch-python P` also runs `examples/bench/torch_reference.py` (the same model in PyTorch on
/// the CPU) with that interpreter, interleaved round by round, and prints the ratio of the medians.
struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Benchmark forward+backward tokens/s for a small config.")

    @Option(help: "Sequences per batch.") var batch = 4
    @Option(help: "Tokens per sequence.") var seq = 128
    @Option(help: "Timed iterations.") var iterations = 5
    @Option(help: "Backend: cpu, cuda or auto.") var backend = "cpu"
    @Option(help: "CPU threads for both sides (0 = every core, the default settings).") var threads = 0
    @Option(help: "A Python with torch: also time the PyTorch reference in the same run and print ratio_vs_torch.") var torchPython: String?
    @Option(help: "The PyTorch reference script.") var torchScript = "examples/bench/torch_reference.py"
    @Option(help: "Rounds with --torch-python (each times both sides, alternating who goes first; medians are compared).") var rounds = 3

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard batch > 0, seq > 0, iterations > 0, rounds > 0, threads >= 0 else { throw ValidationError("batch, seq, iterations and rounds must be > 0") }
    }

    /// The torch script's JSON (the keys it prints).
    struct TorchResult: Codable {
        var torch: String
        var threads: Int
        var forwardBackwardTokensPerSecond: Double
        var forwardBackwardTokensPerCPUSecond: Double
    }

    /// What `--torch-python` adds to the JSON.
    struct Comparison: Encodable {
        var rounds: Int
        var torchReference: [TorchResult]
        var oursForwardBackwardTokensPerSecond: [Double]
        var torchForwardBackwardTokensPerSecond: Double
        var ratioVsTorch: Double
        var ratioVsTorchCPU: Double
        var cpuModel: String
        var cores: Int
        var loadAverage: Double?
        enum CodingKeys: String, CodingKey {
            case rounds, torchReference = "torch_reference", oursForwardBackwardTokensPerSecond = "ours_rounds_tokens_per_second"
            case torchForwardBackwardTokensPerSecond = "torch_forwardBackwardTokensPerSecond"
            case ratioVsTorch = "ratio_vs_torch", ratioVsTorchCPU = "ratio_vs_torch_cpu", cpuModel = "cpu_model", cores
            case loadAverage = "load_average_1m"
        }
    }

    /// Our result and, with `--torch-python`, the comparison, as one flat JSON object.
    struct Report: Encodable {
        var result: TrainBenchmark.Result
        var comparison: Comparison?
        func encode(to encoder: Encoder) throws {
            try result.encode(to: encoder)
            try comparison?.encode(to: encoder)
        }
    }

    func run() async throws {
        CPUBackend.requestThreads(threads)
        let be = try TrainBackendOption.make(backend) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var report: Report
        let perRound = 1 + 2 * iterations
        let meter = progress.meter("bench train", total: (torchPython == nil ? 1 : rounds) * perRound, unit: .items("passes"))
        if let torchPython {
            var ours: [TrainBenchmark.Result] = [], torch: [TorchResult] = []
            let args = [torchScript, "--batch", "\(batch)", "--seq", "\(seq)", "--iterations", "\(iterations)", "--threads", "\(threads > 0 ? threads : BenchMachine.cores)"]
            for r in 0..<rounds {
                // Alternate the order so neither side always runs on a machine warmed (or heated) by the other.
                if r % 2 == 1 { torch.append(try ExternalBenchmark.runJSON(TorchResult.self, executable: torchPython, arguments: args)) }
                ours.append(try TrainBenchmark.run(backend: be, batch: batch, seq: seq, iterations: iterations) { done, _ in meter.update(r * perRound + done) })
                if r % 2 == 0 { torch.append(try ExternalBenchmark.runJSON(TorchResult.self, executable: torchPython, arguments: args)) }
            }
            let oursRates = ours.map(\.forwardBackwardTokensPerSecond), torchRates = torch.map(\.forwardBackwardTokensPerSecond)
            let oursMedian = BenchMachine.median(oursRates)!, torchMedian = BenchMachine.median(torchRates)!
            let oursCPU = BenchMachine.median(ours.map(\.forwardBackwardTokensPerCPUSecond))!
            let torchCPU = BenchMachine.median(torch.map(\.forwardBackwardTokensPerCPUSecond))!
            // Report the round closest to our median, with the medians' ratio.
            let mid = ours.min { abs($0.forwardBackwardTokensPerSecond - oursMedian) < abs($1.forwardBackwardTokensPerSecond - oursMedian) }!
            report = Report(result: mid, comparison: Comparison(
                rounds: rounds, torchReference: torch, oursForwardBackwardTokensPerSecond: oursRates,
                torchForwardBackwardTokensPerSecond: torchMedian, ratioVsTorch: oursMedian / torchMedian, ratioVsTorchCPU: oursCPU / torchCPU,
                cpuModel: BenchMachine.cpuModel, cores: BenchMachine.cores, loadAverage: BenchMachine.loadAverage))
        } else {
            report = Report(result: try TrainBenchmark.run(backend: be, batch: batch, seq: seq, iterations: iterations) { done, _ in meter.update(done) },
                            comparison: nil)
        }
        meter.finish()
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var out = try enc.encode(report); out.append(0x0A)
        FileHandle.standardOutput.write(out)
    }
}
