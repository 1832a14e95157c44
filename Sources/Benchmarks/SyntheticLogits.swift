import Entropy
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seeded LM-like logits rows for benchmarks and tests (same recipe as
/// `examples/python/bench_entropy.py`, though not the same random stream).
///
/// Each row: a Gaussian bulk N(0, σ²) with σ ~ U(1.5, 3) over the whole vocabulary, then a head of
/// 16 tokens: the top token at g above the bulk mean and 15 more at g − Exp(mean 3), where the gap
/// g is drawn per row from the profile's range. The gap sets how peaked the row is: g ≈ 10 gives
/// entropies of several nats, g ≈ 40 near-deterministic tokens (JSON syntax, tool names).
public enum SyntheticLogits {
    /// The range of the per-row gap g between the top logit and the bulk mean.
    public enum Profile: String, Sendable, CaseIterable {
        /// g ~ U(10, 45): a mix of uncertain and near-deterministic tokens, as in tool-use rollouts.
        case lm
        /// g ~ U(40, 50): near-deterministic tokens only.
        case peaked
        /// g ~ U(5, 15): uncertain tokens only.
        case broad

        var gapRange: (Double, Double) {
            switch self {
            case .lm: return (10, 45)
            case .peaked: return (40, 50)
            case .broad: return (5, 15)
            }
        }
    }

    /// `rows × vocab` float32 logits, row-major.
    public static func generate(rows: Int, vocab: Int, profile: Profile = .lm, seed: UInt64 = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var out = [Float](repeating: 0, count: rows * vocab)
        let (g0, g1) = profile.gapRange
        out.withUnsafeMutableBufferPointer { buf in
            for r in 0..<rows {
                let sigma = 1.5 + 1.5 * rng.uniform()
                let base = r * vocab
                var i = 0
                while i < vocab {  // Box–Muller, two values per draw
                    let u1 = max(rng.uniform(), 1e-300), u2 = rng.uniform()
                    let rad = (-2 * log(u1)).squareRoot() * sigma
                    buf[base + i] = Float(rad * cos(2 * Double.pi * u2))
                    if i + 1 < vocab { buf[base + i + 1] = Float(rad * sin(2 * Double.pi * u2)) }
                    i += 2
                }
                let gap = g0 + (g1 - g0) * rng.uniform()
                for h in 0..<min(16, vocab) {
                    let idx = Int(rng.next() % UInt64(vocab))
                    buf[base + idx] = Float(h == 0 ? gap : gap + 3 * log(max(rng.uniform(), 1e-300)))
                }
            }
        }
        return out
    }
}
