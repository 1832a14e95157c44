import Foundation

/// A Qwen3-architecture causal LM on a ``TensorBackend``: RMSNorm, RoPE, grouped-query
/// attention with q/k RMSNorm, SwiGLU MLP, tied or untied embeddings. The forward pass can keep
/// its activations (or only each layer's input, recomputing the rest) for the backward pass, or
/// run incrementally against a ``KVCache`` for sampling.
///
/// Precision: in fp32, ``weights`` are the fp32 weights that are trained and saved. In bf16,
/// ``weights`` are the working copies the passes read — weight matrices in bf16, norm vectors in
/// fp32 — every matrix product takes bf16 operands with fp32 accumulation, and ``master`` holds
/// the fp32 master weights the optimizer updates (``refreshWorkingWeights()`` then rounds them
/// into the working copies). ``parameters`` is whichever set is trained and saved.
public final class Qwen3Model: @unchecked Sendable {
    public let config: ModelConfig
    public let backend: TensorBackend
    public let precision: Precision
    /// What the forward and backward passes read.
    public let weights: ParameterSet
    /// fp32 master weights (bf16 precision only).
    public let master: ParameterSet?

    /// A model with zero weights (fill them with ``randomInit(seed:)`` or a checkpoint).
    public init(config: ModelConfig, backend: TensorBackend, precision: Precision = .fp32) throws {
        try config.validate()
        self.config = config
        self.backend = backend
        self.precision = precision
        if precision == .bf16 {
            self.weights = ParameterSet(specs: config.parameterSpecs, backend: backend) { $0.shape.count == 2 ? .bf16 : .fp32 }
            self.master = ParameterSet(specs: config.parameterSpecs, backend: backend)
        } else {
            self.weights = ParameterSet(specs: config.parameterSpecs, backend: backend)
            self.master = nil
        }
    }

    /// The fp32 values that are trained, loaded and saved: ``master`` in bf16, else ``weights``.
    public var parameters: ParameterSet { master ?? weights }

    /// Rounds the master weights into the bf16 working copies (norm vectors are copied); no-op in fp32.
    public func refreshWorkingWeights() {
        guard let master else { return }
        for (src, dst) in zip(master.tensors, weights.tensors) {
            if dst.dtype == .bf16 { backend.convert(src, to: dst) } else { backend.copy(src, srcOffset: 0, to: dst, dstOffset: 0, count: src.count) }
        }
    }

    /// Norm weights 1, every matrix N(0, 0.02²) (HF's `initializer_range`), deterministic per seed.
    public func randomInit(seed: UInt64, std: Double = 0.02) {
        var rng = TrainerRNG(seed: seed)
        for (spec, t) in zip(parameters.specs, parameters.tensors) {
            if spec.shape.count == 1 {
                backend.fill(t, value: 1)
            } else {
                backend.upload((0..<spec.count).map { _ in Float(rng.normal() * std) }, to: t)
            }
        }
        refreshWorkingWeights()
    }

    var lmHead: Tensor { config.tieWordEmbeddings ? weights["model.embed_tokens.weight"] : weights["lm_head.weight"] }

    /// Activations one layer's forward keeps for its backward pass.
    final class LayerActivations {
        var x: Tensor, h1: Tensor, rstd1: Tensor
        var qRaw: Tensor, kRaw: Tensor, qRstd: Tensor, kRstd: Tensor
        var qRoped: Tensor, kCache: Tensor, vCache: Tensor, lse: Tensor, attn: Tensor
        var x2: Tensor, h2: Tensor, rstd2: Tensor, g: Tensor, u: Tensor, a: Tensor
        init(x: Tensor, h1: Tensor, rstd1: Tensor, qRaw: Tensor, kRaw: Tensor, qRstd: Tensor, kRstd: Tensor,
             qRoped: Tensor, kCache: Tensor, vCache: Tensor, lse: Tensor, attn: Tensor,
             x2: Tensor, h2: Tensor, rstd2: Tensor, g: Tensor, u: Tensor, a: Tensor) {
            self.x = x; self.h1 = h1; self.rstd1 = rstd1; self.qRaw = qRaw; self.kRaw = kRaw
            self.qRstd = qRstd; self.kRstd = kRstd; self.qRoped = qRoped; self.kCache = kCache
            self.vCache = vCache; self.lse = lse; self.attn = attn; self.x2 = x2; self.h2 = h2
            self.rstd2 = rstd2; self.g = g; self.u = u; self.a = a
        }
    }

