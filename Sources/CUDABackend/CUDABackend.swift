import CKernels
import Foundation
import Trainer

/// The trainer's ``TensorBackend`` on an NVIDIA GPU: kernels compiled at run time by NVRTC from
/// ``CUDAKernels``, GEMMs on cuBLAS, memory and launches through the driver API. Nothing CUDA is
/// needed to build; at run time it needs `libcuda.so.1` (the driver), libnvrtc and libcublas.
///
/// All work goes to the default stream in call order, so ops see earlier results; ``download(_:)``
/// synchronises. A failing CUDA call mid-run is a broken device, not bad input: it stops the
/// process with the driver's message (the trainer cannot continue from a half-applied update).
public final class CUDABackend: TensorBackend, @unchecked Sendable {
    public let name = "cuda"
    /// Device name and compute capability, for logs.
    public let deviceDescription: String
    private let driver: CUDADriver
    private let blas: CuBLAS
    private var functions: [String: OpaquePointer?] = [:]
    private var scratch: [String: (ptr: UInt64, bytes: Int)] = [:]
    private let counter = AllocationCounter()
    private let pool: DeviceMemoryPool

    public var memory: BackendMemory { counter.snapshot }
    public func resetPeak() { counter.resetPeak() }

    /// Free device memory now plus what this backend's tensors already hold (and its cache of
    /// released buffers, which it frees before failing an allocation).
    public var memoryCapacity: (bytes: Int, source: String) {
        var info = (free: 0, total: 0)
        must { info = try driver.memoryInfo() }
        return (info.free + counter.snapshot.currentBytes + pool.cachedBytes,
                String(format: "device: %.1f GiB free + %.1f GiB held, of %.1f GiB", Double(info.free) / 1_073_741_824,
                       Double(counter.snapshot.currentBytes) / 1_073_741_824, Double(info.total) / 1_073_741_824))
    }

    /// Opens device `ordinal`, compiles the kernels for its architecture and loads them.
    public init(device ordinal: Int = 0) throws {
        driver = try CUDADriver()
        pool = DeviceMemoryPool(driver: driver)
        let dev = try driver.open(device: Int32(ordinal))
        deviceDescription = "\(dev.name) (sm_\(dev.major)\(dev.minor))"
        let nvrtc = try NVRTC()
        // PTX for the device's own virtual architecture (capped at what NVRTC 12 knows); the driver JITs it.
        let cc = min(dev.major * 10 + dev.minor, 90)
        let ptx = try nvrtc.compileToPTX(source: CUDAKernels.source, arch: "compute_\(cc)")
        let module = try driver.loadModule(ptx: ptx)
        for name in CUDAKernels.entryPoints { functions[name] = try driver.function(module, name) }
        blas = try CuBLAS()
    }

    /// Whether a CUDA device can be opened here, and why not when it cannot.
    public static func probe() -> Result<String, CUDAError> {
        do { return .success(try CUDABackend().deviceDescription) }
        catch let e as CUDAError { return .failure(e) }
        catch { return .failure(.noDevice("\(error)")) }
    }

    // MARK: - Plumbing

    private func must(_ body: () throws -> Void) {
        do { try driver.bind(); try body() } catch { fatalError("CUDA backend: \(error)") }
    }

    private func dev(_ t: Tensor) -> UInt64 { UInt64(UInt(bitPattern: t.address)) }
    private func dev(_ s: TensorSlice) -> UInt64 { dev(s.tensor) + UInt64(s.offset * s.tensor.dtype.size) }
    private func opt(_ t: Tensor?) -> UInt64 { t.map { dev($0) } ?? 0 }

    private func launch(_ name: String, grid: Int, block: Int = 256, shared: Int = 0, _ args: [KernelArgument]) {
        must { try driver.launch(functions[name] ?? nil, name: name, grid: grid, block: block, sharedBytes: shared, args: args) }
    }

    /// Blocks for a grid-stride loop over `n` elements.
    private func blocks(_ n: Int) -> Int { max(1, min((n + 255) / 256, 8192)) }

    /// A reusable device buffer for small host inputs (ids, positions, targets, coefficients).
    /// Host→device copies from pageable memory wait for earlier work, so reuse is safe.
    private func upload<T>(_ values: [T], slot: String) -> UInt64 {
        let bytes = values.count * MemoryLayout<T>.stride
        let p = scratchBuffer(bytes: bytes, slot: slot)
        must { try values.withUnsafeBytes { try driver.upload($0.baseAddress!, to: p, bytes: bytes) } }
        return p
    }

