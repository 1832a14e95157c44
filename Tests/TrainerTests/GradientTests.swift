import Testing
import Trainer

/// Finite-difference check of the hand-written backward pass for every parameter tensor.
@Suite struct GradientTests {
    /// L = Σ_t c_t · log p(y_t | x_<t) with random c_t: the same form as the GRPO and SFT losses.
    static func loss(_ m: Qwen3Model, ids: [Int32], targets: [Int32], coef: [Float], batch: Int, time: Int) throws -> Double {
        let pass = try m.forward(ids: ids, batch: batch, time: time)
        let lp = m.backend.makeTensor(count: batch * time)
        m.backend.logProbAndEntropy(logits: pass.logits, targets: targets, rows: batch * time, vocab: m.config.vocabSize,
                                    invTemperature: 1 / 0.9, logProb: lp, entropy: nil)
        return zip(m.backend.download(lp), coef).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    @Test(arguments: [false, true]) func backwardMatchesFiniteDifferences(tied: Bool) throws {
        let cfg = Fx.tinyConfig(tied: tied)
        let m = try Fx.randomModel(cfg, seed: tied ? 21 : 20, std: 0.4)
        let batch = 2, time = 6
        var rng = TrainerRNG(seed: 4)
        let ids = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(cfg.vocabSize)) }
        let targets = (0..<batch * time).map { _ in Int32(rng.next() % UInt64(cfg.vocabSize)) }
        let coef = (0..<batch * time).map { _ in Float(rng.normal()) }
        let be = m.backend
        let pass = try m.forward(ids: ids, batch: batch, time: time)
        be.logProbBackward(logits: pass.logits, targets: targets, coef: coef, rows: batch * time, vocab: cfg.vocabSize, invTemperature: 1 / 0.9)
        let grads = ParameterSet(specs: m.weights.specs, backend: be)
        m.backward(pass, dLogits: pass.logits, into: grads)
        var worst = 0.0, worstName = ""
        for (i, spec) in m.weights.specs.enumerated() {
            let w = m.weights.tensors[i]
            var vals = be.download(w)
            let g = be.download(grads.tensors[i])
            // Probe the 4 largest-gradient entries plus 2 random ones of every tensor.
            var probe = Array(g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(4))
            probe += [Int(rng.next() % UInt64(g.count)), Int(rng.next() % UInt64(g.count))]
            for j in probe {
                let h: Float = 3e-3 * max(1, abs(vals[j]))
                let orig = vals[j]
                vals[j] = orig + h; be.upload(vals, to: w)
                let lp = try Self.loss(m, ids: ids, targets: targets, coef: coef, batch: batch, time: time)
                vals[j] = orig - h; be.upload(vals, to: w)
                let lm = try Self.loss(m, ids: ids, targets: targets, coef: coef, batch: batch, time: time)
                vals[j] = orig; be.upload(vals, to: w)
                let num = (lp - lm) / Double(2 * h)
                let err = abs(num - Double(g[j])) / max(5e-2, abs(num) + abs(Double(g[j])))  // floor: fp32 loss noise ≈ 1e-4 absolute
                if err > worst { worst = err; worstName = "\(spec.name)[\(j)] fd=\(num) analytic=\(g[j])" }
            }
        }
        #expect(worst < 2e-2, "worst relative error \(worst) at \(worstName)")
    }
}