    /// What a training forward pass keeps of one layer: everything its backward needs, or — with
    /// activation recomputation — only its input, from which the backward reruns the layer.
    enum LayerState {
        case kept(LayerActivations)
        case input(Tensor)
    }

    /// A training forward pass over `[batch, time]` tokens up to the final norm: the hidden states
    /// `hFinal [batch·time, hidden]` the LM head reads, plus what the backward pass needs.
    public final class HiddenPass: @unchecked Sendable {
        public let batch: Int
        public let time: Int
        public let ids: [Int32]
        /// Whether layers were kept as inputs only (recomputed in the backward pass).
        public let recomputed: Bool
        let layers: [LayerState]
        let xFinal: Tensor, hFinal: Tensor, rstdFinal: Tensor
        init(batch: Int, time: Int, ids: [Int32], recomputed: Bool, layers: [LayerState], xFinal: Tensor, hFinal: Tensor, rstdFinal: Tensor) {
            self.batch = batch; self.time = time; self.ids = ids; self.recomputed = recomputed; self.layers = layers
            self.xFinal = xFinal; self.hFinal = hFinal; self.rstdFinal = rstdFinal
        }
    }

    /// The result of a training forward pass with logits for every position:
    /// `[batch·time, vocab]` plus what the backward pass needs.
    public final class ForwardPass: @unchecked Sendable {
        public let hidden: HiddenPass
        /// `[batch·time, vocab]` logits (row-major, time fastest).
        public let logits: Tensor
        public var batch: Int { hidden.batch }
        public var time: Int { hidden.time }
        init(hidden: HiddenPass, logits: Tensor) { self.hidden = hidden; self.logits = logits }
    }

    /// Full causal forward over `ids` (`[batch, time]`, row-major), keeping activations, with the
    /// logits of every position. Rows may be right-padded: causal attention keeps padding from
    /// touching earlier tokens.
    public func forward(ids: [Int32], batch: Int, time: Int) throws(TrainerError) -> ForwardPass {
        let hidden = try forwardHidden(ids: ids, batch: batch, time: time)
        let n = batch * time
        let logits = backend.makeTensor(count: n * config.vocabSize)
        linear(hidden.hFinal, lmHead, logits, rows: n, out: config.vocabSize, inDim: config.hiddenSize)
        return ForwardPass(hidden: hidden, logits: logits)
    }

    /// The forward pass up to the final norm (the LM head is left to the caller, e.g. ``TokenLoss``,
    /// which computes logits only where the loss needs them). `recompute` keeps only each layer's
    /// input; ``backward(_:dHidden:into:)`` then reruns the layer before its backward.
    public func forwardHidden(ids: [Int32], batch: Int, time: Int, recompute: Bool = false) throws(TrainerError) -> HiddenPass {
        guard ids.count == batch * time, batch > 0, time > 0 else {
            throw .data("forward: ids.count \(ids.count) != batch \(batch) × time \(time)")
        }
        try checkIDs(ids)
        let c = config, be = backend, n = batch * time, d = c.hiddenSize
        var x = be.makeTensor(count: n * d)
        be.embedding(table: weights["model.embed_tokens.weight"], ids: ids, out: x, dim: d)
        var layers: [LayerState] = []
        for l in 0..<c.numHiddenLayers {
            let (acts, next) = layerForward(l, x: x, batch: batch, time: time)
            layers.append(recompute ? .input(x) : .kept(acts))
            x = next
        }
        let hF = be.makeTensor(count: n * d), rstdF = be.makeTensor(count: n)
        be.rmsNorm(x: x, weight: weights["model.norm.weight"], out: hF, rstd: rstdF, rows: n, dim: d, eps: c.rmsNormEps)
        return HiddenPass(batch: batch, time: time, ids: ids, recomputed: recompute, layers: layers, xFinal: x, hFinal: hF, rstdFinal: rstdF)
    }

