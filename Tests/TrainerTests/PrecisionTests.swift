import Foundation
import Testing
import Trainer

/// bf16 precision on the CPU backend: bf16 GEMMs equal fp32 GEMMs of the rounded operands
/// (also when a bf16 weight is widened in slices), and a bf16 model keeps fp32 master weights
/// that the optimizer updates, rounds into its working copies and saves.
@Suite struct PrecisionTests {
    static func rounded(_ x: [Float]) -> [Float] {
        let be = CPUBackend(), t = be.makeTensor(count: x.count, dtype: .bf16)
        be.upload(x, to: t)
        return be.download(t)
    }

    @Test func uploadRoundsToNearestEven() {
        let be = CPUBackend(), t = be.makeTensor(count: 4, dtype: .bf16)
        // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1).
        be.upload([1 + 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -3.0, .infinity], to: t)
        #expect(be.download(t) == [1, 1 + 0x1p-7, -3, .infinity])
    }

    /// C = A·Bᵀ with B a bf16 weight of 70,000 rows (widened in slices) and C = A·B (k sliced):
    /// the results of fp32 GEMMs on the rounded operands.
    @Test(arguments: [true, false]) func bf16GemmIsTheGemmOfRoundedOperands(transB: Bool) {
        let be = CPUBackend()
        var rng = TrainerRNG(seed: 1)
        let m = 3, k = 64, n = 70_000
        let a = (0..<(m * k)).map { _ in Float(rng.normal()) }
        let b = (0..<(n * k)).map { _ in Float(rng.normal()) }
        let ta = be.makeTensor(count: a.count), tb = be.makeTensor(count: b.count, dtype: .bf16)
        be.upload(a, to: ta); be.upload(b, to: tb)
        let ra = be.makeTensor(count: a.count), rb = be.makeTensor(count: b.count)
        be.upload(Self.rounded(a), to: ra); be.upload(Self.rounded(b), to: rb)
        // transB: B is [n, k] and C [m, n]; otherwise B is read as [k', n'] = [n, k]… use k' = n rows.
        let (mm, nn, kk, ldb) = transB ? (m, n, k, k) : (m, k, n, k)
        let aRows = transB ? a : (0..<(m * n)).map { _ in Float(rng.normal()) }
        let tA = be.makeTensor(count: aRows.count), rA = be.makeTensor(count: aRows.count)
        be.upload(aRows, to: tA); be.upload(Self.rounded(aRows), to: rA)
        let lda = transB ? k : n
        let c1 = be.makeTensor(count: mm * nn), c2 = be.makeTensor(count: mm * nn)
        be.gemm(transA: false, transB: transB, m: mm, n: nn, k: kk, alpha: 1, a: TensorSlice(transB ? ta : tA), lda: lda,
                b: TensorSlice(tb), ldb: ldb, beta: 0, c: TensorSlice(c1), ldc: nn, precision: .bf16)
        be.gemm(transA: false, transB: transB, m: mm, n: nn, k: kk, alpha: 1, a: TensorSlice(transB ? ra : rA), lda: lda,
                b: TensorSlice(rb), ldb: ldb, beta: 0, c: TensorSlice(c2), ldc: nn)
        let x = be.download(c1), y = be.download(c2)
        let scale = y.map(abs).max()!
        #expect(zip(x, y).map { abs($0 - $1) }.max()! <= 1e-5 * scale)
        #expect(x != be.download(be.makeTensor(count: mm * nn)))
    }

    @Test func bf16ModelTrainsItsMasterWeights() throws {
        let cfg = Fx.tinyConfig(tied: true)
        let m32 = try Fx.randomModel(cfg, seed: 31, std: 0.3)
        let m16 = try Qwen3Model(config: cfg, backend: CPUBackend(), precision: .bf16)
        for (a, b) in zip(m32.parameters.tensors, m16.parameters.tensors) { m16.backend.upload(m32.backend.download(a), to: b) }
        m16.refreshWorkingWeights()
        // Working copies: matrices bf16 (the rounded master), norms fp32.
        for (spec, w, p) in zip3(m16.weights.specs, m16.weights.tensors, m16.parameters.tensors) {
            #expect(w.dtype == (spec.shape.count == 2 ? .bf16 : .fp32))
            #expect(m16.backend.download(w) == (spec.shape.count == 2 ? Self.rounded(m16.backend.download(p)) : m16.backend.download(p)))
        }
        // Forward and gradients close to fp32 (bf16 operands, fp32 sums).
        let batch = 2, time = 6
        var rng = TrainerRNG(seed: 4)
        let ids = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(cfg.vocabSize)) }
        let targets = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(cfg.vocabSize)) }
        let coef = (0..<batch * time).map { _ in Float(rng.normal()) }
        var grads: [[Float]] = [], logits: [[Float]] = []
        for m in [m32, m16] {
            let pass = try m.forward(ids: ids, batch: batch, time: time)
            logits.append(m.backend.download(pass.logits))
            m.backend.logProbBackward(logits: pass.logits, targets: targets, coef: coef, rows: batch * time, vocab: cfg.vocabSize, invTemperature: 1)
            let g = ParameterSet(specs: m.weights.specs, backend: m.backend)
            m.backward(pass, dLogits: pass.logits, into: g)
            grads.append(g.tensors.flatMap { m.backend.download($0) })
        }
        func cosine(_ a: [Float], _ b: [Float]) -> Double {
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let na = a.reduce(0.0) { $0 + Double($1 * $1) }, nb = b.reduce(0.0) { $0 + Double($1 * $1) }
            return dot / (na * nb).squareRoot()
        }
        #expect(logits[0] != logits[1])                       // bf16 did round something
        #expect(cosine(logits[0], logits[1]) > 0.999)
        #expect(cosine(grads[0], grads[1]) > 0.99)
        // One optimizer step moves the fp32 master by less than a bf16 ulp can express, and the
        // working copy follows the rounded master.
        let g16 = ParameterSet(specs: m16.weights.specs, backend: m16.backend)
        for (t, v) in zip(g16.tensors, grads[1].chunked(by: m16.weights.specs.map(\.count))) { m16.backend.upload(v, to: t) }
        let q = try #require(m16.weights.specs.firstIndex { $0.name.hasSuffix("q_proj.weight") })
        let before = m16.backend.download(m16.parameters.tensors[q])
        let opt = AdamW(model: m16, lr: 1e-4, weightDecay: 0)
        opt.step(model: m16, grads: g16)
        let after = m16.backend.download(m16.parameters.tensors[q])
        #expect(before != after && after != Self.rounded(after))   // the master keeps fp32 detail
        #expect(m16.backend.download(m16.weights.tensors[q]) == Self.rounded(after))
        // Checkpoints hold the fp32 master.
        let dir = Fx.tempDir("bf16")
        defer { try? FileManager.default.removeItem(at: dir) }
        try m16.save(directory: dir)
        let back = try Qwen3Model.load(directory: dir, backend: CPUBackend(), precision: .bf16)
        #expect(back.backend.download(back.parameters.tensors[q]) == after)
    }
}

private func zip3<A, B, C>(_ a: [A], _ b: [B], _ c: [C]) -> [(A, B, C)] {
    zip(a, zip(b, c)).map { ($0, $1.0, $1.1) }
}

private extension Array {
    /// Consecutive pieces of the given sizes.
    func chunked(by sizes: [Int]) -> [[Element]] {
        var out: [[Element]] = [], start = 0
        for s in sizes { out.append(Array(self[start..<(start + s)])); start += s }
        return out
    }
}
