import Entropy
import Foundation
import Trainer

/// Forward(+backward) throughput of the model on a fixed small config — what
/// `rest-shaper bench train` prints and `examples/bench/torch_reference.py` mirrors.
public enum TrainBenchmark {
    /// The fixed benchmark architecture (Qwen3 layout, ~6.6 M parameters).
    public static let config = ModelConfig(vocabSize: 8192, hiddenSize: 256, intermediateSize: 768, numHiddenLayers: 4,
                                           numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 32, rmsNormEps: 1e-6,
                                           ropeTheta: 1_000_000, tieWordEmbeddings: true, maxPositionEmbeddings: 1024)

    /// Result of one benchmark run.
    public struct Result: Codable, Sendable {
        public var backend: String
        public var batch: Int
        public var seq: Int
        public var iterations: Int
        public var parameters: Int
        public var forwardTokensPerSecond: Double
        public var forwardBackwardTokensPerSecond: Double
        public var forwardBackwardSecondsPerIteration: Double
        /// Forward+backward tokens per CPU-second of the whole process (all threads, spinning
        /// included): the efficiency figure, less sensitive than wall time to a loaded machine.
        public var forwardBackwardTokensPerCPUSecond: Double
        /// Threads of the CPU pool (0 on the GPU).
        public var threads: Int
        /// OpenBLAS's core in this process (`openblas_get_corename()`; "n/a" on the GPU).
        public var blasCore: String
        /// How that core was chosen (``BLASCore/Outcome``).
        public var blasSelection: BLASCore.Outcome?

        enum CodingKeys: String, CodingKey {
            case backend, batch, seq, iterations, parameters, forwardTokensPerSecond, forwardBackwardTokensPerSecond
            case forwardBackwardSecondsPerIteration, forwardBackwardTokensPerCPUSecond, threads
            case blasCore = "blas_core", blasSelection = "blas_selection"
        }
    }

    /// Times `iterations` forward passes and `iterations` forward+backward passes (loss =
    /// mean token log-likelihood, so the logits gradient is the full softmax one) after one warm-up.
    /// `progress(done, total)` follows the passes; the time it takes is left out of the timings.
    public static func run(backend: TensorBackend, config: ModelConfig = config, batch: Int = 4, seq: Int = 128,
                           iterations: Int = 5, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let model = try Qwen3Model(config: config, backend: backend)
        model.randomInit(seed: 1)
        var rng = TrainerRNG(seed: 2)
        let n = batch * seq
        let ids = (0..<n).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        let targets = (0..<n).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        let coef = [Float](repeating: -1 / Float(n), count: n)
        let grads = ParameterSet(specs: model.weights.specs, backend: backend)
        func fwd() throws { _ = backend.download(try model.forward(ids: ids, batch: batch, time: seq).logits).count }
        func fwdBwd() throws {
            let pass = try model.forward(ids: ids, batch: batch, time: seq)
            backend.logProbBackward(logits: pass.logits, targets: targets, coef: coef, rows: n, vocab: config.vocabSize, invTemperature: 1)
            model.backward(pass, dLogits: pass.logits, into: grads)
            _ = backend.sumOfSquares(grads.tensors[0])   // synchronise
        }
        var done = 0, reporting = 0.0
        func tick() {
            let c = Date()
            done += 1
            progress(done, 1 + 2 * iterations)
            reporting += Date().timeIntervalSince(c)
        }
        try fwdBwd()
        tick()
        var t = Date()
        reporting = 0
        for _ in 0..<iterations { try fwd(); tick() }
        let fs = Date().timeIntervalSince(t) - reporting
        t = Date()
        reporting = 0
        let c0 = BenchMachine.processCPUSeconds()
        for _ in 0..<iterations { try fwdBwd(); tick() }
        let fb = Date().timeIntervalSince(t) - reporting, fbCPU = BenchMachine.processCPUSeconds() - c0
        let onCPU = backend.name == "cpu"
        return Result(backend: backend.name, batch: batch, seq: seq, iterations: iterations, parameters: model.weights.scalarCount,
                      forwardTokensPerSecond: Double(n * iterations) / fs,
                      forwardBackwardTokensPerSecond: Double(n * iterations) / fb,
                      forwardBackwardSecondsPerIteration: fb / Double(iterations),
                      forwardBackwardTokensPerCPUSecond: Double(n * iterations) / fbCPU, threads: onCPU ? CPUBackend.threads : 0,
                      blasCore: onCPU ? BLASCore.loadedCore : "n/a", blasSelection: onCPU ? BLASCore.processOutcome : nil)
    }
}
