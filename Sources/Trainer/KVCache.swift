/// Keys and values of every layer for `batch` sequences that advance together, so sampling
/// costs one token's forward per step. Layout per layer `[batch, kvHeads, capacity, headDim]`.
///
/// Rows may hold prompts of different lengths, left-padded to a common length: row b's first
/// `padding[b]` slots are padding, never attended to (attention's `kvStart`), and its tokens take
/// RoPE positions `slot − padding[b]`, so a prompt gives the same numbers alone or in a batch.
public final class KVCache: @unchecked Sendable {
    public let batch: Int
    public let capacity: Int
    /// Left-padding slots per row.
    public let padding: [Int32]
    /// Slots already filled (the same for every row, padding included).
    public private(set) var length = 0
    let keys: [Tensor]
    let values: [Tensor]

    public init(model: Qwen3Model, batch: Int, capacity: Int, padding: [Int32]? = nil) {
        let n = batch * model.config.numKeyValueHeads * capacity * model.config.headDim
        self.batch = batch; self.capacity = capacity
        self.padding = padding ?? [Int32](repeating: 0, count: batch)
        keys = (0..<model.config.numHiddenLayers).map { _ in model.backend.makeTensor(count: n) }
        values = (0..<model.config.numHiddenLayers).map { _ in model.backend.makeTensor(count: n) }
    }

    private init(batch: Int, capacity: Int, padding: [Int32], length: Int, keys: [Tensor], values: [Tensor]) {
        self.batch = batch; self.capacity = capacity; self.padding = padding; self.length = length
        self.keys = keys; self.values = values
    }

    /// Bytes of a cache for `batch` rows of `capacity` slots (fp32 keys and values of every layer).
    public static func bytes(config c: ModelConfig, batch: Int, capacity: Int) -> Int {
        2 * c.numHiddenLayers * batch * c.numKeyValueHeads * capacity * c.headDim * MemoryLayout<Float>.size
    }

    /// A cache of `batch · copies` rows where row r is a copy of row r / copies: a prompt's prefill
    /// shared by its `copies` samples.
    public func repeated(_ copies: Int, backend: TensorBackend) -> KVCache {
        guard copies > 1 else { return self }
        let rowElems = keys.first.map { $0.count / batch } ?? 0
        func expand(_ t: Tensor) -> Tensor {
            let out = backend.makeTensor(count: t.count * copies)
            for r in 0..<batch { for c in 0..<copies {
                backend.copy(t, srcOffset: r * rowElems, to: out, dstOffset: (r * copies + c) * rowElems, count: rowElems)
            } }
            return out
        }
        return KVCache(batch: batch * copies, capacity: capacity, padding: padding.flatMap { Array(repeating: $0, count: copies) },
                       length: length, keys: keys.map(expand), values: values.map(expand))
    }

    /// `kvStart` for attention: nil when no row is padded.
    var kvStart: [Int32]? { padding.contains { $0 != 0 } ? padding : nil }

    func advance(by t: Int) { length += t }
}

extension Qwen3Model {
    /// Runs `ids` (`[cache.batch, time]`, the next `time` slots of every row) through the model,
    /// appending their keys/values to `cache`, and returns the logits of the last new slot of each
    /// row (`[batch, vocab]` on the host). No activations are kept.
    public func decode(ids: [Int32], time: Int, cache: KVCache) throws(TrainerError) -> [Float] {
        backend.download(try decodeLogits(ids: ids, time: time, cache: cache))
    }

    /// ``decode(ids:time:cache:)`` leaving the `[batch, vocab]` logits on the backend.
    public func decodeLogits(ids: [Int32], time: Int, cache: KVCache) throws(TrainerError) -> Tensor {
        let batch = cache.batch
        guard ids.count == batch * time, time > 0 else { throw .data("decode: ids.count \(ids.count) != \(batch) × \(time)") }
        guard cache.length + time <= cache.capacity else {
            throw .data("decode: KV cache full (\(cache.length) + \(time) > \(cache.capacity))")
        }
        try checkIDs(ids)
        let c = config, be = backend, n = batch * time, d = c.hiddenSize, hd = c.headDim, start = cache.length
        let qh = c.numAttentionHeads, kvh = c.numKeyValueHeads, q = qh * hd, kv = kvh * hd, ff = c.intermediateSize
        let positions = (0..<n).map { Int32(start + $0 % time) - cache.padding[$0 / time] }
        let kvStart = cache.kvStart
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
            be.attentionForward(q: qT, k: cache.keys[l], v: cache.values[l], out: attn, lse: nil, shape: shape,
                                qStart: start, kvStart: kvStart)
            linear(attn, weights[p + "self_attn.o_proj.weight"], x, rows: n, out: d, inDim: q, accumulate: true)
            be.rmsNorm(x: x, weight: weights[p + "post_attention_layernorm.weight"], out: h, rstd: nil, rows: n, dim: d, eps: c.rmsNormEps)
            linear(h, weights[p + "mlp.gate_proj.weight"], g, rows: n, out: ff, inDim: d)
            linear(h, weights[p + "mlp.up_proj.weight"], u, rows: n, out: ff, inDim: d)
            be.siluMul(g: g, u: u, out: g, count: n * ff)
            linear(g, weights[p + "mlp.down_proj.weight"], x, rows: n, out: d, inDim: ff, accumulate: true)
        }
        cache.advance(by: time)
        // Only the last new slot of each row needs logits.
        let last: Tensor
        if time == 1 { last = x } else {
            last = be.makeTensor(count: batch * d)
            for b in 0..<batch { be.copy(x, srcOffset: (b * time + time - 1) * d, to: last, dstOffset: b * d, count: d) }
        }
        be.rmsNorm(x: last, weight: weights["model.norm.weight"], out: last, rstd: nil, rows: batch, dim: d, eps: c.rmsNormEps)
        let logits = be.makeTensor(count: batch * c.vocabSize)
        linear(last, lmHead, logits, rows: batch, out: c.vocabSize, inDim: d)
        return logits
    }
}
