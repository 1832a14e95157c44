#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension EntropyKernel {
    /// Float64 reference entropy (nats) of one row, written independently of the C kernels for
    /// tests: widen every logit with ``LogitsCodec`` (Swift code), then two passes in Double:
    /// m = max y, H = ln Σ e^{y−m} − Σ e^{y−m}(y−m) / Σ e^{y−m}, y = x/τ. Returns nil for a row with
    /// a NaN or +inf logit or with every logit −inf.
    public static func referenceEntropy(logits: UnsafeRawBufferPointer, dtype: LogitsDType, vocab: Int, row: Int,
                                        temperature: Double = 1) -> Double? {
        let values = (0..<vocab).map { LogitsCodec.decode(logits, dtype: dtype, index: row * vocab + $0) }
        return referenceEntropy(row: values, temperature: temperature)
    }

    /// Float64 reference entropy of a row of float logits (see the raw-buffer overload).
    public static func referenceEntropy(row: [Float], temperature: Double = 1) -> Double? {
        var m = -Double.infinity
        for x in row {
            if x.isNaN || x == .infinity { return nil }
            m = Swift.max(m, Double(x))
        }
        guard m > -.infinity else { return nil }
        var s = 0.0, u = 0.0
        for x in row where x > -.infinity {
            let d = (Double(x) - m) / temperature
            let e = exp(d)
            s += e
            u += e * d
        }
        return log(s) - u / s
    }
}
