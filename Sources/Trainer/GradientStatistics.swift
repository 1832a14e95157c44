import Foundation
import Regions

/// One GRPO step's policy-gradient statistics (``StepMetrics/gradStats``, the `gradStats` object of
/// a metrics line): how large the step's gradient is and how much the rollouts disagree about it,
/// overall and per token region. See ``GradientStatistics`` for the definitions.
public struct GradientStats: Sendable, Codable, Equatable {
    /// N: rollouts in the step (each one sample of the per-rollout gradient, zero-advantage ones included).
    public var rollouts: Int
    /// ‖g‖: L2 norm of the step's loss gradient g = Σ_r c_r (before clipping).
    public var norm: Double
    /// tr Ĉov(x): the sample covariance trace of the per-rollout gradients x_r = N·c_r.
    public var variance: Double
    /// Region name → ‖g_k‖, g_k the gradient of the loss restricted to region k's tokens.
    public var normByRegion: [String: Double]
    /// Region name → tr Ĉov(x_k), x_{r,k} = N·c_{r,k} (regions whose tokens had no gradient are absent).
    public var varianceByRegion: [String: Double]
    /// Wall time these statistics took (included in the step's `seconds`).
    public var seconds: Double

    public init(rollouts: Int, norm: Double, variance: Double, normByRegion: [String: Double],
                varianceByRegion: [String: Double], seconds: Double) {
        self.rollouts = rollouts; self.norm = norm; self.variance = variance
        self.normByRegion = normByRegion; self.varianceByRegion = varianceByRegion; self.seconds = seconds
    }
}

/// Exact per-rollout and per-region decomposition of one step's policy gradient.
///
/// The GRPO+ResT loss of a step is a sum over rollouts of per-token terms whose coefficients are
/// fixed before the backward pass: L = Σ_r Σ_t coef_{r,t} · log π(y_{r,t}) up to terms without
/// parameters (coef_{r,t} = −A_r·ratio·w_{r,t}/(G·Σ_group m·w), plus the KL term when `klCoef > 0`;
/// clipped tokens have coef 0). So the step's gradient splits exactly into rollout contributions,
/// g = Σ_r c_r with c_r = Σ_t coef_{r,t} ∇log π(y_{r,t}), and each c_r further into regions,
/// c_r = Σ_k c_{r,k} (k = the token's ``Regions/TokenCategory``).
///
/// With N rollouts, x_r = N·c_r is rollout r's single-sample estimate of g (g = mean_r x_r), and
/// the reported variance is the **exact sample trace of their covariance**, not an estimate of it:
///
///     tr Ĉov(x) = 1/(N−1) · Σ_r ‖x_r − g‖² = (N²·Σ_r ‖c_r‖² − N·‖g‖²) / (N − 1)
///
/// and the same for each region with c_{r,k} and g_k = Σ_r c_{r,k}. Why this and not micro-batch
/// gradients: a micro-batch estimator (B/(K−1)·Σ_j ‖ȳ_j − g‖² over K micro-batch means) is only
/// unbiased when micro-batches are random subsets of rollouts, yet a GRPO group's rollouts are
/// correlated (shared prompt, advantages that sum to zero), so the natural micro-batches — the
/// groups — would measure between-prompt variance instead. And the region split needs one backward
/// pass per region whatever the batching, so exact per-rollout passes cost no more flops than
/// micro-batches: N forward passes of one row plus one backward pass per (rollout, region) with a
/// non-zero coefficient. Rollouts with no gradient (zero advantage) cost nothing and count as x_r = 0.
///
/// Padding is trimmed per row (causal attention: right padding never touches earlier positions),
/// so each row's forward pass has exactly its prompt + response length. The region variances do
/// not add up to the total: the cross-region covariances are not reported. Memory: (2 + regions
/// with gradient) gradient-sized buffers. The trainer's own gradient is untouched (the statistics
/// use their own buffers and passes), so turning them on does not change training.
public final class GradientStatistics: @unchecked Sendable {
    let model: Qwen3Model
    /// Σ_r c_r, Σ_r c_{r,k} per region, and the buffers of one rollout / one (rollout, region).
    let total: ParameterSet, rowGrad: ParameterSet, regionGrad: ParameterSet
    var regionTotals: [UInt8: ParameterSet] = [:]
    /// Σ_r ‖c_r‖² and Σ_r ‖c_{r,k}‖².
    var sumSquares = 0.0
    var regionSumSquares: [UInt8: Double] = [:]
    var rollouts = 0
    var seconds = 0.0

    public init(model: Qwen3Model) {
        self.model = model
        let specs = model.weights.specs, be = model.backend
        total = ParameterSet(specs: specs, backend: be)
        rowGrad = ParameterSet(specs: specs, backend: be)
        regionGrad = ParameterSet(specs: specs, backend: be)
    }