    /// A device buffer of at least `bytes` kept under `slot` and reused by later calls (grown when
    /// too small). The old buffer is released only after the device has finished with it: the
    /// driver's free waits for the work queued before it.
    private func scratchBuffer(bytes: Int, slot: String) -> UInt64 {
        if scratch[slot] == nil || scratch[slot]!.bytes < bytes {
            if let old = scratch[slot] { driver.release(old.ptr) }
            var p: UInt64 = 0
            must { p = try driver.allocate(bytes: max(bytes, 256)) }
            scratch[slot] = (p, max(bytes, 256))
        }
        return scratch[slot]!.ptr
    }

    // MARK: - Memory

    public func makeTensor(count: Int, dtype: TensorDType) -> Tensor {
        var p: UInt64 = 0
        let words = (count * dtype.size + 3) / 4, bytes = DeviceMemoryPool.roundedSize(words * 4)
        must { p = try self.pool.allocate(bytes: bytes); try driver.zero(p, words: words) }
        let pool = self.pool, counter = counter
        counter.add(bytes)
        return Tensor(count: count, dtype: dtype, address: UnsafeMutableRawPointer(bitPattern: UInt(p))!) { addr in
            counter.remove(bytes)
            pool.recycle(UInt64(UInt(bitPattern: addr)), bytes: bytes)
        }
    }

    public func upload(_ values: [Float], to tensor: Tensor) {
        precondition(values.count <= tensor.count, "upload larger than tensor")
        if tensor.dtype == .bf16 {
            var half = [UInt16](repeating: 0, count: values.count)
            half.withUnsafeMutableBufferPointer { ck_f32_to_bf16_array(values, $0.baseAddress, values.count) }
            must { try half.withUnsafeBytes { try driver.upload($0.baseAddress!, to: dev(tensor), bytes: values.count * 2) } }
            return
        }
        must { try values.withUnsafeBytes { try driver.upload($0.baseAddress!, to: dev(tensor), bytes: values.count * 4) } }
    }

    public func download(_ tensor: Tensor) -> [Float] {
        var out = [Float](repeating: 0, count: tensor.count)
        if tensor.dtype == .bf16 {
            var half = [UInt16](repeating: 0, count: tensor.count)
            must {
                try driver.synchronize()
                try half.withUnsafeMutableBytes { try driver.download(dev(tensor), to: $0.baseAddress!, bytes: tensor.count * 2) }
            }
            out.withUnsafeMutableBufferPointer { ck_bf16_to_f32_array(half, $0.baseAddress, tensor.count) }
            return out
        }
        must {
            try driver.synchronize()
            try out.withUnsafeMutableBytes { try driver.download(dev(tensor), to: $0.baseAddress!, bytes: tensor.count * 4) }
        }
        return out
    }

    public func fill(_ tensor: Tensor, value: Float) {
        precondition(tensor.dtype == .fp32, "fill: fp32 tensors only")
        launch("rs_fill", grid: blocks(tensor.count), [.pointer(dev(tensor)), .float(value), .int(tensor.count)])
    }

    public func copy(_ src: Tensor, srcOffset: Int, to dst: Tensor, dstOffset: Int, count: Int) {
        precondition(src.dtype == dst.dtype, "copy: dtypes differ")
        let w = src.dtype.size
        must { try driver.copy(dev(src) + UInt64(srcOffset * w), to: dev(dst) + UInt64(dstOffset * w), bytes: count * w) }
    }

    public func convert(_ src: Tensor, to dst: Tensor) {
        precondition(src.dtype == .fp32 && dst.dtype == .bf16 && dst.count >= src.count, "convert: fp32 → bf16")
        launch("rs_to_bf16", grid: blocks(src.count), [.pointer(dev(src)), .pointer(dev(dst)), .int(src.count)])
    }

