import CUDABackend
import Entropy
import Testing
import Trainer

/// CPU vs CUDA on a tiny Qwen3 model: forward logits, every parameter gradient, and one AdamW
/// step (fp32 and bf16 precision); the tiled attention (padded rows, 20,000 keys, backward),
/// device sampling and padded-batch greedy generation; plus the raw-logits entropy kernel. Runs only where a CUDA device can be opened;
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
    static func pair(seed: UInt64, precision: Precision = .fp32) throws -> (Qwen3Model, Qwen3Model) {
        let cpu = try Qwen3Model(config: config(), backend: CPUBackend(), precision: precision)
        cpu.randomInit(seed: seed, std: 0.2)
        let gpu = try Qwen3Model(config: config(), backend: try #require(Self.cuda), precision: precision)
        for (a, b) in zip(cpu.parameters.tensors, gpu.parameters.tensors) { gpu.backend.upload(cpu.backend.download(a), to: b) }
        gpu.refreshWorkingWeights()
        return (cpu, gpu)
    }

    /// Random ids, targets and loss coefficients for a `batch × time` pass.
    static func data(seed: UInt64, batch: Int, time: Int) -> (ids: [Int32], targets: [Int32], coef: [Float]) {
        let vocab = config().vocabSize
        var rng = TrainerRNG(seed: seed)
        let ids = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(vocab)) }
        let targets = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(vocab)) }
        return (ids, targets, (0..<batch * time).map { _ in Float(rng.normal()) })
    }

    static func maxRelDiff(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(a.map(abs).max() ?? 0, 1e-6)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"))
    func forwardBackwardAndStepMatchCPU() throws {
        let (cpu, gpu) = try Self.pair(seed: 7)
        let batch = 2, time = 9, vocab = Self.config().vocabSize
        let (ids, targets, coef) = Self.data(seed: 3, batch: batch, time: time)
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

    struct AttentionCase: CustomTestStringConvertible, Sendable {
        var batch: Int, queries: Int, qHeads: Int, kvHeads: Int, headDim: Int, capacity: Int, qStart: Int
        var kvStart: [Int32]?
        var testDescription: String { "B\(batch) Tq\(queries) H\(qHeads)/\(kvHeads) hd\(headDim) cap\(capacity) q0 \(qStart)" }
    }

    /// Tiled attention forward on both backends: prefill with left padding, Qwen3's head size,
    /// and a decode step over 20,000 keys (past the 12,288 a shared-memory score row held).
    static let attentionCases: [AttentionCase] = [
        AttentionCase(batch: 3, queries: 77, qHeads: 4, kvHeads: 2, headDim: 16, capacity: 77, qStart: 0, kvStart: [0, 30, 76]),
        AttentionCase(batch: 2, queries: 40, qHeads: 16, kvHeads: 8, headDim: 128, capacity: 40, qStart: 0, kvStart: nil),
        AttentionCase(batch: 2, queries: 1, qHeads: 16, kvHeads: 8, headDim: 128, capacity: 20_001, qStart: 20_000, kvStart: [0, 123]),
        AttentionCase(batch: 1, queries: 3, qHeads: 2, kvHeads: 1, headDim: 256, capacity: 300, qStart: 100, kvStart: nil),
    ]

    static func both(_ values: [Float], _ gpu: CUDABackend) -> (Tensor, Tensor) {
        let cpu = CPUBackend(), a = cpu.makeTensor(count: values.count), b = gpu.makeTensor(count: values.count)
        cpu.upload(values, to: a); gpu.upload(values, to: b)
        return (a, b)
    }

    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"), arguments: attentionCases)
    func attentionForwardMatchesCPU(_ c: AttentionCase) throws {
        let gpu = try #require(Self.cuda), cpu = CPUBackend()
        var rng = TrainerRNG(seed: UInt64(c.capacity))
        let qv = (0..<(c.batch * c.queries * c.qHeads * c.headDim)).map { _ in Float(rng.normal()) }
        let kv = (0..<(c.batch * c.kvHeads * c.capacity * c.headDim)).map { _ in Float(rng.normal()) }
        let vv = (0..<(c.batch * c.kvHeads * c.capacity * c.headDim)).map { _ in Float(rng.normal()) }
        let (q1, q2) = Self.both(qv, gpu), (k1, k2) = Self.both(kv, gpu), (v1, v2) = Self.both(vv, gpu)
        let shape = AttentionShape(batch: c.batch, queries: c.queries, queryHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim,
                                   capacity: c.capacity, scale: 1 / Float(c.headDim).squareRoot())
        let o1 = cpu.makeTensor(count: qv.count), o2 = gpu.makeTensor(count: qv.count)
        let l1 = cpu.makeTensor(count: c.batch * c.qHeads * c.queries), l2 = gpu.makeTensor(count: l1.count)
        cpu.attentionForward(q: q1, k: k1, v: v1, out: o1, lse: l1, shape: shape, qStart: c.qStart, kvStart: c.kvStart)
        gpu.attentionForward(q: q2, k: k2, v: v2, out: o2, lse: l2, shape: shape, qStart: c.qStart, kvStart: c.kvStart)
        #expect(Self.maxRelDiff(cpu.download(o1), gpu.download(o2)) < 1e-4, "out")
        let la = cpu.download(l1), lb = gpu.download(l2)
        #expect(zip(la, lb).allSatisfy { $0 == $1 || abs($0 - $1) < 1e-4 }, "lse")
    }

    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"), arguments: [nil, [Int32]([9, 0])])
    func attentionBackwardMatchesCPU(kvStart: [Int32]?) throws {
        let gpu = try #require(Self.cuda), cpu = CPUBackend()
        let b = 2, t = 70, hq = 8, hkv = 2, hd = 128
        var rng = TrainerRNG(seed: 12)
        func r(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.normal()) } }
        let (q1, q2) = Self.both(r(b * t * hq * hd), gpu), (k1, k2) = Self.both(r(b * hkv * t * hd), gpu)
        let (v1, v2) = Self.both(r(b * hkv * t * hd), gpu), (g1, g2) = Self.both(r(b * t * hq * hd), gpu)
        let shape = AttentionShape(batch: b, queries: t, queryHeads: hq, kvHeads: hkv, headDim: hd, capacity: t, scale: 1 / Float(hd).squareRoot())
        var results: [[[Float]]] = []
        let sides: [(TensorBackend, Tensor, Tensor, Tensor, Tensor)] = [(cpu, q1, k1, v1, g1), (gpu, q2, k2, v2, g2)]
        for (be, q, k, v, g) in sides {
            let o = be.makeTensor(count: q.count), l = be.makeTensor(count: b * hq * t)
            be.attentionForward(q: q, k: k, v: v, out: o, lse: l, shape: shape, qStart: 0, kvStart: kvStart)
            let dq = be.makeTensor(count: q.count), dk = be.makeTensor(count: k.count), dv = be.makeTensor(count: v.count)
            be.attentionBackward(q: q, k: k, v: v, out: o, lse: l, dOut: g, dq: dq, dk: dk, dv: dv, shape: shape, kvStart: kvStart)
            results.append([be.download(dq), be.download(dk), be.download(dv)])
        }
        for (i, name) in ["dq", "dk", "dv"].enumerated() {
            #expect(Self.maxRelDiff(results[0][i], results[1][i]) < 1e-4, "\(name)")
        }
    }

    /// Device sampling draws the CPU kernel's tokens (same uniforms), greedy and nucleus.
    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"),
          arguments: [(Float(0), Float(1)), (1, 1), (0.7, 0.9), (1.2, 0.3)])
    func samplingMatchesCPU(temperature: Float, topP: Float) throws {
        let gpu = try #require(Self.cuda), cpu = CPUBackend()
        let rows = 16, vocab = 151_936
        var rng = TrainerRNG(seed: 21)
        var x = (0..<(rows * vocab)).map { _ in Float(rng.normal() * 3) }
        x[4 * vocab + 99_999] = 50   // a dominant token
        let (a, b) = Self.both(x, gpu)
        let u = (0..<rows).map { _ in Float(rng.uniform()) }
        let want = cpu.sampleTokens(logits: a, rows: rows, vocab: vocab, temperature: temperature, topP: topP, uniforms: u)
        let got = gpu.sampleTokens(logits: b, rows: rows, vocab: vocab, temperature: temperature, topP: topP, uniforms: u)
        #expect(got.ids == want.ids)
        #expect(Self.maxRelDiff(want.logProbs, got.logProbs) < 1e-5 && Self.maxRelDiff(want.entropies, got.entropies) < 1e-5)
        #expect(got.ids[4] == 99_999)
    }

    /// Batched greedy decoding of left-padded prompts of different lengths: CUDA gives the CPU's ids.
    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"))
    func paddedBatchGenerationMatchesCPU() throws {
        let (cpu, gpu) = try Self.pair(seed: 13)
        let prompts: [[Int32]] = [[1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11], [12, 13, 14, 15, 16]]
        var rng = TrainerRNG(seed: 0)
        let options = SamplingOptions(temperature: 0, topP: 1, maxNewTokens: 12)
        let a = try Sampler(model: cpu).sample(prompts: prompts, n: 2, options: options, stopIDs: [], rng: &rng)
        let b = try Sampler(model: gpu).sample(prompts: prompts, n: 2, options: options, stopIDs: [], rng: &rng)
        #expect(a.map(\.ids) == b.map(\.ids))
    }

    /// bf16 precision: the CPU's emulation (fp32 GEMMs of bf16-rounded operands) and cuBLAS's bf16
    /// tensor-core GEMMs agree up to fp32 summation order (a looser bound: a different sum can
    /// round an activation to the neighbouring bf16 value before the next product).
    @Test(.enabled(if: cuda != nil, "no CUDA device (libcuda.so.1 / GPU) on this machine"))
    func bf16ForwardBackwardMatchesCPU() throws {
        let (cpu, gpu) = try Self.pair(seed: 5, precision: .bf16)
        for (a, b) in zip(cpu.weights.tensors, gpu.weights.tensors) { #expect(cpu.backend.download(a) == gpu.backend.download(b)) }
        let batch = 2, time = 9, vocab = Self.config().vocabSize
        let (ids, targets, coef) = Self.data(seed: 6, batch: batch, time: time)
        var results: [[[Float]]] = []
        for m in [cpu, gpu] {
            let be = m.backend
            let pass = try m.forward(ids: ids, batch: batch, time: time)
            let logits = be.download(pass.logits)
            be.logProbBackward(logits: pass.logits, targets: targets, coef: coef, rows: batch * time, vocab: vocab, invTemperature: 1)
            let grads = ParameterSet(specs: m.weights.specs, backend: be)
            m.backward(pass, dLogits: pass.logits, into: grads)
            results.append([logits] + grads.tensors.map { be.download($0) })
        }
        let names = ["logits"] + cpu.weights.specs.map { "grad \($0.name)" }
        for (i, name) in names.enumerated() {
            let d = Self.maxRelDiff(results[0][i], results[1][i])
            #expect(d < 3e-2, "\(name): max relative difference \(d)")
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
