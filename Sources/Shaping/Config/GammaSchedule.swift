import Foundation

/// How one category's γ depends on the training step (or on the entropy curriculum's progress).
///
/// JSON forms (see ``ShapingConfig``):
/// - a bare number, or `{"kind": "constant", "value": 1.2}`;
/// - `{"kind": "linear", "start": 0.6, "slope": 0.002, "min": 0, "max": 1.0}` → clamp(start + slope·step, min, max);
/// - `{"kind": "cosine", "start": 0.6, "end": 1.0, "steps": 200}` →
///   start + (end − start)·(1 − cos(π·min(step, steps)/steps))/2;
/// - `{"kind": "entropy", "start": 0.6, "end": 1.0}` → start + (end − start)·p, where p ∈ [0, 1] is the
///   entropy curriculum's progress (``EntropyScheduleState``); p = 0 before any entropy is observed.
///
/// γ is evaluated in double precision and rounded to float32 once, as the released code does
/// (`torch.full((n,), 0.6 + 0.002 * step)`).
public enum GammaSchedule: Sendable, Equatable, Codable {
    case constant(Double)
    case linear(start: Double, slope: Double, min: Double, max: Double)
    case cosine(start: Double, end: Double, steps: Int)
    case entropy(start: Double, end: Double)

    /// γ at `step`, given the entropy curriculum's progress `entropyProgress` (0 when unknown).
    public func value(step: Int, entropyProgress: Double = 0) -> Double {
        switch self {
        case .constant(let v):
            return v
        case .linear(let start, let slope, let lo, let hi):
            return Swift.min(Swift.max(start + slope * Double(step), lo), hi)
        case .cosine(let start, let end, let steps):
            guard steps > 0 else { return end }
            let t = Double(Swift.min(Swift.max(step, 0), steps)) / Double(steps)
            return start + (end - start) * (1 - cos(Double.pi * t)) / 2
        case .entropy(let start, let end):
            let p = Swift.min(Swift.max(entropyProgress, 0), 1)
            return start + (end - start) * p
        }
    }

    /// True when the schedule reads the entropy curriculum.
    public var usesEntropy: Bool { if case .entropy = self { return true }; return false }

    private enum Keys: String, CodingKey { case kind, value, start, slope, min, max, end, steps }

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let v = try? single.decode(Double.self) {
            self = .constant(v)
            return
        }
        let c = try decoder.container(keyedBy: Keys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "constant":
            self = .constant(try c.decode(Double.self, forKey: .value))
        case "linear":
            self = .linear(start: try c.decode(Double.self, forKey: .start),
                           slope: try c.decode(Double.self, forKey: .slope),
                           min: try c.decodeIfPresent(Double.self, forKey: .min) ?? -Double.infinity,
                           max: try c.decodeIfPresent(Double.self, forKey: .max) ?? Double.infinity)
        case "cosine":
            self = .cosine(start: try c.decode(Double.self, forKey: .start), end: try c.decode(Double.self, forKey: .end),
                           steps: try c.decode(Int.self, forKey: .steps))
        case "entropy":
            self = .entropy(start: try c.decode(Double.self, forKey: .start), end: try c.decode(Double.self, forKey: .end))
        default:
            throw ShapingConfigError.unknownScheduleKind(kind)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .constant(let v):
            try c.encode("constant", forKey: .kind); try c.encode(v, forKey: .value)
        case .linear(let s, let k, let lo, let hi):
            try c.encode("linear", forKey: .kind); try c.encode(s, forKey: .start); try c.encode(k, forKey: .slope)
            if lo.isFinite { try c.encode(lo, forKey: .min) }
            if hi.isFinite { try c.encode(hi, forKey: .max) }
        case .cosine(let s, let e, let n):
            try c.encode("cosine", forKey: .kind); try c.encode(s, forKey: .start); try c.encode(e, forKey: .end)
            try c.encode(n, forKey: .steps)
        case .entropy(let s, let e):
            try c.encode("entropy", forKey: .kind); try c.encode(s, forKey: .start); try c.encode(e, forKey: .end)
        }
    }
}

/// Errors reading a shaping configuration.
public enum ShapingConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownScheduleKind(String)
    case unknownCategory(String)
    case unknownNormalization(String)
    case invalidClamp(min: Double, max: Double)
    case negativeGamma(category: String, value: Double)
    case invalidJSON(String)
    case unknownProfile(String)

    public var description: String {
        switch self {
        case .unknownScheduleKind(let k): return "unknown schedule kind '\(k)' (constant, linear, cosine, entropy)"
        case .unknownCategory(let c): return "unknown category '\(c)'"
        case .unknownNormalization(let n): return "unknown normalization '\(n)' (mean, none)"
        case .invalidClamp(let lo, let hi): return "invalid clamp range [\(lo), \(hi)] (need 0 < min ≤ max)"
        case .negativeGamma(let c, let v): return "γ for \(c) is negative (\(v))"
        case .invalidJSON(let m): return "invalid shaping config: \(m)"
        case .unknownProfile(let p): return "unknown weight profile '\(p)'"
        }
    }
}
