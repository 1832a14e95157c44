/// Element type of a ``Tensor``.
public enum TensorDType: Sendable, Equatable {
    case fp32
    /// bfloat16: the top half of an fp32 (working copies of weight matrices in bf16 precision).
    case bf16
    /// Bytes per element.
    public var size: Int { self == .fp32 ? 4 : 2 }
}

/// An opaque buffer owned by a ``TensorBackend`` (fp32 unless made as bf16).
///
/// `address` is whatever the backend allocated: a host pointer for ``CPUBackend``, a device
/// pointer (a `CUdeviceptr` as a bit pattern) for a CUDA backend. Code outside a backend never
/// dereferences it; it moves data with ``TensorBackend/upload(_:to:)`` and
/// ``TensorBackend/download(_:)``. The memory is released when the tensor is.
public final class Tensor: @unchecked Sendable {
    /// Number of elements.
    public let count: Int
    public let dtype: TensorDType
    /// Backend-specific address of element 0.
    public let address: UnsafeMutableRawPointer
    private let release: @Sendable (UnsafeMutableRawPointer) -> Void

    /// Wraps memory a backend allocated; `release` frees it when the tensor dies.
    public init(count: Int, dtype: TensorDType = .fp32, address: UnsafeMutableRawPointer,
                release: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        self.count = count; self.dtype = dtype; self.address = address; self.release = release
    }
    deinit { release(address) }
}

/// A tensor plus an element offset: how GEMM operands point into a larger buffer.
public struct TensorSlice: @unchecked Sendable {
    public let tensor: Tensor
    public let offset: Int
    public init(_ tensor: Tensor, offset: Int = 0) { self.tensor = tensor; self.offset = offset }
}

/// Shapes of one attention call (see ``TensorBackend/attentionForward(q:k:v:out:lse:shape:qStart:kvStart:)``).
public struct AttentionShape: Sendable, Equatable {
    public var batch: Int
    /// Query positions in this call.
    public var queries: Int
    public var queryHeads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Time capacity of the key/value buffers (`[batch, kvHeads, capacity, headDim]`).
    public var capacity: Int
    public var scale: Float
    public init(batch: Int, queries: Int, queryHeads: Int, kvHeads: Int, headDim: Int, capacity: Int, scale: Float) {
        self.batch = batch; self.queries = queries; self.queryHeads = queryHeads; self.kvHeads = kvHeads
        self.headDim = headDim; self.capacity = capacity; self.scale = scale
    }
}

/// What ``TensorBackend/sampleTokens(logits:rows:vocab:candidates:temperature:topP:uniforms:)`` returns, per row.
public struct SampledTokens: Sendable, Equatable {
    public var ids: [Int32]
    /// log π(id) under the sampling distribution's softmax (before the top-p cut).
    public var logProbs: [Float]
    /// Entropy of that softmax.
    public var entropies: [Float]
    public init(ids: [Int32], logProbs: [Float], entropies: [Float]) { self.ids = ids; self.logProbs = logProbs; self.entropies = entropies }
}

/// AdamW hyper-parameters of one optimizer step.
public struct AdamWStep: Sendable {
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// 1-based step count (bias correction).
    public var step: Int
    public init(lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0, step: Int) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay; self.step = step
    }
}

/// Every numeric operation the Qwen3 model, its backward pass and the optimizer need.
///
/// Contract (what a new backend — e.g. CUDA — must implement):
/// - All tensors are row-major ``Tensor``s created by *this* backend, fp32 unless stated (bf16
///   tensors hold working copies of weight matrices and appear only as GEMM operands, embedding
///   tables and in upload/download/copy/convert); element offsets are in elements. Small integer inputs (token ids, positions, targets) arrive as host arrays and
///   are the backend's to upload. Outputs are written in place; "accumulate" means `+=`.
/// - Operations are ordered: a later call sees the results of earlier ones (a CUDA backend
///   uses one stream; ``download(_:)`` synchronises).
/// - Layouts: activations `[tokens, features]` with tokens = batch × time (time fastest);
///   attention heads interleaved as `[tokens, heads, headDim]`; key/value caches
///   `[batch, kvHeads, capacity, headDim]`; weights `[out, in]` as in PyTorch `nn.Linear`.
/// - The maths of each op is stated in the CPU kernels (`Sources/CTensor/ctensor.c`); backends
///   must agree with ``CPUBackend`` to fp32 rounding (the CUDA parity test checks this).
public protocol TensorBackend: AnyObject, Sendable {
    /// Short name (`cpu`, `cuda`).
    var name: String { get }

