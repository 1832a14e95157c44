import Foundation
import Regions

/// Everything a weight profile needs besides the row: γ schedule per category, clamp range,
/// normalisation, the entropy curriculum and optional per-token entropy modulation.
///
/// JSON format (every key optional; absent keys keep the released defaults):
/// ```json
/// {
///   "profile": "aligned",
///   "gammas": {
///     "tags": 1.0,
///     "think": {"kind": "linear", "start": 0.6, "slope": 0.002, "max": 1.0},
///     "tool_name": 1.2,
///     "tool_args": {"kind": "linear", "start": 0.6, "slope": 0.002, "max": 1.2},
///     "response": 0
///   },
///   "clamp": {"min": 0.001, "max": 8.0},
///   "normalization": "mean",
///   "eps": 1e-8,
///   "entropy_schedule": {"full_drop": 0.5, "smoothing": 1.0, "monotone": true},
///   "token_modulation": {"exponent": 0.5, "min": 0.5, "max": 2.0, "categories": ["think"]},
///   "think_open_in_prompt": false
/// }
/// ```
/// `gammas` keys are category names (``Regions/TokenCategory/name``: think_tag, think, tool_call_tag,
/// tool_name, tool_args, tool_json, response_tag, response, outside, special) plus `tags` (all three
/// tag categories). Values are ``GammaSchedule``s. Categories without a schedule get γ = 0.
/// `normalization`: `mean` (positive weights on valid tokens, clamped, divided by max(mean, eps)) or
/// `none` (clamped only).
public struct ShapingConfig: Sendable, Equatable, Codable {
    /// How each row's weights are normalised.
    public enum Normalization: String, Sendable, Equatable, Codable { case mean, none }

    /// Default profile name for this config (the sidecar/CLI may override it).
    public var profile: String
    /// γ schedule per category, indexed by ``Regions/TokenCategory/rawValue``; nil = 0.
    public private(set) var gammas: [GammaSchedule?]
    /// Lower clamp of every weight after normalisation.
    public var clampMin: Double
    /// Upper clamp of every weight after normalisation.
    public var clampMax: Double
    /// How each row's weights are normalised.
    public var normalization: Normalization
    /// Added to the row mean before dividing (no division by zero).
    public var eps: Double
    /// The entropy curriculum that may drive the γ schedules' progress.
    public var entropySchedule: EntropyCurriculumConfig
    /// Optional per-token entropy modulation of the weights (nil: off).
    public var tokenModulation: EntropyModulationConfig?
    /// How the region parser reads rows (e.g. `<think>` opened in the prompt).
    public var regionOptions: RegionOptions

    /// The released ResT defaults: tags 1.0, name 1.2, think min(0.6 + 0.002·s, 1.0),
    /// args min(0.6 + 0.002·s, 1.2), everything else 0; clamp [0.001, 8]; mean normalisation.
    public static let released = ShapingConfig()

    /// The released ResT schedule with `profile` as the default profile name.
    public init(profile: String = "aligned") {
        self.profile = profile
        var g = [GammaSchedule?](repeating: nil, count: TokenCategory.allCases.count)
        g[Int(TokenCategory.thinkTag.rawValue)] = .constant(1.0)
        g[Int(TokenCategory.toolCallTag.rawValue)] = .constant(1.0)
        g[Int(TokenCategory.responseTag.rawValue)] = .constant(1.0)
        g[Int(TokenCategory.thinkContent.rawValue)] = .linear(start: 0.6, slope: 0.002, min: -.infinity, max: 1.0)
        g[Int(TokenCategory.toolName.rawValue)] = .constant(1.2)
        g[Int(TokenCategory.toolArgs.rawValue)] = .linear(start: 0.6, slope: 0.002, min: -.infinity, max: 1.2)
        gammas = g
        clampMin = 0.001
        clampMax = 8.0
        normalization = .mean
        eps = 1e-8
        entropySchedule = EntropyCurriculumConfig()
        tokenModulation = nil
        regionOptions = RegionOptions()
    }

    /// The schedule of one category.
    public func schedule(_ c: TokenCategory) -> GammaSchedule? { gammas[Int(c.rawValue)] }

    /// Sets the schedule of one category.
    public mutating func setSchedule(_ s: GammaSchedule?, for c: TokenCategory) { gammas[Int(c.rawValue)] = s }

    /// True when any γ reads the entropy curriculum.
    public var usesEntropySchedule: Bool { gammas.contains { $0?.usesEntropy ?? false } }

    /// Resolves every category's γ once for a batch.
    public func gammaTable(step: Int, entropyProgress: Double = 0) -> GammaTable {
        var t = GammaTable()
        for c in TokenCategory.allCases {
            if let s = gammas[Int(c.rawValue)] {
                t[c] = Float(s.value(step: step, entropyProgress: entropyProgress))
            }
        }
        return t
    }

