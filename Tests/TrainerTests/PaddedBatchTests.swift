import Testing
import Trainer

/// The update path on a padded batch: sequences of different lengths right-padded (with random
/// ids in the padding, which must not leak) into one `[batch, time]` pass give each row's
/// log-probabilities as the row alone would, and the batch's gradient is the sum of the rows'
/// gradients alone — through the trainer's own path (`forwardHidden`, chunked ``TokenLoss``, the
/// layer backward), with and without `--recompute`.
@Suite struct PaddedBatchTests {
    static let lengths = [9, 3, 6, 1]
    static let time = 9

    struct Row { var ids: [Int32]; var targets: [Int32]; var coef: [Float] }

    static func rows(vocab: Int) -> [Row] {
        var rng = TrainerRNG(seed: 33)
        return lengths.map { n in
            Row(ids: (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) },
                targets: (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) },
                coef: (0..<n).map { _ in Float(rng.normal()) })
        }
    }

    /// log-probabilities of the valid positions of `rows` run as one `[rows.count, time]` pass
    /// (positions past a row's length hold `fill` ids), gradients accumulated into `grads`.
    static func run(_ m: Qwen3Model, _ rows: [Row], time: Int, fill: [Int32], recompute: Bool, grads: ParameterSet) throws -> [[Float]] {
        let be = m.backend, b = rows.count
        var ids: [Int32] = [], targets: [Int32] = [], segments: [Range<Int>] = []
        for (r, row) in rows.enumerated() {
            let pad = time - row.ids.count
            ids += row.ids + fill.prefix(pad)
            targets += row.targets + fill.prefix(pad)
            segments.append((r * time)..<(r * time + row.ids.count))
        }
        let pass = try m.forwardHidden(ids: ids, batch: b, time: time, recompute: recompute)
        let loss = TokenLoss(model: m, chunkRows: 4)   // chunks cross no row but split the long ones
        var logp = [[Float]](repeating: [], count: b)
        let dHidden = be.makeTensor(count: b * time * m.config.hiddenSize)
        loss.backward(pass, segments: segments, targets: targets, invTemperature: 1 / 0.9, dHidden: dHidden, grads: grads) { seg, offsets, lp in
            logp[seg] += lp
            return Array(rows[seg].coef[offsets])
        }
        m.backward(pass, dHidden: dHidden, into: grads)
        return logp
    }

    @Test(arguments: [false, true]) func paddedBatchEqualsEachRowAlone(recompute: Bool) throws {
        let cfg = Fx.tinyConfig(tied: true)
        let m = try Fx.randomModel(cfg, seed: 41, std: 0.4)
        let be = m.backend
        let rows = Self.rows(vocab: cfg.vocabSize)
        var rng = TrainerRNG(seed: 7)
        let fill = (0..<Self.time).map { _ in Int32(rng.next() % UInt64(cfg.vocabSize)) }
        #expect(Self.lengths.contains { $0 < Self.time } && Self.lengths.contains(Self.time), "some rows are padded, one is not")

        let batchGrads = ParameterSet(specs: m.weights.specs, backend: be)
        let batched = try Self.run(m, rows, time: Self.time, fill: fill, recompute: recompute, grads: batchGrads)
        let aloneGrads = ParameterSet(specs: m.weights.specs, backend: be)
        var alone: [[Float]] = []
        for row in rows {
            alone += try Self.run(m, [row], time: row.ids.count, fill: [], recompute: recompute, grads: aloneGrads)
        }

        for (r, (got, want)) in zip(batched, alone).enumerated() {
            #expect(got.count == Self.lengths[r])
            let err = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
            #expect(err < 1e-5, "row \(r): max |log p batch − alone| = \(err)")
        }
        // Another padding fill gives the same batch gradient: padding positions carry none.
        let otherFill = fill.map { ($0 + 5) % Int32(cfg.vocabSize) }
        let otherGrads = ParameterSet(specs: m.weights.specs, backend: be)
        _ = try Self.run(m, rows, time: Self.time, fill: otherFill, recompute: recompute, grads: otherGrads)
        var worst: Float = 0, norm: Float = 0, worstOther: Float = 0
        for (spec, (gb, (ga, go))) in zip(m.weights.specs, zip(batchGrads.tensors, zip(aloneGrads.tensors, otherGrads.tensors))) {
            let b = be.download(gb), a = be.download(ga), o = be.download(go)
            #expect(b.count == a.count, "\(spec.name)")
            for i in b.indices {
                worst = max(worst, abs(b[i] - a[i])); worstOther = max(worstOther, abs(b[i] - o[i])); norm = max(norm, abs(a[i]))
            }
        }
        #expect(norm > 1e-3, "the gradient is not zero (max |g| = \(norm))")
        #expect(worst <= 1e-5 * max(1, norm), "max |g batch − Σ g alone| = \(worst) (max |g| \(norm))")
        #expect(worstOther <= 1e-5 * max(1, norm), "padding contents changed the gradient by \(worstOther)")
    }

    /// `--recompute` reruns each layer's forward before its backward: the same activations, so
    /// the same gradient, bit for bit (and less memory, MemoryPlanTests).
    @Test func recomputeGivesTheSameGradient() throws {
        let cfg = Fx.tinyConfig()
        let m = try Fx.randomModel(cfg, seed: 43, std: 0.4)
        let rows = Self.rows(vocab: cfg.vocabSize), fill = [Int32](repeating: 1, count: Self.time)
        let kept = ParameterSet(specs: m.weights.specs, backend: m.backend), rerun = ParameterSet(specs: m.weights.specs, backend: m.backend)
        let a = try Self.run(m, rows, time: Self.time, fill: fill, recompute: false, grads: kept)
        let b = try Self.run(m, rows, time: Self.time, fill: fill, recompute: true, grads: rerun)
        #expect(a == b)
        let ga = kept.tensors.flatMap { m.backend.download($0) }, gb = rerun.tensors.flatMap { m.backend.download($0) }
        #expect(ga.contains { $0 != 0 })
        #expect(ga == gb)
    }
}

