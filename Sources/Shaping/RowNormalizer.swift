/// The per-row normalisation shared by the weighting profiles (from the released code):
/// positive weights on valid tokens are clamped to [min, max] and divided by max(mean, eps)
/// (``ShapingConfig/Normalization/mean``), then every weight is multiplied by (mask ≠ 0).
/// A row with no positive weight stays all zero. The mean uses ``TorchCascadeSum`` order.
public struct RowNormalizer: Sendable {
    /// Lower clamp of every weight.
    public let clampMin: Float
    /// Upper clamp of every weight.
    public let clampMax: Float
    /// Added to the row mean before dividing.
    public let eps: Float
    /// Mean normalisation or none.
    public let normalization: ShapingConfig.Normalization

    /// A normaliser with `config`'s clamp, eps and normalisation.
    public init(config: ShapingConfig) {
        clampMin = Float(config.clampMin); clampMax = Float(config.clampMax)
        eps = Float(config.eps); normalization = config.normalization
    }

    /// Normalises `w` in place against `mask` (same length).
    public func apply(_ w: UnsafeMutableBufferPointer<Float>, mask: UnsafeBufferPointer<Float>) {
        let n = min(w.count, mask.count)
        var count = 0
        for i in 0..<n {
            if w[i] > 0 && mask[i] != 0 {
                w[i] = min(max(w[i], clampMin), clampMax)
                count += 1
            } else if mask[i] == 0 {
                w[i] = 0  // invalid positions end at zero
            }
        }
        for i in n..<w.count { w[i] = 0 }
        guard count > 0, normalization == .mean else { return }
        var den: Float = 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { buf in
            var c = 0
            for i in 0..<n where w[i] > 0 && mask[i] != 0 {
                buf[c] = w[i]; c += 1
            }
            den = TorchCascadeSum.sum(UnsafeBufferPointer(buf)) / Float(count)
        }
        den = max(den, eps)
        for i in 0..<n where w[i] > 0 && mask[i] != 0 { w[i] = w[i] / den }
    }
}
