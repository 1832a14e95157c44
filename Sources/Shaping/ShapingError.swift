/// Why a weight profile could not weight one rollout. The batch never fails: the row falls back to
/// weights = mask and carries this error (see ``RowOutcome``).
public enum ShapingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Released code: `next(i for … if a >= char_lo)` found no re-tokenised token starting at or
    /// after the span start (Python raises `StopIteration`).
    case spanStartNotFound(charLo: Int)
    /// Released code: the token span `[lo, hi)` crosses the end of the sampled row (length `rowLength`),
    /// so `token_weight[i, lo:hi].maximum(torch.full((hi - lo,), γ))` has mismatched shapes
    /// (Python raises `RuntimeError`).
    case sliceShapeMismatch(lo: Int, hi: Int, rowLength: Int)
    /// The `released` profile needs a tokenizer (decode with pad strings, re-encode with offsets).
    case missingTokenizer
    /// Decoding or re-encoding the row failed (e.g. an id outside the vocabulary).
    case tokenizer(String)
    /// The `aligned` profile needs the row's categories (``Regions/RegionParser``).
    case missingCategories
    /// Buffers of the row disagree in length.
    case invalidRow(String)

    /// The Python exception type the released code raises for this error, if it is one of those.
    public var pythonExceptionName: String? {
        switch self {
        case .spanStartNotFound: return "StopIteration"
        case .sliceShapeMismatch: return "RuntimeError"
        default: return nil
        }
    }

    /// Short machine-readable code (used in rollout status on the wire).
    public var code: String {
        switch self {
        case .spanStartNotFound: return "span_start_not_found"
        case .sliceShapeMismatch: return "slice_shape_mismatch"
        case .missingTokenizer: return "missing_tokenizer"
        case .tokenizer: return "tokenizer_error"
        case .missingCategories: return "missing_categories"
        case .invalidRow: return "invalid_row"
        }
    }

    public var description: String {
        switch self {
        case .spanStartNotFound(let c):
            return "StopIteration: no re-tokenised token starts at or after char \(c)"
        case .sliceShapeMismatch(let lo, let hi, let t):
            return "RuntimeError: token span [\(lo), \(hi)) crosses the row end \(t) (shape mismatch)"
        case .missingTokenizer: return "the released profile needs a tokenizer"
        case .tokenizer(let m): return "tokenizer error: \(m)"
        case .missingCategories: return "the aligned profile needs token categories"
        case .invalidRow(let m): return "invalid row: \(m)"
        }
    }
}

/// Result of weighting one rollout.
public enum RowOutcome: Sendable, Equatable {
    case ok
    /// The profile could not weight the row; the weights are the mask.
    case fellBack(ShapingError)

    /// Whether the row was weighted by the profile.
    public var isOK: Bool { if case .ok = self { return true }; return false }
    /// The error that made the row fall back, if any.
    public var error: ShapingError? { if case .fellBack(let e) = self { return e }; return nil }
}