    /// RoPE positions and attention shape of a training pass (right-padded rows from position 0).
    func trainingGeometry(batch: Int, time: Int) -> (positions: [Int32], shape: AttentionShape) {
        let c = config
        return ((0..<(batch * time)).map { Int32($0 % time) },
                AttentionShape(batch: batch, queries: time, queryHeads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads,
                               headDim: c.headDim, capacity: time, scale: 1 / Float(c.headDim).squareRoot()))
    }

    /// Layer `l` on input `x` (`[batch·time, hidden]`): its activations and its output.
    func layerForward(_ l: Int, x: Tensor, batch: Int, time: Int) -> (LayerActivations, Tensor) {
        let c = config, be = backend, n = batch * time, d = c.hiddenSize, hd = c.headDim
        let qh = c.numAttentionHeads, kvh = c.numKeyValueHeads, q = qh * hd, kv = kvh * hd, ff = c.intermediateSize
        let (positions, shape) = trainingGeometry(batch: batch, time: time)
        let p = "model.layers.\(l)."
        let h1 = be.makeTensor(count: n * d), rstd1 = be.makeTensor(count: n)
        be.rmsNorm(x: x, weight: weights[p + "input_layernorm.weight"], out: h1, rstd: rstd1, rows: n, dim: d, eps: c.rmsNormEps)
        let qRaw = be.makeTensor(count: n * q), kRaw = be.makeTensor(count: n * kv), vRaw = be.makeTensor(count: n * kv)
        linear(h1, weights[p + "self_attn.q_proj.weight"], qRaw, rows: n, out: q, inDim: d)
        linear(h1, weights[p + "self_attn.k_proj.weight"], kRaw, rows: n, out: kv, inDim: d)
        linear(h1, weights[p + "self_attn.v_proj.weight"], vRaw, rows: n, out: kv, inDim: d)
        let qN = be.makeTensor(count: n * q), kN = be.makeTensor(count: n * kv)
        let qRstd = be.makeTensor(count: n * qh), kRstd = be.makeTensor(count: n * kvh)
        be.rmsNorm(x: qRaw, weight: weights[p + "self_attn.q_norm.weight"], out: qN, rstd: qRstd, rows: n * qh, dim: hd, eps: c.rmsNormEps)
        be.rmsNorm(x: kRaw, weight: weights[p + "self_attn.k_norm.weight"], out: kN, rstd: kRstd, rows: n * kvh, dim: hd, eps: c.rmsNormEps)
        be.rope(qN, positions: positions, heads: qh, headDim: hd, theta: c.ropeTheta, inverse: false)
        be.rope(kN, positions: positions, heads: kvh, headDim: hd, theta: c.ropeTheta, inverse: false)
        let kC = be.makeTensor(count: n * kv), vC = be.makeTensor(count: n * kv)
        be.toHeads(kN, cache: kC, batch: batch, time: time, heads: kvh, headDim: hd, capacity: time, start: 0)
        be.toHeads(vRaw, cache: vC, batch: batch, time: time, heads: kvh, headDim: hd, capacity: time, start: 0)
        let attn = be.makeTensor(count: n * q), lse = be.makeTensor(count: batch * qh * time)
        be.attentionForward(q: qN, k: kC, v: vC, out: attn, lse: lse, shape: shape, qStart: 0, kvStart: nil)
        let x2 = be.makeTensor(count: n * d)
        be.copy(x, srcOffset: 0, to: x2, dstOffset: 0, count: n * d)
        linear(attn, weights[p + "self_attn.o_proj.weight"], x2, rows: n, out: d, inDim: q, accumulate: true)
        let h2 = be.makeTensor(count: n * d), rstd2 = be.makeTensor(count: n)
        be.rmsNorm(x: x2, weight: weights[p + "post_attention_layernorm.weight"], out: h2, rstd: rstd2, rows: n, dim: d, eps: c.rmsNormEps)
        let g = be.makeTensor(count: n * ff), u = be.makeTensor(count: n * ff), a = be.makeTensor(count: n * ff)
        linear(h2, weights[p + "mlp.gate_proj.weight"], g, rows: n, out: ff, inDim: d)
        linear(h2, weights[p + "mlp.up_proj.weight"], u, rows: n, out: ff, inDim: d)
        be.siluMul(g: g, u: u, out: a, count: n * ff)
        let x3 = be.makeTensor(count: n * d)
        be.copy(x2, srcOffset: 0, to: x3, dstOffset: 0, count: n * d)
        linear(a, weights[p + "mlp.down_proj.weight"], x3, rows: n, out: d, inDim: ff, accumulate: true)
        let acts = LayerActivations(x: x, h1: h1, rstd1: rstd1, qRaw: qRaw, kRaw: kRaw, qRstd: qRstd, kRstd: kRstd,
                                    qRoped: qN, kCache: kC, vCache: vC, lse: lse, attn: attn,
                                    x2: x2, h2: h2, rstd2: rstd2, g: g, u: u, a: a)
        return (acts, x3)
    }

