import Foundation
import Pipeline

/// One prompt's rollouts with what the shaping core made of them: per-token ResT weights and the
/// group-normalised advantage of each rollout.
public struct RolloutGroup: Sendable {
    public let example: TaskExample
    public let prompt: [Int32]
    public let rollouts: [Rollout]
    /// `weights[r][t]`: the weight of response token t of rollout r.
    public var weights: [[Float]] = []
    /// `categories[r][t]`: the region (``Regions/TokenCategory`` raw value) of that token.
    public var categories: [[UInt8]] = []
    public var advantages: [Float] = []
    /// Σ over the group's response tokens of m·w (+1e-8): the loss's normaliser.
    public var weightSum: Double { 1e-8 + weights.reduce(0.0) { $0 + $1.reduce(0.0) { $0 + Double($1) } } }

    public init(example: TaskExample, prompt: [Int32], rollouts: [Rollout], weights: [[Float]] = [], categories: [[UInt8]] = [],
                advantages: [Float] = []) {
        self.example = example; self.prompt = prompt; self.rollouts = rollouts; self.weights = weights
        self.categories = categories; self.advantages = advantages
    }
}

/// Numbers one pass of the policy update gathers.
public struct UpdateTally: Sendable {
    public var loss = 0.0
    public var clipped = 0.0
    public var tokens = 0.0
    public var kl = 0.0
    /// Positions run through the model (prompt and response, padding included).
    public var positions = 0
    /// Micro-batches whose every ∂loss/∂log π was 0 (a group whose rollouts all scored alike has
    /// advantages 0, and with no KL term no gradient): their backward pass was skipped, which
    /// leaves the gradient exactly as it was (the backward is linear in its input).
    public var skippedBackwards = 0
    /// The digest (PROTOCOL.md §`applied`) of the weights the loss multiplied in, taken token by
    /// token where it multiplies them (the ordinal of a response token is its index t).
    public var applied = WeightDigest()
}

/// The GRPO + ResT policy update of one step, as gradient accumulation over micro-batches:
/// each prompt group contributes Σ(ℓ·m·w) / Σ(m·w) with the PPO-clip token loss
/// ℓ = −min(ρ·A, clip(ρ, 1−ε, 1+ε)·A) (+ β·KL_k3 to the reference when on), ρ = π/π_old, the
/// groups averaged. The normaliser is known before any forward pass (it depends on the weights
/// only), so splitting a group into micro-batches leaves the gradient unchanged.
public struct PolicyUpdate: Sendable {
    public let model: Qwen3Model
    public let reference: Qwen3Model?
    public let config: TrainConfig
    public let pad: Int32

    public init(model: Qwen3Model, reference: Qwen3Model?, config: TrainConfig, pad: Int32) {
        self.model = model; self.reference = reference; self.config = config; self.pad = pad
    }

    var invTemperature: Float { 1 / max(config.sampling.temperature, 1e-4) }

    /// Sequences per forward/backward pass.
    public func microBatch(groupSize: Int) -> Int {
        config.execution.updateMicroBatch > 0 ? min(config.execution.updateMicroBatch, groupSize) : groupSize
    }

    /// Accumulates the update's gradient into `grads` (which the caller zeroes) and returns the tally.
    /// `observe(group, rollout, offsets, coef)` sees every ∂loss/∂log π the backward pass uses.
    public func accumulate(_ groups: [RolloutGroup], into grads: ParameterSet,
                           observe: (_ group: Int, _ rollout: Int, _ offsets: Range<Int>, _ coef: [Float]) -> Void = { _, _, _, _ in }) throws -> UpdateTally {
        var tally = UpdateTally()
        let scaleG = 1 / Double(groups.count), eps = config.clipEps, beta = Double(config.klCoef)
        let loss = TokenLoss(model: model, chunkRows: config.execution.headChunk)
        for (gi, g) in groups.enumerated() {
            let denom = g.weightSum
            let size = microBatch(groupSize: g.rollouts.count)
            for first in stride(from: 0, to: g.rollouts.count, by: size) {
                let rows = Array(first..<min(first + size, g.rollouts.count))
                let b = SequenceBatch(prompts: Array(repeating: g.prompt, count: rows.count), responses: rows.map { g.rollouts[$0].ids }, pad: pad)
                let segments = (0..<b.batch).map { k in (k * b.time + b.responseStart[k])..<(k * b.time + b.responseStart[k] + b.responseLength[k]) }
                var refLogp: [Float] = [], refOffset: [Int] = []
                if let reference {
                    let refPass = try reference.forwardHidden(ids: b.inputs, batch: b.batch, time: b.time, recompute: true)
                    refLogp = TokenLoss(model: reference, chunkRows: config.execution.headChunk)
                        .logProbs(refPass, segments: segments, targets: b.targets, invTemperature: invTemperature).logProbs
                    refOffset = segments.reduce(into: [0]) { $0.append($0.last! + $1.count) }
                }
                let pass = try model.forwardHidden(ids: b.inputs, batch: b.batch, time: b.time, recompute: config.execution.recompute)
                tally.positions += b.batch * b.time
                tally.applied.rows += rows.count
                let dHidden = model.backend.makeTensor(count: b.batch * b.time * model.config.hiddenSize)
                var anyGradient = false
                loss.backward(pass, segments: segments, targets: b.targets, invTemperature: invTemperature,
                              dHidden: dHidden, grads: grads) { seg, offsets, logp in
                    let r = rows[seg], a = Double(g.advantages[r])
                    var coef = [Float](repeating: 0, count: offsets.count)
                    for (k, t) in offsets.enumerated() {
                        let applied = Double(g.weights[r][t])
                        tally.applied.tokens += 1; tally.applied.weightSum += applied; tally.applied.digest += applied * Double(t + 1)
                        let w = applied / denom
                        let ratio = exp(Double(logp[k]) - Double(g.rollouts[r].logProbs[t]))
                        let clippedRatio = min(max(ratio, 1 - Double(eps)), 1 + Double(eps))
                        let unclippedTerm = ratio * a, clippedTerm = clippedRatio * a
                        tally.loss += -min(unclippedTerm, clippedTerm) * w * scaleG
                        tally.tokens += 1
                        var c = 0.0
                        if clippedTerm < unclippedTerm { tally.clipped += 1 } else { c = -a * ratio * w }
                        if reference != nil {
                            let dlt = Double(refLogp[refOffset[seg] + t]) - Double(logp[k])
                            let kl = exp(dlt) - dlt - 1
                            tally.loss += beta * kl * w * scaleG
                            tally.kl += kl
                            c += beta * w * (1 - exp(dlt))
                        }
                        coef[k] = Float(c * scaleG)
                    }
                    observe(gi, r, offsets, coef)
                    if coef.contains(where: { $0 != 0 }) { anyGradient = true }
                    return coef
                }
                if anyGradient { model.backward(pass, dHidden: dHidden, into: grads) } else { tally.skippedBackwards += 1 }
            }
        }
        return tally
    }
}
