import Regions

/// Per-region statistics of a shaped batch (valid tokens only): token counts, mean weight, mean
/// entropy. These feed the sidecar reply, the metrics endpoint and replay reports.
public enum BatchStatistics {
    public static func compute(categories: [UInt8], weights: [Float], mask: [Float],
                               entropies: [Float]?, rewards: [Float]) -> BatchMetrics {
        let k = TokenCategory.allCases.count
        var count = [Int](repeating: 0, count: k)
        var wsum = [Double](repeating: 0, count: k)
        var esum = [Double](repeating: 0, count: k)
        for i in 0..<categories.count where mask[i] != 0 {
            let c = Int(categories[i])
            guard c < k else { continue }
            count[c] += 1
            wsum[c] += Double(weights[i])
            if let e = entropies { esum[c] += Double(e[i]) }
        }
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
