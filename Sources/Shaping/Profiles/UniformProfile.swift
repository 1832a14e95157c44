/// `uniform`: w = mask (plain GRPO token averaging); the baseline against which ResT is compared.
public struct UniformProfile: WeightProfile {
    /// The registry name.
    public static let name = "uniform"
    /// The schedule (unused: every valid token weighs 1).
    public let config: ShapingConfig

    /// A uniform profile.
    public init(config: ShapingConfig = ShapingConfig()) { self.config = config }

    /// Writes 1 on valid tokens and 0 elsewhere into `w`.
    public func weights(row: RolloutRow, gammas: GammaTable, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        let n = min(w.count, row.mask.count)
        for i in 0..<n { w[i] = row.mask[i] }
        for i in n..<w.count { w[i] = 0 }
        return .ok
    }
}