    /// Backward pass from logits of every position: `dLogits` (`[batch·time, vocab]`, may be
    /// `pass.logits` overwritten in place) → gradients accumulated (`+=`) into `grads` (a
    /// ``ParameterSet`` with the weights' specs).
    public func backward(_ pass: ForwardPass, dLogits: Tensor, into grads: ParameterSet) {
        let n = pass.batch * pass.time
        let dhF = backend.makeTensor(count: n * config.hiddenSize)
        headBackward(pass.hidden, dLogits: dLogits, rows: 0..<n, dHidden: dhF, grads: grads)
        backward(pass.hidden, dHidden: dhF, into: grads)
    }

    /// The LM head's backward for the rows `rows` of the pass, whose logits' gradient is
    /// `dLogits [rows.count, vocab]`: dHidden[rows] += dLogits · W and dW += dLogitsᵀ · hFinal[rows].
    func headBackward(_ pass: HiddenPass, dLogits: Tensor, rows: Range<Int>, dHidden: Tensor, grads: ParameterSet) {
        let c = config, be = backend, d = c.hiddenSize
        be.gemm(transA: false, transB: false, m: rows.count, n: d, k: c.vocabSize, alpha: 1, a: TensorSlice(dLogits), lda: c.vocabSize,
                b: TensorSlice(lmHead), ldb: d, beta: 1, c: TensorSlice(dHidden, offset: rows.lowerBound * d), ldc: d, precision: precision)
        let headGrad = c.tieWordEmbeddings ? grads["model.embed_tokens.weight"] : grads["lm_head.weight"]
        be.gemm(transA: true, transB: false, m: c.vocabSize, n: d, k: rows.count, alpha: 1, a: TensorSlice(dLogits), lda: c.vocabSize,
                b: TensorSlice(pass.hFinal, offset: rows.lowerBound * d), ldb: d, beta: 1, c: TensorSlice(headGrad), ldc: d, precision: precision)
    }

    /// Logits of the rows `rows` of the pass: `[rows.count, vocab]`.
    func headLogits(_ pass: HiddenPass, rows: Range<Int>) -> Tensor {
        let c = config, be = backend, d = c.hiddenSize
        let logits = be.makeTensor(count: rows.count * c.vocabSize)
        be.gemm(transA: false, transB: true, m: rows.count, n: c.vocabSize, k: d, alpha: 1,
                a: TensorSlice(pass.hFinal, offset: rows.lowerBound * d), lda: d, b: TensorSlice(lmHead), ldb: d,
                beta: 0, c: TensorSlice(logits), ldc: c.vocabSize, precision: precision)
        return logits
    }