    // ── Memory ──
    /// Bytes held in this backend's tensors, now and at the peak.
    var memory: BackendMemory { get }
    /// Starts a new peak from the bytes held now.
    func resetPeak()
    /// The memory this backend's tensors can use (the machine's physical memory, a device's
    /// total memory) and what the figure is.
    var memoryCapacity: (bytes: Int, source: String) { get }
    /// A zero-filled tensor of `count` elements of `dtype`.
    func makeTensor(count: Int, dtype: TensorDType) -> Tensor
    /// Copies `values` into the start of `tensor` (rounded to nearest even for a bf16 tensor).
    func upload(_ values: [Float], to tensor: Tensor)
    /// The tensor's contents on the host as fp32 (synchronises).
    func download(_ tensor: Tensor) -> [Float]
    /// Sets every element of an fp32 tensor to `value`.
    func fill(_ tensor: Tensor, value: Float)
    /// dst[dstOffset ..< dstOffset+count] = src[srcOffset ..< srcOffset+count] (same dtype).
    func copy(_ src: Tensor, srcOffset: Int, to dst: Tensor, dstOffset: Int, count: Int)
    /// dst (bf16) = src (fp32) rounded to nearest even, over src.count elements: refreshes a bf16
    /// working copy from its fp32 master.
    func convert(_ src: Tensor, to dst: Tensor)

    // ── BLAS ──
    /// C = alpha · op(A) · op(B) + beta · C, row-major; op(A) is m×k, op(B) k×n; C is fp32.
    /// `precision` fp32: fp32 operands and products. bf16: every operand taken as bf16 (an fp32
    /// operand rounded to nearest even, a bf16 tensor as is), products summed in fp32 — the
    /// numerics of a bf16 tensor-core GEMM with fp32 accumulation.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: TensorSlice, lda: Int, b: TensorSlice, ldb: Int, beta: Float, c: TensorSlice, ldc: Int, precision: Precision)
    /// y[0..<count] += alpha · x[0..<count].
    func axpy(alpha: Float, x: Tensor, y: Tensor, count: Int)
    /// x *= alpha over the whole tensor.
    func scale(_ x: Tensor, by alpha: Float)
    /// Σ x² over the whole tensor, in double precision.
    func sumOfSquares(_ x: Tensor) -> Double

