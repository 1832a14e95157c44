import Entropy
import Foundation

/// The statistics `analyze` reports: correlations with block-bootstrap intervals, and summaries
/// of a reward curve.
public enum Statistics {
    public static func mean(_ x: [Double]) -> Double? { x.isEmpty ? nil : x.reduce(0, +) / Double(x.count) }

    /// Sample standard deviation (n − 1); nil below two values.
    public static func sampleSD(_ x: [Double]) -> Double? {
        guard x.count > 1, let m = mean(x) else { return nil }
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
    }

    /// Pearson's r; nil below three pairs or when either side is constant.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        let n = min(x.count, y.count)
        guard n >= 3 else { return nil }
        let mx = x.prefix(n).reduce(0, +) / Double(n), my = y.prefix(n).reduce(0, +) / Double(n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in 0..<n {
            let dx = x[i] - mx, dy = y[i] - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return nil }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// Ranks 1…n, ties sharing their average rank.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, x[order[j + 1]] == x[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = avg }
            i = j + 1
        }
        return r
    }

    /// Spearman's ρ: Pearson's r of the ranks.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? { pearson(ranks(x), ranks(y)) }

    /// A 95 % percentile interval of `statistic` over `resamples` moving-block bootstrap samples.
    ///
    /// Steps of a training run are autocorrelated, so resampling single steps would understate the
    /// uncertainty; each resample instead rebuilds every segment (one run's (x, y) pairs, in step
    /// order) from blocks of `blockLength` consecutive pairs (default ⌈n^(1/3)⌉ per segment) drawn
    /// with replacement, and concatenates the segments. Seeded, so reports are reproducible.
    public static func blockBootstrap(segments: [[(Double, Double)]], resamples: Int = 2000, blockLength: Int? = nil,
                                      seed: UInt64 = 17, statistic: ([Double], [Double]) -> Double?) -> ClosedRange<Double>? {
        let total = segments.reduce(0) { $0 + $1.count }
        guard total >= 3, resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var xs: [Double] = [], ys: [Double] = []
            xs.reserveCapacity(total); ys.reserveCapacity(total)
            for seg in segments where !seg.isEmpty {
                let n = seg.count
                let len = min(n, max(1, blockLength ?? Int(pow(Double(n), 1.0 / 3).rounded(.up))))
                var filled = 0
                while filled < n {
                    let start = Int(rng.next() % UInt64(n - len + 1))
                    for k in 0..<min(len, n - filled) { xs.append(seg[start + k].0); ys.append(seg[start + k].1) }
                    filled += len
                }
            }
            if let v = statistic(xs, ys), v.isFinite { values.append(v) }
        }
        guard values.count >= max(10, resamples / 2) else { return nil }
        values.sort()
        return quantile(values, 0.025)...quantile(values, 0.975)
    }

    /// Linear-interpolated quantile of sorted values.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? .nan }
        let pos = q * Double(sorted.count - 1), lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }

    /// Trailing moving average over the last `window` present values (nil entries are skipped).
    public static func movingAverage(_ x: [Double?], window: Int) -> [Double?] {
        var out: [Double?] = [], recent: [Double] = []
        for v in x {
            if let v { recent.append(v); if recent.count > window { recent.removeFirst() } }
            out.append(v == nil || recent.isEmpty ? nil : recent.reduce(0, +) / Double(recent.count))
        }
        return out
    }

    /// Half the mean squared step-to-step change, Σ(r_t − r_{t−1})² / (2(n − 1)): the noise
    /// variance of a curve, unaffected by a slow trend (von Neumann's estimator). nil below 2 points.
    public static func stepToStepVariance(_ x: [Double]) -> Double? {
        guard x.count > 1 else { return nil }
        var s = 0.0
        for i in 1..<x.count { s += (x[i] - x[i - 1]) * (x[i] - x[i - 1]) }
        return s / (2 * Double(x.count - 1))
    }

    /// x_t − x_{t−1}.
    public static func differences(_ x: [Double]) -> [Double] { x.count > 1 ? (1..<x.count).map { x[$0] - x[$0 - 1] } : [] }
}