    /// Adds one rollout: its teacher-forced `inputs`/`targets` (one row, any right padding), the
    /// loss coefficient of every target position (`coef[t]` = ∂L/∂log π(targets[t])), and every
    /// position's region (``Regions/TokenCategory`` raw value; ignored where `coef` is 0).
    public func addRollout(inputs: [Int32], targets: [Int32], coef: [Float], categories: [UInt8],
                           invTemperature: Float) throws {
        guard inputs.count == targets.count, coef.count == inputs.count, categories.count == inputs.count else {
            throw TrainerError.data("gradient statistics: row arrays differ in length (\(inputs.count), \(targets.count), \(coef.count), \(categories.count))")
        }
        let t0 = Date()
        defer { seconds += Date().timeIntervalSince(t0) }
        rollouts += 1
        guard let last = coef.lastIndex(where: { $0 != 0 }) else { return }   // c_r = 0
        let time = last + 1
        let be = model.backend, vocab = model.config.vocabSize
        let pass = try model.forward(ids: Array(inputs[..<time]), batch: 1, time: time)
        let tgt = Array(targets[..<time])
        let regions = Set((0..<time).filter { coef[$0] != 0 }.map { categories[$0] }).sorted()
        let dLogits = be.makeTensor(count: time * vocab)
        rowGrad.zero(on: be)
        for k in regions {
            // The backward pass is linear in dLogits: region k's share is the pass with only its coefficients.
            let coefK = (0..<time).map { categories[$0] == k ? coef[$0] : 0 }
            be.copy(pass.logits, srcOffset: 0, to: dLogits, dstOffset: 0, count: time * vocab)
            be.logProbBackward(logits: dLogits, targets: tgt, coef: coefK, rows: time, vocab: vocab, invTemperature: invTemperature)
            regionGrad.zero(on: be)
            model.backward(pass, dLogits: dLogits, into: regionGrad)
            regionSumSquares[k, default: 0] += sumOfSquares(regionGrad)
            let acc = regionTotals[k] ?? ParameterSet(specs: model.weights.specs, backend: be)
            regionTotals[k] = acc
            add(regionGrad, into: acc)
            add(regionGrad, into: rowGrad)
        }
        sumSquares += sumOfSquares(rowGrad)
        add(rowGrad, into: total)
    }

    /// The statistics of everything added so far.
    public func finish() -> GradientStats {
        let n = Double(rollouts)
        func variance(_ sumSq: Double, _ g: ParameterSet) -> Double {
            guard rollouts > 1 else { return 0 }
            return max(0, (n * n * sumSq - n * sumOfSquares(g)) / (n - 1))
        }
        var norms: [String: Double] = [:], variances: [String: Double] = [:]
        for (k, acc) in regionTotals {
            let name = TokenCategory(rawValue: k)?.name ?? "category_\(k)"
            norms[name] = sumOfSquares(acc).squareRoot()
            variances[name] = variance(regionSumSquares[k] ?? 0, acc)
        }
        return GradientStats(rollouts: rollouts, norm: sumOfSquares(total).squareRoot(), variance: variance(sumSquares, total),
                             normByRegion: norms, varianceByRegion: variances, seconds: seconds)
    }

    func sumOfSquares(_ s: ParameterSet) -> Double { s.tensors.reduce(0.0) { $0 + model.backend.sumOfSquares($1) } }

    func add(_ x: ParameterSet, into y: ParameterSet) {
        for (a, b) in zip(x.tensors, y.tensors) { model.backend.axpy(alpha: 1, x: a, y: b, count: a.count) }
    }
}

extension GradientStatistics {
    /// Adds every rollout of a step: `coefficients[g][r][t]` is ∂loss/∂log π of response token t of
    /// rollout r of group g, as the update's backward pass used it (zeros on the prompt).
    func add(groups: [RolloutGroup], coefficients: [[[Float]]], pad: Int32, invTemperature: Float) throws {
        for (g, coefs) in zip(groups, coefficients) {
            for (r, ro) in g.rollouts.enumerated() {
                let b = SequenceBatch(prompts: [g.prompt], responses: [ro.ids], pad: pad)
                var coef = [Float](repeating: 0, count: b.time), cats = [UInt8](repeating: 0, count: b.time)
                for t in 0..<b.responseLength[0] {
                    coef[b.responseStart[0] + t] = coefs[r][t]
                    cats[b.responseStart[0] + t] = t < g.categories[r].count ? g.categories[r][t] : 0
                }
                try addRollout(inputs: b.inputs, targets: b.targets, coef: coef, categories: cats, invTemperature: invTemperature)
            }
        }
    }
}
