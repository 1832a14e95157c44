import CKernels
import COpenBLAS
import CTensor

/// The host backend: tensors are 64-byte aligned host arrays, GEMMs go to OpenBLAS
/// `cblas_sgemm` split into panels across CTensor's thread pool (`ct_sgemm`; OpenBLAS itself runs
/// single-threaded), everything else to the C kernels of `CTensor`, row-parallel on the same pool.
public final class CPUBackend: TensorBackend {
    public let name = "cpu"

    /// Threads of the pool every CPU backend shares (GEMM panels and kernels); starts the pool.
    public static var threads: Int { Int(ct_pool_threads()) }

    /// Asks for `threads` pool threads (0 = every core, or `REST_SHAPER_THREADS`); only takes
    /// effect before the pool's first use (the first CPU kernel or GEMM of the process).
    public static func requestThreads(_ threads: Int) { ct_pool_request_threads(Int32(clamping: threads)) }
    private let counter = AllocationCounter()
    public init() {}

    public var memory: BackendMemory { counter.snapshot }
    public func resetPeak() { counter.resetPeak() }
    public var memoryCapacity: (bytes: Int, source: String) { (ProcessMemory.physicalBytes(), "physical memory") }

    @inline(__always) private func f(_ t: Tensor) -> UnsafeMutablePointer<Float> {
        t.address.assumingMemoryBound(to: Float.self)
    }

    @inline(__always) private func h(_ t: Tensor) -> UnsafeMutablePointer<UInt16> {
        t.address.assumingMemoryBound(to: UInt16.self)
    }

    public func makeTensor(count: Int, dtype: TensorDType) -> Tensor {
        let bytes = max(count, 1) * dtype.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        counter.add(bytes)
        let counter = counter
        return Tensor(count: count, dtype: dtype, address: raw) { counter.remove(bytes); $0.deallocate() }
    }

    public func upload(_ values: [Float], to tensor: Tensor) {
        precondition(values.count <= tensor.count, "upload larger than tensor")
        values.withUnsafeBufferPointer {
            if tensor.dtype == .bf16 { ck_f32_to_bf16_array($0.baseAddress, h(tensor), values.count) }
            else { f(tensor).update(from: $0.baseAddress!, count: values.count) }
        }
    }

    public func download(_ tensor: Tensor) -> [Float] {
        if tensor.dtype == .bf16 {
            var out = [Float](repeating: 0, count: tensor.count)
            out.withUnsafeMutableBufferPointer { ck_bf16_to_f32_array(h(tensor), $0.baseAddress, tensor.count) }
            return out
        }
        return Array(UnsafeBufferPointer(start: f(tensor), count: tensor.count))
    }

    public func fill(_ tensor: Tensor, value: Float) {
        precondition(tensor.dtype == .fp32, "fill: fp32 tensors only")
        f(tensor).update(repeating: value, count: tensor.count)
    }

    public func copy(_ src: Tensor, srcOffset: Int, to dst: Tensor, dstOffset: Int, count: Int) {
        precondition(src.dtype == dst.dtype, "copy: dtypes differ")
        let w = src.dtype.size
        (dst.address + dstOffset * w).copyMemory(from: src.address + srcOffset * w, byteCount: count * w)
    }

