import CUDABackend
import Entropy
import Testing
import Trainer

/// CPU vs CUDA on a tiny Qwen3 model: forward logits, every parameter gradient, and one AdamW
/// step, plus the raw-logits entropy kernel. Runs only where a CUDA device can be opened;
/// elsewhere it is reported as skipped (never as passed). One backend instance is shared, so the
/// tests run one at a time (a backend is used from one thread at a time, like a CUDA stream).
@Suite(.serialized) struct ParityTests {
    static let cuda: CUDABackend? = try? CUDABackend()

    static func config() -> ModelConfig {
        ModelConfig(vocabSize: 97, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
                    numKeyValueHeads: 2, headDim: 8, rmsNormEps: 1e-6, ropeTheta: 10_000, tieWordEmbeddings: false,
                    maxPositionEmbeddings: 64)
    }

    /// The same random weights on both backends.
    static func pair(seed: UInt64) throws -> (Qwen3Model, Qwen3Model) {
        let cpu = try Qwen3Model(config: config(), backend: CPUBackend())
        cpu.randomInit(seed: seed, std: 0.2)
        let gpu = try Qwen3Model(config: config(), backend: try #require(Self.cuda))
        for (a, b) in zip(cpu.weights.tensors, gpu.weights.tensors) { gpu.backend.upload(cpu.backend.download(a), to: b) }
        return (cpu, gpu)
    }

    static func maxRelDiff(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(a.map(abs).max() ?? 0, 1e-6)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"))
    func forwardBackwardAndStepMatchCPU() throws {
        let (cpu, gpu) = try Self.pair(seed: 7)
        let batch = 2, time = 9, vocab = Self.config().vocabSize
        var rng = TrainerRNG(seed: 3)
        let ids = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(vocab)) }
        let targets = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(vocab)) }
        let coef = (0..<batch * time).map { _ in Float(rng.normal()) }
        var results: [[[Float]]] = []
        for m in [cpu, gpu] {
            let be = m.backend
            let pass = try m.forward(ids: ids, batch: batch, time: time)
            let logits = be.download(pass.logits)
            let ent = be.makeTensor(count: batch * time)
            be.logProbAndEntropy(logits: pass.logits, targets: targets, rows: batch * time, vocab: vocab, invTemperature: 1, logProb: nil, entropy: ent)
            be.logProbBackward(logits: pass.logits, targets: targets, coef: coef, rows: batch * time, vocab: vocab, invTemperature: 1)
            let grads = ParameterSet(specs: m.weights.specs, backend: be)
            m.backward(pass, dLogits: pass.logits, into: grads)
            var out: [[Float]] = [logits, be.download(ent)]
            out += grads.tensors.map { be.download($0) }
            // One AdamW step on every tensor.
            for (w, g) in zip(m.weights.tensors, grads.tensors) {
                let mo = be.makeTensor(count: w.count), v = be.makeTensor(count: w.count)
                be.adamW(param: w, grad: g, m: mo, v: v, hyper: AdamWStep(lr: 1e-2, weightDecay: 0.01, step: 1))
            }
            out += m.weights.tensors.map { be.download($0) }
            results.append(out)
        }
        let names = ["logits", "entropy"] + cpu.weights.specs.map { "grad \($0.name)" } + cpu.weights.specs.map { "param \($0.name)" }
        for (i, name) in names.enumerated() {
            let d = Self.maxRelDiff(results[0][i], results[1][i])
            #expect(d < 1e-4, "\(name): max relative difference \(d)")
        }
    }

    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"))
    func rawLogitsEntropyMatchesCPU() throws {
        let gpu = try #require(Self.cuda)
        let rows = 5, vocab = 4099
        var rng = TrainerRNG(seed: 11)
        var x = (0..<rows * vocab).map { _ in Float(rng.normal() * 3) }
        x[2 * vocab + 7] = -.infinity  // masked logit
        let got = try x.withUnsafeBytes { try gpu.entropies(logits: $0, dtypeBytes: 4, kernel: "rs_entropy_f32", rows: rows, vocab: vocab, temperature: 1) }
        let cpu = CPUBackend()
        let t = cpu.makeTensor(count: rows * vocab), e = cpu.makeTensor(count: rows)
        var y = x; y[2 * vocab + 7] = -1e30  // the CPU trainer kernel is not written for -inf; same contribution (0)
        cpu.upload(y, to: t)
        cpu.logProbAndEntropy(logits: t, targets: nil, rows: rows, vocab: vocab, invTemperature: 1, logProb: nil, entropy: e)
        let want = cpu.download(e)
        for r in 0..<rows { #expect(abs(got[r] - want[r]) < 1e-4, "row \(r): \(got[r]) vs \(want[r])") }
    }
}

/// The sidecar's GPU entropy path (``CUDAEntropyComputer``) against the CPU kernels of module
/// Entropy, for every wire dtype, with a masked (−inf) logit and a temperature.
struct EntropyComputerParityTests {
    static let gpu: CUDAEntropyComputer? = try? CUDAEntropyComputer()

    @Test(.enabled(if: gpu != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"),
          arguments: LogitsDType.allCases)
    func matchesCPUKernels(dtype: LogitsDType) throws {
        let gpu = try #require(Self.gpu)
        let rows = 7, vocab = 151_936
        var rng = TrainerRNG(seed: 5)
        var x = (0..<rows * vocab).map { _ in Float(rng.normal() * 2) }
        x[3 * vocab + 11] = -.infinity
        let bytes = LogitsCodec.encode(x, as: dtype)
        let got = try bytes.withUnsafeBytes { try gpu.entropies(logits: $0, dtype: dtype, rows: rows, vocab: vocab, temperature: 0.7) }
        var want = [Float](repeating: 0, count: rows)
        try bytes.withUnsafeBytes { raw in
            try want.withUnsafeMutableBufferPointer {
                try EntropyKernel.entropies(logits: raw, dtype: dtype, rows: rows, vocab: vocab, temperature: 0.7, into: $0)
            }
        }
        for r in 0..<rows { #expect(abs(got[r] - want[r]) < 1e-4, "\(dtype) row \(r): \(got[r]) vs \(want[r])") }
    }

    @Test(.enabled(if: gpu != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"))
    func allMaskedRowIsATypedError() throws {
        let gpu = try #require(Self.gpu)
        let x = [Float](repeating: -.infinity, count: 64)
        #expect(throws: EntropyError.self) {
            _ = try x.withUnsafeBytes { try gpu.entropies(logits: $0, dtype: .fp32, rows: 1, vocab: 64, temperature: 1) }
        }
    }
}
