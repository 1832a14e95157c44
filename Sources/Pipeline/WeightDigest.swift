/// What a trainer reports when it says it applied a batch's ResT weights (protocol op `applied`),
/// and what the sidecar and the fallback trainer compute from the weights they hand out.
///
/// Over the valid positions (mask ≠ 0) of a `[rows, length]` weight tensor, with `k` the ordinal
/// of a valid position inside its row (0, 1, 2, … left to right, padding skipped):
///
///     tokens     = number of valid positions
///     weightSum  = Σ w                (float64)
///     digest     = Σ w · (k + 1)      (float64)
///
/// The ordinal restarts in every row, so the digest is a sum of per-row parts: a trainer that
/// shuffles rows and splits them over micro-batches and data-parallel ranks adds the parts up in
/// any order. A loss that ignores the weights (w = 1 on valid tokens) or shifts them against the
/// tokens changes the digest; a permutation of whole rows does not (see PROTOCOL.md).
public struct WeightDigest: Sendable, Equatable, Codable {
    /// Rows the digest covers.
    public var rows: Int
    /// Valid positions (mask ≠ 0).
    public var tokens: Int
    /// Σ w over the valid positions.
    public var weightSum: Double
    /// Σ w · (k + 1), k the position's ordinal among its row's valid positions.
    public var digest: Double

    /// A digest from its four numbers (zero: the empty batch, the identity of addition).
    public init(rows: Int = 0, tokens: Int = 0, weightSum: Double = 0, digest: Double = 0) {
        self.rows = rows; self.tokens = tokens; self.weightSum = weightSum; self.digest = digest
    }

    /// The digest of `weights` under `mask` (both row-major `[rows, length]`).
    public init(weights: [Float], mask: [Float], rows: Int, length: Int) {
        self.init(rows: rows)
        guard rows > 0, length > 0, weights.count >= rows * length, mask.count >= rows * length else { return }
        for r in 0..<rows {
            var k = 0.0
            for i in r * length..<(r + 1) * length where mask[i] != 0 {
                k += 1
                let w = Double(weights[i])
                weightSum += w
                digest += w * k
                tokens += 1
            }
        }
    }

    /// Adds another batch's parts (rows, tokens and both sums add up).
    public mutating func add(_ o: WeightDigest) {
        rows += o.rows; tokens += o.tokens; weightSum += o.weightSum; digest += o.digest
    }

    /// `self` plus `o` (see ``add(_:)``).
    public func adding(_ o: WeightDigest) -> WeightDigest { var d = self; d.add(o); return d }

    /// Relative tolerance of ``matches(_:)``. Each product w·(k+1) of a float32 weight and an
    /// ordinal below 2^29 is exact in float64, so two honest computations from the same float32
    /// weights differ only by float64 summation order: at most n·2^-53 of the sum, under 1e-9 for
    /// n ≤ 8·2^20 tokens (the default `max_tokens`). 1e-8 leaves a margin while staying far below
    /// what ignoring the weights changes (see PROTOCOL.md §`applied`).
    public static let relativeTolerance = 1e-8

    /// Whether `reported` (from a trainer) describes the same weights as `self` (what was sent):
    /// rows and tokens equal, Σw and the digest within ``relativeTolerance``.
    public func matches(_ reported: WeightDigest) -> Bool { mismatch(reported) == nil }

    /// nil when `reported` matches, otherwise which quantity differs, with both values.
    public func mismatch(_ reported: WeightDigest) -> String? {
        if reported.rows != rows { return "rows \(reported.rows) != \(rows) sent" }
        if reported.tokens != tokens { return "tokens \(reported.tokens) != \(tokens) sent" }
        func close(_ a: Double, _ b: Double) -> Bool {
            a.isFinite && abs(a - b) <= Self.relativeTolerance * max(abs(a), abs(b), 1)
        }
        if !close(reported.weightSum, weightSum) { return "weight_sum \(reported.weightSum) != \(weightSum) sent" }
        if !close(reported.digest, digest) { return "digest \(reported.digest) != \(digest) sent" }
        return nil
    }
}
