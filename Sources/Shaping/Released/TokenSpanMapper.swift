/// `char_span_to_token_span` of the released code over a re-tokenisation's code-point offsets:
/// - lo = the first token whose start ≥ char_lo (W2: a token straddling the start is skipped);
///   none → `StopIteration`;
/// - hi = max(lo + 1, the first token whose end ≥ char_hi, else the token count) — the slice
///   `[lo, hi)` excludes that token, so a span's last token is dropped (W1).
/// Linear scans, as in Python: offsets need not be monotone.
enum TokenSpanMapper {
    static func map(_ offsets: CodePointOffsets, charLo: Int, charHi: Int) throws(ShapingError) -> (lo: Int, hi: Int) {
        let n = min(offsets.starts.count, offsets.ends.count)
        var lo = -1
        offsets.starts.withUnsafeBufferPointer { s in
            for i in 0..<n where Int(s[i]) >= charLo { lo = i; return }
        }
        guard lo >= 0 else { throw .spanStartNotFound(charLo: charLo) }
        var end = n
        offsets.ends.withUnsafeBufferPointer { e in
            for i in 0..<n where Int(e[i]) >= charHi { end = i; return }
        }
        return (lo, max(lo + 1, end))
    }

    /// `token_weight[i, lo:hi] = token_weight[i, lo:hi].maximum(torch.full((hi - lo,), γ))` on a row of
    /// length T: the slice is clipped to the row; shapes must then agree or broadcast
    /// (a clipped slice of 0 elements against a 1-element full is fine), else `RuntimeError`.
    static func applyMax(_ w: UnsafeMutableBufferPointer<Float>, rowLength t: Int, lo: Int, hi: Int, gamma: Float) throws(ShapingError) {
        let want = hi - lo
        let got = max(0, min(hi, t) - min(lo, t))
        guard got == want || (got == 0 && want == 1) else {
            throw .sliceShapeMismatch(lo: lo, hi: hi, rowLength: t)
        }
        var i = lo
        let stop = min(hi, t)
        while i < stop {
            if !(w[i] >= gamma) { w[i] = gamma }  // torch.maximum (NaN-free here)
            i += 1
        }
    }
}
