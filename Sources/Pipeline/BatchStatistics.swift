import Regions

/// Per-region statistics of a shaped batch (valid tokens only): token counts, mean weight, mean
/// entropy. These feed the sidecar reply, the metrics endpoint and replay reports.
public enum BatchStatistics {
    /// Statistics of one shaped batch, all tensors row-major `[batch, length]` (`entropies` nil: no entropy means).
    public static func compute(categories: [UInt8], weights: [Float], mask: [Float],
                               entropies: [Float]?, rewards: [Float]) -> BatchMetrics {
        let k = TokenCategory.allCases.count
        var count = [Int](repeating: 0, count: 16)
        var wsum = [Double](repeating: 0, count: 16)
        var esum = [Double](repeating: 0, count: 16)
        let n = min(categories.count, weights.count, mask.count)
        // One pass over unsafe buffers (no bounds checks, no optional per token): 1 M tokens a batch.
        categories.withUnsafeBufferPointer { cat in
        weights.withUnsafeBufferPointer { w in
        mask.withUnsafeBufferPointer { msk in
        count.withUnsafeMutableBufferPointer { cnt in
        wsum.withUnsafeMutableBufferPointer { ws in
            for i in 0..<n where msk[i] != 0 {
                let c = Int(cat[i] & 15)
                cnt[c] += 1
                ws[c] += Double(w[i])
            }
            guard let entropies, entropies.count >= n else { return }
            esum.withUnsafeMutableBufferPointer { es in
                entropies.withUnsafeBufferPointer { e in
                    for i in 0..<n where msk[i] != 0 { es[Int(cat[i] & 15)] += Double(e[i]) }
                }
            }
        }}}}}
        for c in k..<16 { count[c] = 0 }  // raw values outside the categories are not regions
        var m = BatchMetrics()
        for cat in TokenCategory.regions {
            let c = Int(cat.rawValue)
            m.tokenCounts[cat.name] = count[c]
            guard count[c] > 0 else { continue }
            m.weightMeans[cat.name] = wsum[c] / Double(count[c])
            if entropies != nil { m.entropyMeans[cat.name] = esum[c] / Double(count[c]) }
        }
        m.rewardMean = rewards.isEmpty ? 0 : rewards.reduce(0.0) { $0 + Double($1) } / Double(rewards.count)
        return m
    }
}
