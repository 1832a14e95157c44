import Foundation

/// Which log keys each quantity is read from. For every quantity the first key (or, for per-region
/// quantities, key prefix) present anywhere in a run wins, so one run reads one source throughout;
/// the report names the key it used. Documented in docs/STUDY.md ("Log keys").
public enum MetricKeys {
    /// The training step (else the record's position, 1-based).
    public static let step = ["step", "global_step", "training/global_step", "trainer/global_step", "_step"]
    /// Mean rollout reward of the step.
    public static let reward = ["rewardMean", "critic/score/mean", "critic/rewards/mean", "rest/reward/mean",
                                "reward", "rest/sidecar/reward_mean"]
    /// Mean policy entropy over response tokens.
    public static let entropy = ["entropyMean", "actor/entropy", "entropy"]
    /// Trace of the covariance of the per-rollout policy gradients (`rest-shaper train --grad-stats`).
    public static let gradVariance = ["gradStats/variance", "rest/grad/variance", "grad_variance"]
    /// Policy-gradient norm.
    public static let gradNorm = ["gradStats/norm", "gradNorm", "actor/grad_norm", "grad_norm"]
    /// Per-region prefixes (the region name follows the prefix).
    public static let regionEntropy = ["entropyByRegion/", "rest/sidecar/entropy_means/", "rest/entropy/"]
    public static let regionWeight = ["weightByRegion/", "rest/sidecar/weight_means/", "rest/weight/"]
    public static let regionTokens = ["tokensByRegion/", "rest/sidecar/token_counts/", "rest/tokens/"]
    public static let regionGradVariance = ["gradStats/varianceByRegion/", "rest/grad/variance/"]
    public static let regionGradNorm = ["gradStats/normByRegion/", "rest/grad/norm/"]
    /// Wall time of the step, and the part of it the gradient statistics took.
    public static let stepSeconds = ["seconds"]
    public static let gradStatsSeconds = ["gradStats/seconds"]
}

/// The quantities of one run, aligned by record: `steps[i]` and every series' element `i` come
/// from the same log line (nil where the line lacks the quantity).
public struct RunSeries: Sendable {
    public var name: String
    /// Runs that differ only by seed share a group (see ``RunSeries/groupName(for:)``).
    public var group: String
    public var path: String
    public var steps: [Double]
    public var reward: [Double?]
    public var entropy: [Double?]
    public var gradVariance: [Double?]
    public var gradNorm: [Double?]
    public var stepSeconds: [Double?]
    public var gradStatsSeconds: [Double?]
    public var regionEntropy: [String: [Double?]]
    public var regionWeight: [String: [Double?]]
    public var regionGradVariance: [String: [Double?]]
    public var regionGradNorm: [String: [Double?]]
    /// Quantity → the key or prefix it was read from.
    public var sources: [String: String]

