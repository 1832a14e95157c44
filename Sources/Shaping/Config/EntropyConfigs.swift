import Regions

/// Parameters of the entropy curriculum (schedule kind `entropy`), JSON keys in snake_case.
///
/// Each batch the caller observes the batch's mean entropy over valid think-content tokens, H_t.
/// The first observed value is the reference H_0. With smoothing α ∈ (0, 1]:
/// `H̃_t = α·H_t + (1 − α)·H̃_{t−1}` (H̃_0 = H_0), `r_t = H̃_t / H_0`,
/// `p_t = clamp((1 − r_t) / full_drop, 0, 1)` (and `p_t = max(p_t, p_{t−1})` when `monotone`).
/// A γ with schedule `entropy(start, end)` is `start + (end − start)·p_t`.
public struct EntropyCurriculumConfig: Sendable, Equatable, Codable {
    /// Relative drop of think entropy at which the schedule reaches its end value (0.5 = halved).
    public var fullDrop: Double
    /// Weight α of the new observation in the running mean (1 = no smoothing).
    public var smoothing: Double
    /// Progress never goes back when entropy rises again.
    public var monotone: Bool
    /// The region whose entropy drives the curriculum (default think content).
    public var region: String

    /// A curriculum configuration; see the properties for each argument.
    public init(fullDrop: Double = 0.5, smoothing: Double = 1.0, monotone: Bool = true, region: String = "think") {
        self.fullDrop = fullDrop; self.smoothing = smoothing; self.monotone = monotone; self.region = region
    }

    private enum Keys: String, CodingKey { case fullDrop = "full_drop", smoothing, monotone, region }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: Keys.self)
        fullDrop = try c.decodeIfPresent(Double.self, forKey: .fullDrop) ?? fullDrop
        smoothing = try c.decodeIfPresent(Double.self, forKey: .smoothing) ?? smoothing
        monotone = try c.decodeIfPresent(Bool.self, forKey: .monotone) ?? monotone
        region = try c.decodeIfPresent(String.self, forKey: .region) ?? region
        guard fullDrop > 0, smoothing > 0, smoothing <= 1 else {
            throw ShapingConfigError.invalidJSON("entropy_schedule needs full_drop > 0 and 0 < smoothing ≤ 1")
        }
        guard TokenCategory(regionName: region) != nil else { throw ShapingConfigError.unknownCategory(region) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(fullDrop, forKey: .fullDrop); try c.encode(smoothing, forKey: .smoothing)
        try c.encode(monotone, forKey: .monotone); try c.encode(region, forKey: .region)
    }
}

/// Optional per-token modulation of γ by the token's own entropy (``AlignedProfile`` only):
/// for a valid token i of a listed category c with entropy H_i, and the row's mean entropy H̄_c over
/// that category's valid tokens, `w_i = γ_c · clamp((H_i / H̄_c)^exponent, min, max)` before clamping
/// and normalisation (factor 1 when H̄_c ≤ 0). exponent > 0 favours uncertain (forking) tokens,
/// exponent < 0 favours confident ones.
public struct EntropyModulationConfig: Sendable, Equatable, Codable {
    /// Exponent applied to the entropy ratio.
    public var exponent: Double
    /// Lower bound of the modulation factor.
    public var min: Double
    /// Upper bound of the modulation factor.
    public var max: Double
    /// Category names (``Regions/TokenCategory/name``) that are modulated.
    public var categories: [String]

    /// A modulation configuration; see the properties for each argument.
    public init(exponent: Double, min: Double = 0.5, max: Double = 2.0, categories: [String] = ["think"]) {
        self.exponent = exponent; self.min = min; self.max = max; self.categories = categories
    }

    private enum Keys: String, CodingKey { case exponent, min, max, categories }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        exponent = try c.decode(Double.self, forKey: .exponent)
        min = try c.decodeIfPresent(Double.self, forKey: .min) ?? 0.5
        max = try c.decodeIfPresent(Double.self, forKey: .max) ?? 2.0
        categories = try c.decodeIfPresent([String].self, forKey: .categories) ?? ["think"]
        for n in categories where TokenCategory(regionName: n) == nil { throw ShapingConfigError.unknownCategory(n) }
        guard min > 0, max >= min else { throw ShapingConfigError.invalidJSON("token_modulation needs 0 < min ≤ max") }
    }

    /// Bit set of the modulated categories.
    public var categoryMask: UInt16 {
        categories.reduce(0) { m, n in TokenCategory(regionName: n).map { m | (1 << UInt16($0.rawValue)) } ?? m }
    }
}
