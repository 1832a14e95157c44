/// Why an entropy computation (or an entropy file) was rejected. Row indices are 0-based.
public enum EntropyError: Error, Equatable, CustomStringConvertible {
    /// The row holds a NaN or +inf logit (or, for top-k input, a NaN/+inf logit or logsumexp).
    case nonFinite(row: Int)
    /// Every logit of the row is −inf, so it has no distribution.
    case allMasked(row: Int)
    /// Buffer sizes, row count, vocabulary size or k do not fit together.
    case shape(String)
    /// The temperature is not a finite number > 0.
    case temperature(Float)
    /// A given entropy (pass-through) is NaN, infinite or negative.
    case invalidEntropy(row: Int, value: Float)
    /// A .npy / raw logits file could not be read or written.
    case file(String)

    public var description: String {
        switch self {
        case .nonFinite(let r): return "row \(r): NaN or +inf logit"
        case .allMasked(let r): return "row \(r): every logit is -inf (fully masked)"
        case .shape(let s): return "shape: \(s)"
        case .temperature(let t): return "temperature must be finite and > 0, got \(t)"
        case .invalidEntropy(let r, let v): return "row \(r): given entropy \(v) is not a finite value ≥ 0"
        case .file(let s): return "file: \(s)"
        }
    }
}