    // ── Model ops ──
    /// out[t] = table[ids[t]], rows of `dim` (the table fp32 or bf16; out fp32).
    func embedding(table: Tensor, ids: [Int32], out: Tensor, dim: Int)
    /// dTable[ids[t]] += dOut[t].
    func embeddingBackward(dOut: Tensor, ids: [Int32], dTable: Tensor, dim: Int)
    /// y = x · rsqrt(mean(x²)+eps) · w per row; `rstd` (rows) keeps the rsqrt for backward.
    func rmsNorm(x: Tensor, weight: Tensor, out: Tensor, rstd: Tensor?, rows: Int, dim: Int, eps: Float)
    /// dx = ∂/∂x (overwritten; may be the same tensor as dy), dWeight += ∂/∂w.
    func rmsNormBackward(x: Tensor, weight: Tensor, rstd: Tensor, dy: Tensor, dx: Tensor, dWeight: Tensor, rows: Int, dim: Int)
    /// Rotary embedding in place on `[positions.count, heads, headDim]` (rotate-half, base
    /// `theta`); `inverse` rotates back (the backward).
    func rope(_ x: Tensor, positions: [Int32], heads: Int, headDim: Int, theta: Float, inverse: Bool)
    /// a = silu(g) · u over `count` elements.
    func siluMul(g: Tensor, u: Tensor, out: Tensor, count: Int)
    /// dg, du (overwritten) from da.
    func siluMulBackward(g: Tensor, u: Tensor, dOut: Tensor, dg: Tensor, du: Tensor, count: Int)
    /// Scatters `src [batch, time, heads, headDim]` into `cache [batch, heads, capacity, headDim]` at time `start`.
    func toHeads(_ src: Tensor, cache: Tensor, batch: Int, time: Int, heads: Int, headDim: Int, capacity: Int, start: Int)
    /// Gathers the first `time` steps of `cache` back to `[batch, time, heads, headDim]`.
    func fromHeads(_ cache: Tensor, out: Tensor, batch: Int, time: Int, heads: Int, headDim: Int, capacity: Int)
    /// Causal grouped-query attention, tiled with an online softmax (memory independent of the
    /// number of keys). Query i sits at slot qStart+i and sees key slots kvStart[b] ... qStart+i of
    /// its row b (`kvStart` nil: from slot 0; it masks the left padding of a batch of prompts of
    /// different lengths). A query that sees no key gets zeros. `lse [batch, qHeads, queries]`,
    /// the log-sum-exp of each query's scaled scores (−∞ when it sees no key), is kept for the
    /// backward pass when given.
    func attentionForward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor?, shape: AttentionShape,
                          qStart: Int, kvStart: [Int32]?)
    /// Backward of a qStart = 0, capacity = queries forward from its `out` and `lse` (the
    /// probabilities are recomputed): dq `[tokens, qHeads, headDim]`, dk/dv in cache layout (all
    /// overwritten).
    func attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor,
                           dq: Tensor, dk: Tensor, dv: Tensor, shape: AttentionShape, kvStart: [Int32]?)
    /// Per row of `logits [rows, vocab]` scaled by `invTemperature`: log-probability of
    /// `targets[r]` and the entropy of the row's softmax (either output may be nil).
    func logProbAndEntropy(logits: Tensor, targets: [Int32]?, rows: Int, vocab: Int, invTemperature: Float,
                           logProb: Tensor?, entropy: Tensor?)
    /// In place: logits ← coef[r] · invT · (onehot(targets[r]) − softmax(invT · logits)),
    /// i.e. the gradient of Σ coef[r] · logp[r] with respect to the logits.
    func logProbBackward(logits: Tensor, targets: [Int32], coef: [Float], rows: Int, vocab: Int, invTemperature: Float)
    /// Draws one token per row of `logits [rows, vocab]` on the backend, among the first
    /// `candidates` ids; only the ids, their log-probabilities and the rows' entropies come back.
    /// `temperature` > 0 samples from softmax(logits / temperature) restricted to its top-p
    /// nucleus, with `uniforms[r]` ∈ [0, 1) as row r's random number; `temperature` 0 takes the
    /// first maximal logit (greedy; the log-probability and entropy are then those of
    /// softmax(logits)). Log-probabilities and entropies are over all `vocab` ids. The maths is
    /// stated in `Sources/CTensor/sampling.c`.
    func sampleTokens(logits: Tensor, rows: Int, vocab: Int, candidates: Int, temperature: Float, topP: Float, uniforms: [Float]) -> SampledTokens
    /// One AdamW update of `param` with `grad` and moments `m`, `v` (fp32 master weights).
    func adamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWStep)
}

extension TensorBackend {
    /// A zero-filled fp32 tensor of `count` elements.
    public func makeTensor(count: Int) -> Tensor { makeTensor(count: count, dtype: .fp32) }

    /// ``sampleTokens(logits:rows:vocab:candidates:temperature:topP:uniforms:)`` over every id.
    public func sampleTokens(logits: Tensor, rows: Int, vocab: Int, temperature: Float, topP: Float, uniforms: [Float]) -> SampledTokens {
        sampleTokens(logits: logits, rows: rows, vocab: vocab, candidates: vocab, temperature: temperature, topP: topP, uniforms: uniforms)
    }

    /// An fp32 GEMM (see ``gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:precision:)``).
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: TensorSlice, lda: Int, b: TensorSlice, ldb: Int, beta: Float, c: TensorSlice, ldc: Int) {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc, precision: .fp32)
    }
}

/// Elements a row-major GEMM operand spans from its first element: `rows` rows of `cols`
/// elements with leading dimension `ld`.
@inline(__always) public func operandExtent(rows: Int, cols: Int, ld: Int) -> Int { rows == 0 ? 0 : (rows - 1) * ld + cols }
