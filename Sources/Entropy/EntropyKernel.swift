import CKernels

/// Per-token entropy kernels (nats) over logits rows, top-k logits or given entropies.
///
/// The work is done by the C kernels in `CKernels` (AVX2+FMA with a float64 portable path, chosen
/// at run time; see `entropy_avx2.c` for the maths and the skip bound). Every function validates its
/// buffers first and reports the first bad row as a typed ``EntropyError``.
public enum EntropyKernel {
    /// Which full-row kernel to run (benchmarks and tests compare them; callers use `.automatic`).
    public enum Variant: Sendable, CaseIterable {
        /// AVX2 kernel that skips the exp of groups far below the running max (the default).
        case automatic
        /// The same AVX2 kernel without the skip (the baseline it has to beat).
        case plain
        /// Float64 two-pass kernel with libm exp (the path for CPUs without AVX2/FMA/F16C).
        case portable

        var code: Int32 {
            switch self {
            case .automatic: return Int32(CK_ENTROPY_AUTO)
            case .plain: return Int32(CK_ENTROPY_PLAIN)
            case .portable: return Int32(CK_ENTROPY_PORTABLE)
            }
        }
    }

    /// Whether this CPU runs the AVX2 kernels (else `.automatic` and `.plain` use the portable path).
    public static var hasVectorKernels: Bool { ck_cpu_has_avx2_fma_f16c() != 0 }

    /// Entropy of each of `rows` rows of `vocab` logits (row-major, little-endian `dtype`) at
    /// temperature τ: H = logsumexp(x/τ) − Σ softmax(x/τ)·x/τ, in nats, written to `out[0..<rows]`.
    /// −inf logits are masked out. `threads` = 0 uses every core. Throws ``EntropyError``.
    public static func entropies(logits: UnsafeRawBufferPointer, dtype: LogitsDType, rows: Int, vocab: Int,
                                 temperature: Float = 1, threads: Int = 0, kernel: Variant = .automatic,
                                 into out: UnsafeMutableBufferPointer<Float>) throws {
        try entropiesCountingSkips(logits: logits, dtype: dtype, rows: rows, vocab: vocab, temperature: temperature,
                                   threads: threads, kernel: kernel, into: out)
    }

    /// ``entropies(logits:dtype:rows:vocab:temperature:threads:kernel:into:)`` that also returns how
    /// many groups of 32 logits the skipping kernel did not exponentiate (for benchmarks; 0 for
    /// `.plain` and `.portable`). Divide by rows × ⌈vocab/32⌉ for the skipped fraction.
    @discardableResult
    public static func entropiesCountingSkips(logits: UnsafeRawBufferPointer, dtype: LogitsDType, rows: Int, vocab: Int,
                                              temperature: Float = 1, threads: Int = 0, kernel: Variant = .automatic,
                                              into out: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard rows >= 0, vocab > 0 else { throw EntropyError.shape("rows must be ≥ 0 and vocab > 0 (rows \(rows), vocab \(vocab))") }
        let (elements, overflow) = rows.multipliedReportingOverflow(by: vocab)
        guard !overflow, elements.multipliedReportingOverflow(by: dtype.byteWidth).partialValue == logits.count,
              !elements.multipliedReportingOverflow(by: dtype.byteWidth).overflow else {
            throw EntropyError.shape("logits hold \(logits.count) bytes, expected \(rows) × \(vocab) × \(dtype.byteWidth)")
        }
        guard out.count >= rows else { throw EntropyError.shape("output holds \(out.count) values, need \(rows)") }
        guard temperature.isFinite, temperature > 0 else { throw EntropyError.temperature(temperature) }
        guard threads >= 0 else { throw EntropyError.shape("threads must be ≥ 0, got \(threads)") }
        if rows == 0 { return 0 }
        var skipped = 0
        let st = ck_entropy_rows_stats(logits.baseAddress, dtype.ckCode, rows, vocab, vocab, temperature,
                                       Int32(clamping: threads), kernel.code, out.baseAddress, &skipped)
        try check(st)
        return skipped
    }