    public func convert(_ src: Tensor, to dst: Tensor) {
        precondition(src.dtype == .fp32 && dst.dtype == .bf16 && dst.count >= src.count, "convert: fp32 → bf16")
        ck_f32_to_bf16_array(f(src), h(dst), src.count)
    }

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: TensorSlice, lda: Int, b: TensorSlice, ldb: Int, beta: Float, c: TensorSlice, ldc: Int, precision: Precision) {
        precondition(c.tensor.dtype == .fp32, "gemm: C is fp32")
        guard precision == .bf16 || a.tensor.dtype == .bf16 || b.tensor.dtype == .bf16 else {
            sgemm(transA, transB, m, n, k, alpha, f(a.tensor) + a.offset, lda, f(b.tensor) + b.offset, ldb, beta, f(c.tensor) + c.offset, ldc)
            return
        }
        // bf16 numerics on OpenBLAS (which has no bf16 GEMM here): each operand as fp32 copies of
        // its bf16 values — exact products, fp32 sums. A bf16 B operand (a weight matrix, up to
        // vocab × hidden) is widened in slices of about 4M elements, never whole.
        let aRows = transA ? k : m, aCols = transA ? m : k
        let aCopy = bf16Values(a, count: operandExtent(rows: aRows, cols: aCols, ld: lda))
        let bRows = transB ? n : k, bCols = transB ? k : n
        let slice = max(1, (1 << 22) / max(ldb, 1))
        aCopy.withUnsafeBufferPointer { ap in
            let pa = UnsafeMutablePointer(mutating: ap.baseAddress!)
            for r0 in stride(from: 0, to: max(bRows, 1), by: slice) where bRows > 0 {
                let rows = min(slice, bRows - r0)
                let bCopy = bf16Values(TensorSlice(b.tensor, offset: b.offset + r0 * ldb), count: operandExtent(rows: rows, cols: bCols, ld: ldb))
                bCopy.withUnsafeBufferPointer { bp in
                    let pb = UnsafeMutablePointer(mutating: bp.baseAddress!)
                    if transB {
                        // B rows are C columns r0 ..< r0+rows.
                        sgemm(transA, true, m, rows, k, alpha, pa, lda, pb, ldb, beta, f(c.tensor) + c.offset + r0, ldc)
                    } else {
                        // B rows are the k-range r0 ..< r0+rows: accumulate partial products.
                        let aStart = transA ? r0 * lda : r0
                        sgemm(transA, false, m, n, rows, alpha, pa + aStart, lda, pb, ldb, r0 == 0 ? beta : 1, f(c.tensor) + c.offset, ldc)
                    }
                }
            }
        }
    }

    private func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafeMutablePointer<Float>, _ lda: Int,
                       _ b: UnsafeMutablePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        ct_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// `count` elements from the slice as fp32 holding bf16 values (rounded, or widened from bf16).
    private func bf16Values(_ s: TensorSlice, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: max(count, 1))
        out.withUnsafeMutableBufferPointer { o in
            if s.tensor.dtype == .bf16 { ck_bf16_to_f32_array(h(s.tensor) + s.offset, o.baseAddress, count) }
            else { ck_round_to_bf16_array(f(s.tensor) + s.offset, o.baseAddress, count) }
        }
        return out
    }

    public func axpy(alpha: Float, x: Tensor, y: Tensor, count: Int) {
        cblas_saxpy(blasint(count), alpha, f(x), 1, f(y), 1)
    }

    public func scale(_ x: Tensor, by alpha: Float) { cblas_sscal(blasint(x.count), alpha, f(x), 1) }

    public func sumOfSquares(_ x: Tensor) -> Double { ct_sumsq(f(x), x.count) }

    public func embedding(table: Tensor, ids: [Int32], out: Tensor, dim: Int) {
        if table.dtype == .bf16 {
            for (t, id) in ids.enumerated() { ck_bf16_to_f32_array(h(table) + Int(id) * dim, f(out) + t * dim, dim) }
        } else {
            ct_embed_fwd(f(table), ids, f(out), ids.count, dim)
        }
    }

    public func embeddingBackward(dOut: Tensor, ids: [Int32], dTable: Tensor, dim: Int) {
        ct_embed_bwd(f(dOut), ids, f(dTable), ids.count, dim)
    }

    public func rmsNorm(x: Tensor, weight: Tensor, out: Tensor, rstd: Tensor?, rows: Int, dim: Int, eps: Float) {
        ct_rmsnorm_fwd(f(x), f(weight), f(out), rstd.map { f($0) }, rows, dim, eps)
    }

    public func rmsNormBackward(x: Tensor, weight: Tensor, rstd: Tensor, dy: Tensor, dx: Tensor, dWeight: Tensor, rows: Int, dim: Int) {
        ct_rmsnorm_bwd(f(x), f(weight), f(rstd), f(dy), f(dx), f(dWeight), rows, dim)
    }

    public func rope(_ x: Tensor, positions: [Int32], heads: Int, headDim: Int, theta: Float, inverse: Bool) {
        ct_rope(f(x), positions, positions.count, heads, headDim, theta, inverse ? -1 : 1)
    }

    public func siluMul(g: Tensor, u: Tensor, out: Tensor, count: Int) { ct_silu_mul_fwd(f(g), f(u), f(out), count) }

    public func siluMulBackward(g: Tensor, u: Tensor, dOut: Tensor, dg: Tensor, du: Tensor, count: Int) {
        ct_silu_mul_bwd(f(g), f(u), f(dOut), f(dg), f(du), count)
    }

    public func toHeads(_ src: Tensor, cache: Tensor, batch: Int, time: Int, heads: Int, headDim: Int, capacity: Int, start: Int) {
        ct_to_heads(f(src), f(cache), batch, time, heads, headDim, capacity, start)
    }

    public func fromHeads(_ cache: Tensor, out: Tensor, batch: Int, time: Int, heads: Int, headDim: Int, capacity: Int) {
        ct_from_heads(f(cache), f(out), batch, time, heads, headDim, capacity)
    }

    public func attentionForward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor?, shape s: AttentionShape,
                                 qStart: Int, kvStart: [Int32]?) {
        withOptionalPointer(kvStart) { starts in
            ct_attention_fwd_parallel(f(q), f(k), f(v), f(out), lse.map { f($0) }, starts, s.batch, s.queries, s.queryHeads, s.kvHeads,
                             s.headDim, s.capacity, qStart, s.scale)
        }
    }

    public func attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor,
                                  dq: Tensor, dk: Tensor, dv: Tensor, shape s: AttentionShape, kvStart: [Int32]?) {
        withOptionalPointer(kvStart) { starts in
            ct_attention_bwd_parallel(f(q), f(k), f(v), f(out), f(lse), f(dOut), f(dq), f(dk), f(dv), starts, s.batch, s.queries,
                             s.queryHeads, s.kvHeads, s.headDim, s.scale)
        }
    }

    public func logProbAndEntropy(logits: Tensor, targets: [Int32]?, rows: Int, vocab: Int, invTemperature: Float,
                                  logProb: Tensor?, entropy: Tensor?) {
        if let targets {
            ct_logprob_entropy(f(logits), targets, rows, vocab, invTemperature, logProb.map { f($0) }, entropy.map { f($0) })
        } else {
            ct_logprob_entropy(f(logits), nil, rows, vocab, invTemperature, nil, entropy.map { f($0) })
        }
    }

    public func logProbBackward(logits: Tensor, targets: [Int32], coef: [Float], rows: Int, vocab: Int, invTemperature: Float) {
        ct_logprob_grad(f(logits), targets, coef, rows, vocab, invTemperature)
    }

    public func sampleTokens(logits: Tensor, rows: Int, vocab: Int, candidates: Int, temperature: Float, topP: Float,
                             uniforms: [Float]) -> SampledTokens {
        precondition(temperature <= 0 || uniforms.count >= rows, "sampleTokens: one uniform per row")
        var ids = [Int32](repeating: 0, count: rows)
        var logp = [Float](repeating: 0, count: rows), ent = [Float](repeating: 0, count: rows)
        withOptionalPointer(temperature > 0 ? uniforms : nil) { u in
            ct_sample_rows(f(logits), rows, vocab, candidates, temperature > 0 ? 1 / temperature : 0, topP, u, &ids, &logp, &ent)
        }
        return SampledTokens(ids: ids, logProbs: logp, entropies: ent)
    }

    public func adamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper h: AdamWStep) {
        let bc1 = 1 - Float(integerPower(Double(h.beta1), Double(h.step)))
        let bc2 = 1 - Float(integerPower(Double(h.beta2), Double(h.step)))
        ct_adamw(f(param), f(grad), f(m), f(v), param.count, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2)
    }
}

/// x^n (n ≥ 0 integral) for AdamW bias corrections, without Foundation.
@inline(__always) func integerPower(_ x: Double, _ n: Double) -> Double {
    var r = 1.0; var i = 0
    while Double(i) < n { r *= x; i += 1 }
    return r
}

/// Calls `body` with a pointer to `values`' elements, or nil when there are none.
func withOptionalPointer<T, R>(_ values: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