    /// Backward pass from the gradient of the final hidden states `dHidden [batch·time, hidden]`
    /// (the LM head's backward already applied) → gradients accumulated into `grads`. Layers kept
    /// as inputs only are recomputed, one at a time, just before their backward.
    public func backward(_ pass: HiddenPass, dHidden dhF: Tensor, into grads: ParameterSet) {
        let c = config, be = backend, n = pass.batch * pass.time, d = c.hiddenSize, hd = c.headDim
        let qh = c.numAttentionHeads, kvh = c.numKeyValueHeads, q = qh * hd, kv = kvh * hd, ff = c.intermediateSize
        let (positions, shape) = trainingGeometry(batch: pass.batch, time: pass.time)
        let dx = be.makeTensor(count: n * d)
        be.rmsNormBackward(x: pass.xFinal, weight: weights["model.norm.weight"], rstd: pass.rstdFinal, dy: dhF, dx: dx,
                           dWeight: grads["model.norm.weight"], rows: n, dim: d)
        for l in stride(from: c.numHiddenLayers - 1, through: 0, by: -1) {
            let p = "model.layers.\(l)."
            let s: LayerActivations
            switch pass.layers[l] {
            case .kept(let acts): s = acts
            case .input(let x): s = layerForward(l, x: x, batch: pass.batch, time: pass.time).0
            }
            // x3 = x2 + a · Wdᵀ
            let da = be.makeTensor(count: n * ff)
            linearBackward(dy: dx, x: s.a, w: weights[p + "mlp.down_proj.weight"], dW: grads[p + "mlp.down_proj.weight"],
                           dx: da, rows: n, out: d, inDim: ff, accumulate: false)
            let dg = be.makeTensor(count: n * ff), du = be.makeTensor(count: n * ff)
            be.siluMulBackward(g: s.g, u: s.u, dOut: da, dg: dg, du: du, count: n * ff)
            let dh2 = be.makeTensor(count: n * d)
            linearBackward(dy: dg, x: s.h2, w: weights[p + "mlp.gate_proj.weight"], dW: grads[p + "mlp.gate_proj.weight"],
                           dx: dh2, rows: n, out: ff, inDim: d, accumulate: false)
            linearBackward(dy: du, x: s.h2, w: weights[p + "mlp.up_proj.weight"], dW: grads[p + "mlp.up_proj.weight"],
                           dx: dh2, rows: n, out: ff, inDim: d, accumulate: true)
            be.rmsNormBackward(x: s.x2, weight: weights[p + "post_attention_layernorm.weight"], rstd: s.rstd2, dy: dh2, dx: dh2,
                               dWeight: grads[p + "post_attention_layernorm.weight"], rows: n, dim: d)
            be.axpy(alpha: 1, x: dh2, y: dx, count: n * d)   // dx is now dL/dx2
            // x2 = x + attn · Woᵀ
            let dAttn = be.makeTensor(count: n * q)
            linearBackward(dy: dx, x: s.attn, w: weights[p + "self_attn.o_proj.weight"], dW: grads[p + "self_attn.o_proj.weight"],
                           dx: dAttn, rows: n, out: d, inDim: q, accumulate: false)
            let dq = be.makeTensor(count: n * q), dkC = be.makeTensor(count: n * kv), dvC = be.makeTensor(count: n * kv)
            be.attentionBackward(q: s.qRoped, k: s.kCache, v: s.vCache, out: s.attn, lse: s.lse, dOut: dAttn, dq: dq, dk: dkC, dv: dvC,
                                 shape: shape, kvStart: nil)
            let dk = be.makeTensor(count: n * kv), dv = be.makeTensor(count: n * kv)
            be.fromHeads(dkC, out: dk, batch: pass.batch, time: pass.time, heads: kvh, headDim: hd, capacity: pass.time)
            be.fromHeads(dvC, out: dv, batch: pass.batch, time: pass.time, heads: kvh, headDim: hd, capacity: pass.time)
            be.rope(dq, positions: positions, heads: qh, headDim: hd, theta: c.ropeTheta, inverse: true)
            be.rope(dk, positions: positions, heads: kvh, headDim: hd, theta: c.ropeTheta, inverse: true)
            be.rmsNormBackward(x: s.qRaw, weight: weights[p + "self_attn.q_norm.weight"], rstd: s.qRstd, dy: dq, dx: dq,
                               dWeight: grads[p + "self_attn.q_norm.weight"], rows: n * qh, dim: hd)
            be.rmsNormBackward(x: s.kRaw, weight: weights[p + "self_attn.k_norm.weight"], rstd: s.kRstd, dy: dk, dx: dk,
                               dWeight: grads[p + "self_attn.k_norm.weight"], rows: n * kvh, dim: hd)
            let dh1 = be.makeTensor(count: n * d)
            linearBackward(dy: dq, x: s.h1, w: weights[p + "self_attn.q_proj.weight"], dW: grads[p + "self_attn.q_proj.weight"],
                           dx: dh1, rows: n, out: q, inDim: d, accumulate: false)
            linearBackward(dy: dk, x: s.h1, w: weights[p + "self_attn.k_proj.weight"], dW: grads[p + "self_attn.k_proj.weight"],
                           dx: dh1, rows: n, out: kv, inDim: d, accumulate: true)
            linearBackward(dy: dv, x: s.h1, w: weights[p + "self_attn.v_proj.weight"], dW: grads[p + "self_attn.v_proj.weight"],
                           dx: dh1, rows: n, out: kv, inDim: d, accumulate: true)
            be.rmsNormBackward(x: s.x, weight: weights[p + "input_layernorm.weight"], rstd: s.rstd1, dy: dh1, dx: dh1,
                               dWeight: grads[p + "input_layernorm.weight"], rows: n, dim: d)
            be.axpy(alpha: 1, x: dh1, y: dx, count: n * d)   // dx is now dL/dx (layer input)
        }
        be.embeddingBackward(dOut: dx, ids: pass.ids, dTable: grads["model.embed_tokens.weight"], dim: d)
    }