    /// Checks ranges; throws ``ShapingConfigError``.
    public func validate() throws {
        guard clampMin > 0, clampMax >= clampMin, clampMax.isFinite else {
            throw ShapingConfigError.invalidClamp(min: clampMin, max: clampMax)
        }
        for c in TokenCategory.allCases {
            guard let s = gammas[Int(c.rawValue)] else { continue }
            for step in [0, 100, 1000, 100_000] {
                for p in [0.0, 1.0] where s.value(step: step, entropyProgress: p) < 0 {
                    throw ShapingConfigError.negativeGamma(category: c.name, value: s.value(step: step, entropyProgress: p))
                }
            }
        }
    }

    // MARK: JSON

    /// Reads a config from JSON text (see the type's documentation for the format).
    public static func fromJSON(_ text: String) throws -> ShapingConfig {
        try fromJSON(Data(text.utf8))
    }

    /// Reads a config from JSON data.
    public static func fromJSON(_ data: Data) throws -> ShapingConfig {
        do {
            let c = try JSONDecoder().decode(ShapingConfig.self, from: data)
            try c.validate()
            return c
        } catch let e as ShapingConfigError {
            throw e
        } catch let DecodingError.dataCorrupted(ctx) {
            throw ShapingConfigError.invalidJSON(ctx.debugDescription)
        } catch let DecodingError.keyNotFound(k, ctx) {
            throw ShapingConfigError.invalidJSON("missing '\(k.stringValue)' at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw ShapingConfigError.invalidJSON("wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw ShapingConfigError.invalidJSON("\(error)")
        }
    }

    /// The config as JSON text (round-trips through ``fromJSON(_:)-(String)``).
    public func toJSON() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }

    private enum Keys: String, CodingKey {
        case profile, gammas, clamp, normalization, eps
        case entropySchedule = "entropy_schedule", tokenModulation = "token_modulation"
        case thinkOpenInPrompt = "think_open_in_prompt"
    }
    private struct ClampJSON: Codable { var min: Double?; var max: Double? }
    private struct AnyKey: CodingKey {
        var stringValue: String; var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: Keys.self)
        profile = try c.decodeIfPresent(String.self, forKey: .profile) ?? profile
        if c.contains(.gammas) {
            let g = try c.nestedContainer(keyedBy: AnyKey.self, forKey: .gammas)
            // "tags" first so that a specific tag key can override it.
            let keys = g.allKeys.sorted { ($0.stringValue == "tags" ? 0 : 1) < ($1.stringValue == "tags" ? 0 : 1) }
            for k in keys {
                let s = try g.decodeNil(forKey: k) ? nil : try g.decode(GammaSchedule.self, forKey: k)
                if k.stringValue == "tags" {
                    for t in [TokenCategory.thinkTag, .toolCallTag, .responseTag] { setSchedule(s, for: t) }
                } else if let cat = TokenCategory(regionName: k.stringValue) {
                    setSchedule(s, for: cat)
                } else {
                    throw ShapingConfigError.unknownCategory(k.stringValue)
                }
            }
        }
        if let cl = try c.decodeIfPresent(ClampJSON.self, forKey: .clamp) {
            clampMin = cl.min ?? clampMin
            clampMax = cl.max ?? clampMax
        }
        if let n = try c.decodeIfPresent(String.self, forKey: .normalization) {
            guard let v = Normalization(rawValue: n) else { throw ShapingConfigError.unknownNormalization(n) }
            normalization = v
        }
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? eps
        entropySchedule = try c.decodeIfPresent(EntropyCurriculumConfig.self, forKey: .entropySchedule) ?? entropySchedule
        tokenModulation = try c.decodeIfPresent(EntropyModulationConfig.self, forKey: .tokenModulation)
        regionOptions.thinkOpenInPrompt = try c.decodeIfPresent(Bool.self, forKey: .thinkOpenInPrompt) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(profile, forKey: .profile)
        var g = c.nestedContainer(keyedBy: AnyKey.self, forKey: .gammas)
        for cat in TokenCategory.regions {
            // null (not absent) for γ = 0, so that decoding does not bring the default back.
            if let s = schedule(cat) { try g.encode(s, forKey: AnyKey(stringValue: cat.name)) }
            else { try g.encodeNil(forKey: AnyKey(stringValue: cat.name)) }
        }
        try c.encode(ClampJSON(min: clampMin, max: clampMax), forKey: .clamp)
        try c.encode(normalization.rawValue, forKey: .normalization)
        try c.encode(eps, forKey: .eps)
        try c.encode(entropySchedule, forKey: .entropySchedule)
        try c.encodeIfPresent(tokenModulation, forKey: .tokenModulation)
        try c.encode(regionOptions.thinkOpenInPrompt, forKey: .thinkOpenInPrompt)
    }
}

/// γ of every category for one batch, resolved from a ``ShapingConfig``.
public struct GammaTable: Sendable, Equatable {
    /// Indexed by ``Regions/TokenCategory/rawValue``; 16 entries so any UInt8 & 15 is in range.
    public var values: [Float]

    /// Every γ zero.
    public init() { values = [Float](repeating: 0, count: 16) }

    /// γ of category `c`.
    public subscript(_ c: TokenCategory) -> Float {
        get { values[Int(c.rawValue)] }
        set { values[Int(c.rawValue)] = newValue }
    }
}