/// ``PolicyUpdate`` skips the backward pass of a micro-batch with no gradient (a group whose
/// advantages are all 0 and no KL term) and leaves the gradient exactly as the full pass would.
@Suite struct PolicyUpdateSkipTests {
    static func groups(vocab: Int, advantages: [[Float]]) -> [RolloutGroup] {
        var rng = TrainerRNG(seed: 51)
        return advantages.enumerated().map { g, adv in
            let prompt = (0..<(3 + g)).map { _ in Int32(rng.next() % UInt64(vocab)) }
            let rollouts = adv.indices.map { r in
                let n = 2 + (r + g) % 3
                return Rollout(ids: (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) },
                               logProbs: [Float](repeating: 0, count: n), entropies: [Float](repeating: 1, count: n), finish: .length)
            }
            return RolloutGroup(example: TaskExample(prompt: "p\(g)", groundTruth: ""), prompt: prompt, rollouts: rollouts,
                                weights: rollouts.map { $0.ids.map { _ in Float(0.5 + rng.uniform()) } },
                                categories: rollouts.map { $0.ids.map { _ in 0 } }, advantages: adv)
        }
    }

    @Test func zeroAdvantageMicroBatchesSkipTheirBackward() throws {
        let cfg = Fx.tinyConfig()
        let m = try Fx.randomModel(cfg, seed: 61)
        var tc = TrainConfig()
        tc.execution.updateMicroBatch = 2
        let update = PolicyUpdate(model: m, reference: nil, config: tc, pad: 0)
        // Group 0 has a gradient on every token (π_old = 1, so ρ = π ≤ 1 and, with A > 0, no
        // token is clipped); group 1 (4 rollouts, 2 micro-batches) scored alike: advantages 0.
        let mixed = Self.groups(vocab: cfg.vocabSize, advantages: [[0.9, 0.3, 0.6], [0, 0, 0, 0]])
        let grads = ParameterSet(specs: m.weights.specs, backend: m.backend)
        let tally = try update.accumulate(mixed, into: grads)
        #expect(tally.skippedBackwards == 2)
        #expect(tally.tokens == Double(mixed.reduce(0) { $0 + $1.rollouts.reduce(0) { $0 + $1.ids.count } }), "every token counted")
        #expect(tally.applied.rows == 7 && tally.clipped == 0)
        // The same gradient as group 0 alone (scaled: the loss averages over 2 groups, not 1).
        let alone = ParameterSet(specs: m.weights.specs, backend: m.backend)
        let aloneTally = try update.accumulate([mixed[0]], into: alone)
        #expect(aloneTally.skippedBackwards == 0)
        var worst: Float = 0, norm: Float = 0
        for (a, b) in zip(grads.tensors, alone.tensors) {
            for (x, y) in zip(m.backend.download(a), m.backend.download(b)) { worst = max(worst, abs(2 * x - y)); norm = max(norm, abs(y)) }
        }
        #expect(norm > 1e-4 && worst <= 1e-6 * max(1, norm), "max |2·g(both) − g(group 0)| = \(worst), max |g| = \(norm)")
        // All groups alike: no backward at all, a zero gradient.
        let flat = ParameterSet(specs: m.weights.specs, backend: m.backend)
        let flatTally = try update.accumulate([mixed[1]], into: flat)
        #expect(flatTally.skippedBackwards == 2 && flatTally.loss == 0)
        #expect(flat.tensors.allSatisfy { m.backend.download($0).allSatisfy { $0 == 0 } })
    }
}