    /// Entropy estimated from the `k` largest logits of each row (row-major [rows, k], already at
    /// the sampling temperature) and the logsumexp of the full row (length `vocab`).
    ///
    /// `out[r]` = exact entropy of the top-k part + the midpoint of the tail's entropy interval
    /// [q·(−ln p_min), q·ln((V−k)/q)] (q = 1 − Σ top p, p_min = smallest top probability);
    /// `bounds[r]` (when given) = half that interval's width plus a float rounding allowance, so
    /// the true entropy lies in `out[r] ± bounds[r]`. Derivation: `entropy_topk.c`.
    public static func entropiesTopK(topLogits: UnsafeBufferPointer<Float>, k: Int, logsumexp: UnsafeBufferPointer<Float>,
                                     vocab: Int, rows: Int, into out: UnsafeMutableBufferPointer<Float>,
                                     bounds: UnsafeMutableBufferPointer<Float>?) throws {
        guard k > 0, vocab >= k, rows >= 0 else { throw EntropyError.shape("need 0 < k ≤ vocab and rows ≥ 0 (k \(k), vocab \(vocab), rows \(rows))") }
        let (elements, overflow) = rows.multipliedReportingOverflow(by: k)
        guard !overflow, topLogits.count == elements else { throw EntropyError.shape("top logits hold \(topLogits.count) values, expected \(rows) × \(k)") }
        guard logsumexp.count == rows else { throw EntropyError.shape("logsumexp holds \(logsumexp.count) values, expected \(rows)") }
        guard out.count >= rows else { throw EntropyError.shape("output holds \(out.count) values, need \(rows)") }
        if let b = bounds, b.count < rows { throw EntropyError.shape("bounds hold \(b.count) values, need \(rows)") }
        if rows == 0 { return }
        let st = ck_entropy_topk(topLogits.baseAddress, k, logsumexp.baseAddress, vocab, rows, out.baseAddress, bounds?.baseAddress)
        try check(st)
    }

    /// Pass-through of entropies computed elsewhere (e.g. by the trainer): validates that each is
    /// finite and ≥ 0 and copies them to `out`.
    public static func passThrough(_ given: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard out.count >= given.count else { throw EntropyError.shape("output holds \(out.count) values, need \(given.count)") }
        for (r, v) in given.enumerated() {
            guard v.isFinite, v >= 0 else { throw EntropyError.invalidEntropy(row: r, value: v) }
            out[r] = v
        }
    }

    /// The threshold T (nats) of the skipping kernel for rows of length `vocab`: groups of logits
    /// whose probability is provably ≤ e^{−T} are not exponentiated.
    public static func skipThreshold(vocab: Int) -> Double { ck_entropy_skip_threshold(max(vocab, 1)) }

    /// The proven bound h(ε) + ε·ln V (ε = V·e^{−T}) on the absolute entropy error skipping can add.
    public static func skipErrorBound(vocab: Int) -> Double { ck_entropy_skip_error_bound(max(vocab, 1)) }

    static func check(_ st: ck_status) throws {
        switch Int(st.code) {
        case Int(CK_OK): return
        case Int(CK_ERR_NONFINITE): throw EntropyError.nonFinite(row: st.row)
        case Int(CK_ERR_ALL_MASKED): throw EntropyError.allMasked(row: st.row)
        default: throw EntropyError.shape("kernel rejected its arguments (code \(st.code))")
        }
    }
}

extension LogitsDType {
    /// The C kernels' dtype code.
    var ckCode: Int32 {
        switch self {
        case .fp32: return Int32(CK_DTYPE_F32)
        case .bf16: return Int32(CK_DTYPE_BF16)
        case .fp16: return Int32(CK_DTYPE_F16)
        }
    }
}