    /// Extracts the series of `log`. Lines with a string `phase` other than `grpo` (the fallback
    /// trainer's warm-up) are skipped, as are lines with none of the step's quantities (e.g. TRL's
    /// end-of-training summary).
    public init(_ log: RunLog, group: String? = nil) {
        name = log.name; path = log.path
        self.group = group ?? RunSeries.groupName(for: log.name)
        let recs = log.records.filter { ($0.strings["phase"] ?? "grpo") == "grpo" }
        var sources: [String: String] = [:]
        func firstKey(_ candidates: [String]) -> String? {
            candidates.first { k in recs.contains { $0.numbers[k] != nil } }
        }
        func firstPrefix(_ candidates: [String]) -> String? {
            candidates.first { p in recs.contains { $0.numbers.keys.contains { $0.hasPrefix(p) && $0.count > p.count } } }
        }
        let quantities: [(String, [String])] = [("reward", MetricKeys.reward), ("entropy", MetricKeys.entropy),
                                                ("gradVariance", MetricKeys.gradVariance), ("gradNorm", MetricKeys.gradNorm),
                                                ("stepSeconds", MetricKeys.stepSeconds), ("gradStatsSeconds", MetricKeys.gradStatsSeconds)]
        var chosen: [String: String] = [:]
        for (q, keys) in quantities { if let k = firstKey(keys) { chosen[q] = k; sources[q] = k } }
        // Keep lines that carry at least one analysed quantity.
        let regionPrefixes = MetricKeys.regionEntropy + MetricKeys.regionGradVariance
        let analysed = ["reward", "entropy", "gradVariance", "gradNorm"].compactMap { chosen[$0] }
        let kept = recs.filter { r in
            analysed.contains { r.numbers[$0] != nil } || r.numbers.keys.contains { k in regionPrefixes.contains { k.hasPrefix($0) } }
        }
        let stepKey = MetricKeys.step.first { k in kept.contains { $0.numbers[k] != nil } }
        if let stepKey { sources["step"] = stepKey }
        steps = kept.enumerated().map { i, r in stepKey.flatMap { r.numbers[$0] } ?? Double(i + 1) }
        func series(_ q: String) -> [Double?] { kept.map { r in chosen[q].flatMap { r.numbers[$0] } } }
        reward = series("reward"); entropy = series("entropy")
        gradVariance = series("gradVariance"); gradNorm = series("gradNorm")
        stepSeconds = series("stepSeconds"); gradStatsSeconds = series("gradStatsSeconds")
        func regions(_ q: String, _ prefixes: [String]) -> [String: [Double?]] {
            guard let p = firstPrefix(prefixes) else { return [:] }
            sources[q] = p + "*"
            var names = Set<String>()
            for r in kept { for k in r.numbers.keys where k.hasPrefix(p) && k.count > p.count { names.insert(String(k.dropFirst(p.count))) } }
            var out: [String: [Double?]] = [:]
            for n in names { out[n] = kept.map { $0.numbers[p + n] } }
            return out
        }
        let regionEnt = regions("regionEntropy", MetricKeys.regionEntropy)
        regionEntropy = regionEnt
        regionWeight = regions("regionWeight", MetricKeys.regionWeight)
        regionGradVariance = regions("regionGradVariance", MetricKeys.regionGradVariance)
        regionGradNorm = regions("regionGradNorm", MetricKeys.regionGradNorm)
        // Mean entropy from the regions, token-weighted, when the log has no overall entropy.
        if chosen["entropy"] == nil, !regionEnt.isEmpty, let tp = firstPrefix(MetricKeys.regionTokens) {
            entropy = kept.indices.map { i in
                var s = 0.0, n = 0.0
                for (region, e) in regionEnt {
                    if let v = e[i], let t = kept[i].numbers[tp + region], t > 0 { s += v * t; n += t }
                }
                return n > 0 ? s / n : nil
            }
            sources["entropy"] = "token-weighted mean of \(sources["regionEntropy"] ?? "")"
        }
        self.sources = sources
    }

    /// The group of a run name: the name without a trailing seed tag (`-seed3`, `_seed3`, `-s3`,
    /// `_s3`, `.seed3`), so `aligned-step-seed1` … `aligned-step-seed5` form one group.
    public static func groupName(for name: String) -> String {
        var chars = Array(name)
        var i = chars.count
        while i > 0, chars[i - 1].isNumber { i -= 1 }
        guard i < chars.count else { return name }
        for tag in ["seed", "s"] {
            let t = Array(tag)
            guard i >= t.count + 1, Array(chars[(i - t.count)..<i]) == t else { continue }
            let sep = chars[i - t.count - 1]
            if sep == "-" || sep == "_" || sep == "." {
                chars.removeSubrange((i - t.count - 1)...)
                return String(chars)
            }
        }
        return name
    }

    /// Region names with an entropy series.
    public var regions: [String] { regionEntropy.keys.sorted() }
}
