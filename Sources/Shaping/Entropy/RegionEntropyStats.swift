import Regions

/// Mean entropy (and token count) of each region, over valid tokens; per rollout or, merged, per
/// batch. Sums are kept in double so merging rows in any order gives the same means to ~1e-15.
public struct RegionEntropyStats: Sendable, Equatable, Codable {
    /// Σ entropy per ``Regions/TokenCategory`` (indexed by raw value).
    public var sums: [Double]
    /// Valid tokens with a finite entropy per category.
    public var counts: [Int]

    /// Empty statistics.
    public init() {
        sums = [Double](repeating: 0, count: TokenCategory.allCases.count)
        counts = [Int](repeating: 0, count: TokenCategory.allCases.count)
    }

    /// Stats of one row: tokens with mask ≠ 0 and a finite entropy.
    public init(categories: UnsafeBufferPointer<UInt8>, mask: UnsafeBufferPointer<Float>, entropies: UnsafeBufferPointer<Float>) {
        self.init()
        add(categories: categories, mask: mask, entropies: entropies)
    }

    /// Adds one row.
    public mutating func add(categories: UnsafeBufferPointer<UInt8>, mask: UnsafeBufferPointer<Float>, entropies: UnsafeBufferPointer<Float>) {
        let n = min(categories.count, mask.count, entropies.count)
        let k = min(sums.count, counts.count)
        for i in 0..<n where mask[i] != 0 && entropies[i].isFinite {
            let c = Int(categories[i])
            guard c < k else { continue }
            sums[c] += Double(entropies[i])
            counts[c] += 1
        }
    }

    /// Adds another row's or batch's stats.
    public mutating func merge(_ other: RegionEntropyStats) {
        for c in 0..<min(sums.count, other.sums.count, counts.count, other.counts.count) {
            sums[c] += other.sums[c]; counts[c] += other.counts[c]
        }
    }

    /// Mean entropy of one category, nil without tokens.
    public func mean(_ c: TokenCategory) -> Double? {
        let i = Int(c.rawValue)
        guard i < counts.count, i < sums.count, counts[i] > 0 else { return nil }
        return sums[i] / Double(counts[i])
    }

    /// Mean over the three tag categories together.
    public var tagsMean: Double? {
        let cats = [TokenCategory.thinkTag, .toolCallTag, .responseTag].map { Int($0.rawValue) }
            .filter { $0 < counts.count && $0 < sums.count }
        let n = cats.reduce(0) { $0 + counts[$1] }
        return n > 0 ? cats.reduce(0) { $0 + sums[$1] } / Double(n) : nil
    }

    /// Region name → mean entropy, for the reported regions (think, tool_name, tool_args, tags,
    /// response, outside, plus every other non-empty category by its own name).
    public var means: [String: Double] {
        var m: [String: Double] = [:]
        for c in TokenCategory.regions { if let v = mean(c) { m[c.name] = v } }
        if let t = tagsMean { m["tags"] = t }
        return m
    }
}
