/// `uniform`: w = mask (plain GRPO token averaging); the baseline against which ResT is compared.
public struct UniformProfile: WeightProfile {
    public static let name = "uniform"
    public let config: ShapingConfig

    public init(config: ShapingConfig = ShapingConfig()) { self.config = config }

    public func weights(row: RolloutRow, gammas: GammaTable, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        let n = min(w.count, row.mask.count)
        for i in 0..<n { w[i] = row.mask[i] }
        for i in n..<w.count { w[i] = 0 }
        return .ok
    }
}
