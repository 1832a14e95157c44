/// The four values the reference `compute_score` returns.
public struct RewardComponents: Sendable, Equatable {
    /// The total the trainer uses (variant-specific sum of the components).
    public var score: Double
    /// Format component.
    public var format: Double
    /// Tool-call correctness component.
    public var correctness: Double
    /// Length component (0 unless `withLength`).
    public var length: Double

    /// Components from their four values.
    public init(score: Double, format: Double, correctness: Double, length: Double) {
        self.score = score
        self.format = format
        self.correctness = correctness
        self.length = length
    }
}

/// A reward variant: scores one rollout's text against its ground truth at a training step.
public protocol RewardFunction: Sendable {
    /// Registry name (`rest`, `toolrl`).
    static var name: String { get }
    /// The options in force.
    var options: RewardOptions { get }
    init(options: RewardOptions)
    /// `compute_score(solution, groundTruth, step)` on the solution's UTF-8 bytes (what the
    /// engine has after decoding a row once). Throws where the reference raises.
    func score(solutionUTF8: ArraySlice<UInt8>, groundTruth: String, step: Int) throws(RewardError) -> RewardComponents
}

extension RewardFunction {
    /// `compute_score(solution, groundTruth, step)`. Throws where the reference raises.
    public func score(solution: String, groundTruth: String, step: Int) throws(RewardError) -> RewardComponents {
        try score(solutionUTF8: Array(solution.utf8)[...], groundTruth: groundTruth, step: step)
    }
}

/// Where the reference reward raises instead of returning a score.
public enum RewardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// R8: a line of the ground truth's `<tool_call>` block is not one JSON value (the reference's
    /// `json.loads` sits outside its try block, so the trainer would crash).
    case unparseableGroundTruth(line: String, message: String, pythonType: String)
    /// No variant registered under this name.
    case unknownVariant(String)

    /// The Python exception type the reference raises (for conformance files recording `{"error": Type}`).
    public var pythonType: String {
        switch self {
        case .unparseableGroundTruth(_, _, let t): return t
        case .unknownVariant: return "KeyError"
        }
    }

    public var description: String {
        switch self {
        case .unparseableGroundTruth(let line, let message, let t):
            return "ground truth tool-call line is not JSON (\(t): \(message)): \(line.prefix(200))"
        case .unknownVariant(let n):
            return "unknown reward variant '\(n)' (known: \(RewardRegistry.names.joined(separator: ", ")))"
        }
    }
}

/// Reward variants by name.
public enum RewardRegistry {
    /// The registered variants.
    public static let variants: [any RewardFunction.Type] = [RestReward.self, ToolRLReward.self]
    /// Their names.
    public static var names: [String] { variants.map { $0.name } }

    /// A variant by name (`rest`, `toolrl`).
    public static func make(_ name: String, options: RewardOptions) throws(RewardError) -> any RewardFunction {
        guard let t = variants.first(where: { $0.name == name }) else { throw .unknownVariant(name) }
        return t.init(options: options)
    }
}
