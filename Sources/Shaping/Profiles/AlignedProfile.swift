import Foundation
import Regions

/// `aligned` (default): ResT's γ rules applied as the paper intends, on the true byte spans of the
/// sampled tokens. γ comes from each token's ``Regions/TokenCategory`` (``RolloutRow/categories``,
/// from ``Regions/RegionParser``): every call's name and arguments in every block, whole spans
/// (first and last token included), both tag spellings, nothing re-tokenised. Then the shared
/// ``RowNormalizer``. Optional per-token entropy modulation (``EntropyModulationConfig``).
public struct AlignedProfile: WeightProfile {
    /// The registry name.
    public static let name = "aligned"
    /// The schedule this profile applies.
    public let config: ShapingConfig
    private let normalizer: RowNormalizer
    private let modulationMask: UInt16

    /// A profile for `config`; throws ``ShapingError`` for a config it cannot apply.
    public init(config: ShapingConfig = ShapingConfig()) throws {
        try config.validate()
        self.config = config
        normalizer = RowNormalizer(config: config)
        modulationMask = config.tokenModulation?.categoryMask ?? 0
    }

    /// Writes the row's normalised weights into `w` (see the type's description).
    public func weights(row: RolloutRow, gammas: GammaTable, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        let n = row.mask.count
        guard let cats = row.categories else { return fallBack(.missingCategories, mask: row.mask, into: w) }
        guard cats.count >= n, w.count >= n else {
            return fallBack(.invalidRow("categories \(cats.count), mask \(n), weights \(w.count)"), mask: row.mask, into: w)
        }
        gammas.values.withUnsafeBufferPointer { g in
            for i in 0..<n {
                w[i] = row.mask[i] != 0 ? g[Int(cats[i] & 15)] : 0
            }
        }
        for i in n..<w.count { w[i] = 0 }
        if modulationMask != 0, let ent = row.entropies, ent.count >= n, let mod = config.tokenModulation {
            modulate(w, cats: cats, mask: row.mask, entropies: ent, mod)
        }
        normalizer.apply(w, mask: row.mask)
        return .ok
    }

    /// w_i ← w_i · clamp((H_i / H̄_c)^κ, min, max) for valid tokens of the modulated categories,
    /// H̄_c being the row's mean entropy over that category's valid tokens.
    private func modulate(_ w: UnsafeMutableBufferPointer<Float>, cats: UnsafeBufferPointer<UInt8>,
                          mask: UnsafeBufferPointer<Float>, entropies: UnsafeBufferPointer<Float>,
                          _ mod: EntropyModulationConfig) {
        let n = mask.count
        var sums = [Double](repeating: 0, count: 16), counts = [Int](repeating: 0, count: 16)
        for i in 0..<n where mask[i] != 0 {
            let c = Int(cats[i] & 15)
            if modulationMask & (1 << UInt16(c)) != 0, entropies[i].isFinite {
                sums[c] += Double(entropies[i]); counts[c] += 1
            }
        }
        for i in 0..<n where mask[i] != 0 && w[i] > 0 {
            let c = Int(cats[i] & 15)
            guard modulationMask & (1 << UInt16(c)) != 0, counts[c] > 0, entropies[i].isFinite else { continue }
            let mean = sums[c] / Double(counts[c])
            guard mean > 0 else { continue }
            let ratio = max(Double(entropies[i]), 0) / mean
            let m = min(max(pow(ratio, mod.exponent), mod.min), mod.max)
            w[i] = Float(Double(w[i]) * m)
        }
    }
}
