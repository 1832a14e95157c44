/// Keys and values of every layer for `batch` sequences that advance together, so sampling
/// costs one token's forward per step. Layout per layer `[batch, kvHeads, capacity, headDim]`.
public final class KVCache: @unchecked Sendable {
    public let batch: Int
    public let capacity: Int
    /// Positions already filled (the same for every row).
    public private(set) var length = 0
    let keys: [Tensor]
    let values: [Tensor]

    public init(model: Qwen3Model, batch: Int, capacity: Int) {
        let n = batch * model.config.numKeyValueHeads * capacity * model.config.headDim
        self.batch = batch; self.capacity = capacity
        keys = (0..<model.config.numHiddenLayers).map { _ in model.backend.makeTensor(count: n) }
        values = (0..<model.config.numHiddenLayers).map { _ in model.backend.makeTensor(count: n) }
    }

    func advance(by t: Int) { length += t }
}

extension Qwen3Model {
    /// Runs `ids` (`[cache.batch, time]`, the next `time` tokens of every row) through the model,
    /// appending their keys/values to `cache`, and returns the logits of the last new position
    /// of each row (`[batch, vocab]` on the host). No activations are kept.
    public func decode(ids: [Int32], time: Int, cache: KVCache) throws(TrainerError) -> [Float] {
        let batch = cache.batch
        guard ids.count == batch * time, time > 0 else { throw .data("decode: ids.count \(ids.count) != \(batch) × \(time)") }
        guard cache.length + time <= cache.capacity else {
            throw .data("decode: KV cache full (\(cache.length) + \(time) > \(cache.capacity))")
        }
        try checkIDs(ids)
        let c = config, be = backend, n = batch * time, d = c.hiddenSize, hd = c.headDim, start = cache.length
        let qh = c.numAttentionHeads, kvh = c.numKeyValueHeads, q = qh * hd, kv = kvh * hd, ff = c.intermediateSize
        let positions = (0..<n).map { Int32(start + $0 % time) }
        let shape = AttentionShape(batch: batch, queries: time, queryHeads: qh, kvHeads: kvh, headDim: hd,
                                   capacity: cache.capacity, scale: 1 / Float(hd).squareRoot())
        let x = be.makeTensor(count: n * d), h = be.makeTensor(count: n * d)
        be.embedding(table: weights["model.embed_tokens.weight"], ids: ids, out: x, dim: d)
        let qT = be.makeTensor(count: n * q), kT = be.makeTensor(count: n * kv), vT = be.makeTensor(count: n * kv)
        let attn = be.makeTensor(count: n * q)
        let g = be.makeTensor(count: n * ff), u = be.makeTensor(count: n * ff)
        for l in 0..<c.numHiddenLayers {
            let p = "model.layers.\(l)."
            be.rmsNorm(x: x, weight: weights[p + "input_layernorm.weight"], out: h, rstd: nil, rows: n, dim: d, eps: c.rmsNormEps)
            linear(h, weights[p + "self_attn.q_proj.weight"], qT, rows: n, out: q, inDim: d)
            linear(h, weights[p + "self_attn.k_proj.weight"], kT, rows: n, out: kv, inDim: d)
            linear(h, weights[p + "self_attn.v_proj.weight"], vT, rows: n, out: kv, inDim: d)
            be.rmsNorm(x: qT, weight: weights[p + "self_attn.q_norm.weight"], out: qT, rstd: nil, rows: n * qh, dim: hd, eps: c.rmsNormEps)
            be.rmsNorm(x: kT, weight: weights[p + "self_attn.k_norm.weight"], out: kT, rstd: nil, rows: n * kvh, dim: hd, eps: c.rmsNormEps)
            be.rope(qT, positions: positions, heads: qh, headDim: hd, theta: c.ropeTheta, inverse: false)
            be.rope(kT, positions: positions, heads: kvh, headDim: hd, theta: c.ropeTheta, inverse: false)
            be.toHeads(kT, cache: cache.keys[l], batch: batch, time: time, heads: kvh, headDim: hd, capacity: cache.capacity, start: start)
            be.toHeads(vT, cache: cache.values[l], batch: batch, time: time, heads: kvh, headDim: hd, capacity: cache.capacity, start: start)
            be.attentionForward(q: qT, k: cache.keys[l], v: cache.values[l], out: attn, probs: nil, shape: shape, qStart: start)
            linear(attn, weights[p + "self_attn.o_proj.weight"], x, rows: n, out: d, inDim: q, accumulate: true)
            be.rmsNorm(x: x, weight: weights[p + "post_attention_layernorm.weight"], out: h, rstd: nil, rows: n, dim: d, eps: c.rmsNormEps)
            linear(h, weights[p + "mlp.gate_proj.weight"], g, rows: n, out: ff, inDim: d)
            linear(h, weights[p + "mlp.up_proj.weight"], u, rows: n, out: ff, inDim: d)
            be.siluMul(g: g, u: u, out: g, count: n * ff)
            linear(g, weights[p + "mlp.down_proj.weight"], x, rows: n, out: d, inDim: ff, accumulate: true)
        }
        cache.advance(by: time)
        // Only the last new position of each row needs logits.
        let last = be.makeTensor(count: batch * d)
        for b in 0..<batch { be.copy(x, srcOffset: (b * time + time - 1) * d, to: last, dstOffset: b * d, count: d) }
        be.rmsNorm(x: last, weight: weights["model.norm.weight"], out: last, rstd: nil, rows: batch, dim: d, eps: c.rmsNormEps)
        let logits = be.makeTensor(count: batch * c.vocabSize)
        linear(last, lmHead, logits, rows: batch, out: c.vocabSize, inDim: d)
        return be.download(logits)
    }
}