    /// y (`[rows, out]`) = x (`[rows, inDim]`) · Wᵀ, W `[out, inDim]`; `accumulate` adds to y.
    func linear(_ x: Tensor, _ w: Tensor, _ y: Tensor, rows: Int, out: Int, inDim: Int, accumulate: Bool = false) {
        backend.gemm(transA: false, transB: true, m: rows, n: out, k: inDim, alpha: 1, a: TensorSlice(x), lda: inDim,
                     b: TensorSlice(w), ldb: inDim, beta: accumulate ? 1 : 0, c: TensorSlice(y), ldc: out, precision: precision)
    }

    /// For y = x · Wᵀ: dW += dyᵀ · x and dx (=, or += with `accumulate`) dy · W.
    func linearBackward(dy: Tensor, x: Tensor, w: Tensor, dW: Tensor, dx: Tensor, rows: Int, out: Int, inDim: Int, accumulate: Bool) {
        backend.gemm(transA: true, transB: false, m: out, n: inDim, k: rows, alpha: 1, a: TensorSlice(dy), lda: out,
                     b: TensorSlice(x), ldb: inDim, beta: 1, c: TensorSlice(dW), ldc: inDim, precision: precision)
        backend.gemm(transA: false, transB: false, m: rows, n: inDim, k: out, alpha: 1, a: TensorSlice(dy), lda: out,
                     b: TensorSlice(w), ldb: inDim, beta: accumulate ? 1 : 0, c: TensorSlice(dx), ldc: inDim, precision: precision)
    }

    func checkIDs(_ ids: [Int32]) throws(TrainerError) {
        for id in ids where id < 0 || Int(id) >= config.vocabSize {
            throw .data("token id \(id) outside the vocabulary (size \(config.vocabSize))")
        }
    }
}