    // MARK: - BLAS

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: TensorSlice, lda: Int, b: TensorSlice, ldb: Int, beta: Float, c: TensorSlice, ldc: Int, precision: Precision) {
        precondition(c.tensor.dtype == .fp32, "gemm: C is fp32")
        guard precision == .bf16 || a.tensor.dtype == .bf16 || b.tensor.dtype == .bf16 else {
            must { try blas.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: dev(a), lda: lda,
                                 b: dev(b), ldb: ldb, beta: beta, c: dev(c), ldc: ldc) }
            return
        }
        // bf16 operands on the tensor cores: bf16 tensors as they are, fp32 operands rounded into scratch.
        let pa = bf16Operand(a, count: operandExtent(rows: transA ? k : m, cols: transA ? m : k, ld: lda), slot: "gemm-a")
        let pb = bf16Operand(b, count: operandExtent(rows: transB ? n : k, cols: transB ? k : n, ld: ldb), slot: "gemm-b")
        must { try blas.gemmBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda,
                                 b: pb, ldb: ldb, beta: beta, c: dev(c), ldc: ldc) }
    }

    /// A device pointer to `count` bf16 elements of the slice (converted into scratch when fp32).
    private func bf16Operand(_ s: TensorSlice, count: Int, slot: String) -> UInt64 {
        if s.tensor.dtype == .bf16 { return dev(s) }
        let p = scratchBuffer(bytes: count * 2, slot: slot)
        launch("rs_to_bf16", grid: blocks(count), [.pointer(dev(s)), .pointer(p), .int(count)])
        return p
    }

    public func axpy(alpha: Float, x: Tensor, y: Tensor, count: Int) {
        launch("rs_axpy", grid: blocks(count), [.float(alpha), .pointer(dev(x)), .pointer(dev(y)), .int(count)])
    }

    public func scale(_ x: Tensor, by alpha: Float) {
        launch("rs_scale", grid: blocks(x.count), [.pointer(dev(x)), .float(alpha), .int(x.count)])
    }

    public func sumOfSquares(_ x: Tensor) -> Double {
        let out = upload([0.0], slot: "sumsq")
        launch("rs_sumsq", grid: blocks(x.count), [.pointer(dev(x)), .int(x.count), .pointer(out)])
        var result = 0.0
        must {
            try driver.synchronize()
            try withUnsafeMutableBytes(of: &result) { try driver.download(out, to: $0.baseAddress!, bytes: 8) }
        }
        return result
    }

    // MARK: - Model ops

    public func embedding(table: Tensor, ids: [Int32], out: Tensor, dim: Int) {
        let p = upload(ids, slot: "ids")
        launch(table.dtype == .bf16 ? "rs_embed_fwd_bf16" : "rs_embed_fwd", grid: blocks(ids.count * dim), [.pointer(dev(table)), .pointer(p), .pointer(dev(out)), .int(ids.count), .int(dim)])
    }

    public func embeddingBackward(dOut: Tensor, ids: [Int32], dTable: Tensor, dim: Int) {
        let p = upload(ids, slot: "ids")
        launch("rs_embed_bwd", grid: blocks(ids.count * dim), [.pointer(dev(dOut)), .pointer(p), .pointer(dev(dTable)), .int(ids.count), .int(dim)])
    }

    public func rmsNorm(x: Tensor, weight: Tensor, out: Tensor, rstd: Tensor?, rows: Int, dim: Int, eps: Float) {
        launch("rs_rmsnorm_fwd", grid: rows, [.pointer(dev(x)), .pointer(dev(weight)), .pointer(dev(out)), .pointer(opt(rstd)), .int(dim), .float(eps)])
    }

    public func rmsNormBackward(x: Tensor, weight: Tensor, rstd: Tensor, dy: Tensor, dx: Tensor, dWeight: Tensor, rows: Int, dim: Int) {
        launch("rs_rmsnorm_bwd", grid: rows, [.pointer(dev(x)), .pointer(dev(weight)), .pointer(dev(rstd)), .pointer(dev(dy)),
                                              .pointer(dev(dx)), .pointer(dev(dWeight)), .int(dim)])
    }

    public func rope(_ x: Tensor, positions: [Int32], heads: Int, headDim: Int, theta: Float, inverse: Bool) {
        let p = upload(positions, slot: "positions")
        launch("rs_rope", grid: blocks(positions.count * heads * headDim / 2),
               [.pointer(dev(x)), .pointer(p), .int(positions.count), .int(heads), .int(headDim), .float(theta), .float(inverse ? -1 : 1)])
    }

    public func siluMul(g: Tensor, u: Tensor, out: Tensor, count: Int) {
        launch("rs_silu_mul_fwd", grid: blocks(count), [.pointer(dev(g)), .pointer(dev(u)), .pointer(dev(out)), .int(count)])
    }

    public func siluMulBackward(g: Tensor, u: Tensor, dOut: Tensor, dg: Tensor, du: Tensor, count: Int) {
        launch("rs_silu_mul_bwd", grid: blocks(count), [.pointer(dev(g)), .pointer(dev(u)), .pointer(dev(dOut)), .pointer(dev(dg)), .pointer(dev(du)), .int(count)])
    }

    public func toHeads(_ src: Tensor, cache: Tensor, batch: Int, time: Int, heads: Int, headDim: Int, capacity: Int, start: Int) {
        launch("rs_to_heads", grid: blocks(batch * time * heads * headDim),
               [.pointer(dev(src)), .pointer(dev(cache)), .int(batch), .int(time), .int(heads), .int(headDim), .int(capacity), .int(start)])
    }

    public func fromHeads(_ cache: Tensor, out: Tensor, batch: Int, time: Int, heads: Int, headDim: Int, capacity: Int) {
        launch("rs_from_heads", grid: blocks(batch * time * heads * headDim),
               [.pointer(dev(cache)), .pointer(dev(out)), .int(batch), .int(time), .int(heads), .int(headDim), .int(capacity)])
    }

    public func attentionForward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor?, shape s: AttentionShape,
                                 qStart: Int, kvStart: [Int32]?) {
        precondition(s.headDim <= CUDAKernels.attentionMaxHeadDim, "CUDA attention: head_dim \(s.headDim) > \(CUDAKernels.attentionMaxHeadDim)")
        let tile = CUDAKernels.attentionTile(headDim: s.headDim)
        let starts = kvStart.map { upload($0, slot: "kvstart") } ?? 0
        let blocks = s.batch * s.queryHeads * ((s.queries + 7) / 8)
        launch("rs_attention_fwd", grid: blocks, shared: CUDAKernels.attentionSharedBytes(headDim: s.headDim, tile: tile),
               [.pointer(dev(q)), .pointer(dev(k)), .pointer(dev(v)), .pointer(dev(out)), .pointer(opt(lse)), .pointer(starts),
                .int(s.queries), .int(s.queryHeads), .int(s.kvHeads), .int(s.headDim), .int(s.capacity), .int(qStart),
                .float(s.scale), .int(tile)])
    }

    public func attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor,
                                  dq: Tensor, dk: Tensor, dv: Tensor, shape s: AttentionShape, kvStart: [Int32]?) {
        precondition(s.headDim <= CUDAKernels.attentionMaxHeadDim, "CUDA attention: head_dim \(s.headDim) > \(CUDAKernels.attentionMaxHeadDim)")
        let tile = CUDAKernels.attentionTile(headDim: s.headDim), shared = CUDAKernels.attentionSharedBytes(headDim: s.headDim, tile: tile)
        let starts = kvStart.map { upload($0, slot: "kvstart") } ?? 0
        let rows = s.batch * s.queries * s.queryHeads
        let d = scratchBuffer(bytes: rows * 4, slot: "attention-D")
        launch("rs_attention_bwd_dot", grid: (rows + 7) / 8,
               [.pointer(dev(out)), .pointer(dev(dOut)), .pointer(d), .int(rows), .int(s.queries), .int(s.queryHeads), .int(s.headDim)])
        launch("rs_attention_bwd_dq", grid: s.batch * s.queryHeads * ((s.queries + 7) / 8), shared: shared,
               [.pointer(dev(q)), .pointer(dev(k)), .pointer(dev(v)), .pointer(dev(lse)), .pointer(d), .pointer(dev(dOut)),
                .pointer(dev(dq)), .pointer(starts), .int(s.queries), .int(s.queryHeads), .int(s.kvHeads), .int(s.headDim),
                .float(s.scale), .int(tile)])
        launch("rs_attention_bwd_dkdv", grid: s.batch * s.kvHeads * ((s.queries + 7) / 8), shared: shared,
               [.pointer(dev(q)), .pointer(dev(k)), .pointer(dev(v)), .pointer(dev(lse)), .pointer(d), .pointer(dev(dOut)),
                .pointer(dev(dk)), .pointer(dev(dv)), .pointer(starts), .int(s.queries), .int(s.queryHeads), .int(s.kvHeads),
                .int(s.headDim), .float(s.scale), .int(tile)])
    }

    public func logProbAndEntropy(logits: Tensor, targets: [Int32]?, rows: Int, vocab: Int, invTemperature: Float,
                                  logProb: Tensor?, entropy: Tensor?) {
        let t = targets.map { upload($0, slot: "targets") } ?? 0
        launch("rs_logprob_entropy", grid: rows, [.pointer(dev(logits)), .pointer(t), .int(vocab), .float(invTemperature),
                                                  .pointer(opt(logProb)), .pointer(opt(entropy))])
    }

    public func logProbBackward(logits: Tensor, targets: [Int32], coef: [Float], rows: Int, vocab: Int, invTemperature: Float) {
        let t = upload(targets, slot: "targets")
        let c = upload(coef, slot: "coef")
        launch("rs_logprob_grad", grid: rows, [.pointer(dev(logits)), .pointer(t), .pointer(c), .int(vocab), .float(invTemperature)])
    }

    public func sampleTokens(logits: Tensor, rows: Int, vocab: Int, candidates: Int, temperature: Float, topP: Float,
                             uniforms: [Float]) -> SampledTokens {
        precondition(temperature <= 0 || uniforms.count >= rows, "sampleTokens: one uniform per row")
        let u = temperature > 0 ? upload(uniforms, slot: "uniforms") : 0
        let probs = temperature > 0 ? scratchBuffer(bytes: rows * vocab * 4, slot: "sample-probs") : 0
        let out = scratchBuffer(bytes: rows * 12, slot: "sample-out")   // ids, logp, entropy
        launch("rs_sample", grid: rows, [.pointer(dev(logits)), .int(vocab), .int(min(max(candidates, 1), vocab)),
                                         .float(temperature > 0 ? 1 / temperature : 0), .float(topP),
                                         .pointer(u), .pointer(probs), .pointer(out), .pointer(out + UInt64(rows * 4)),
                                         .pointer(out + UInt64(rows * 8))])
        var words = [UInt32](repeating: 0, count: rows * 3)
        must {
            try driver.synchronize()
            try words.withUnsafeMutableBytes { try driver.download(out, to: $0.baseAddress!, bytes: rows * 12) }
        }
        return SampledTokens(ids: words[0..<rows].map { Int32(bitPattern: $0) },
                             logProbs: words[rows..<(2 * rows)].map { Float(bitPattern: $0) },
                             entropies: words[(2 * rows)...].map { Float(bitPattern: $0) })
    }

    public func adamW(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper h: AdamWStep) {
        let bc1 = 1 - Float(Foundation_pow(Double(h.beta1), Double(h.step)))
        let bc2 = 1 - Float(Foundation_pow(Double(h.beta2), Double(h.step)))
        launch("rs_adamw", grid: blocks(param.count),
               [.pointer(dev(param)), .pointer(dev(grad)), .pointer(dev(m)), .pointer(dev(v)), .int(param.count), .float(h.lr),
                .float(h.beta1), .float(h.beta2), .float(h.eps), .float(h.weightDecay), .float(bc1), .float(bc2)])
    }

    // MARK: - Entropy of raw logits (the sidecar's full-logits path)

    /// Entropies of `rows` logits rows of `vocab` elements (fp32 / bf16 / fp16 bytes) at `temperature`.
    public func entropies(logits: UnsafeRawBufferPointer, dtypeBytes: Int, kernel: String, rows: Int, vocab: Int, temperature: Float) throws -> [Float] {
        try driver.bind()
        let bytes = rows * vocab * dtypeBytes
        precondition(logits.count >= bytes)
        let src = try driver.allocate(bytes: bytes)
        defer { driver.release(src) }
        let out = try driver.allocate(bytes: rows * 4)
        defer { driver.release(out) }
        try driver.upload(logits.baseAddress!, to: src, bytes: bytes)
        try driver.launch(functions[kernel] ?? nil, name: kernel, grid: rows, block: 256,
                          args: [.pointer(src), .int(vocab), .float(1 / temperature), .pointer(out)])
        try driver.synchronize()
        var result = [Float](repeating: 0, count: rows)
        try result.withUnsafeMutableBytes { try driver.download(out, to: $0.baseAddress!, bytes: rows * 4) }
        return result
    }
}

#if canImport(Glibc)
import Glibc
private func Foundation_pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
#endif
