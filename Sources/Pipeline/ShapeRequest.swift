@_exported import enum Entropy.LogitsDType

/// One batch of rollouts to shape, as the sidecar, the offline `shape` command and the trainer
/// hand it to ``ShapingEngine``. Tensors are row-major `[batch, length]`.
public struct ShapeRequest: Sendable {
    /// Response token ids, `[batch, length]`, padded rows included.
    public var inputIDs: [Int32]
    /// Response / loss mask, `[batch, length]`; non-zero marks a valid token.
    public var mask: [Float]
    /// Rows (rollouts) in the batch.
    public var batch: Int
    /// Tokens per row (padded).
    public var length: Int
    /// Ground truth string per rollout (what the ToolRL reward receives), `[batch]`.
    public var groundTruths: [String]
    /// Optional ground truth per turn of each rollout, `[batch][turns of that row]` (see
    /// `Regions.TurnLayout`); nil = `groundTruths[b]` scores the row's last turn only. A nil entry:
    /// that turn has no ground truth (no reward).
    public var turnGroundTruths: [[String?]]?
    /// Global training step (1 on the first training step, as in the released trainer).
    public var step: Int
    /// Where per-token entropies come from, if anywhere.
    public var entropy: EntropyInput
    /// Optional prompt ids per rollout: when present the reward scores decode(prompt + response),
    /// otherwise `"<|im_start|>assistant\n" + decode(response)`.
    public var promptIDs: [[Int32]]?
    /// Profile, reward and schedule of this request.
    public var options: ShapeOptions
    /// Raised when the result is no longer wanted: the engine stops at the next row boundary
    /// with ``ShapeError/cancelled`` (nil: never cancelled).
    public var cancellation: CancellationFlag?

    /// A request from row-major tensors; see the properties for each argument.
    public init(inputIDs: [Int32], mask: [Float], batch: Int, length: Int, groundTruths: [String], step: Int,
                entropy: EntropyInput = .none, promptIDs: [[Int32]]? = nil, options: ShapeOptions = ShapeOptions(),
                turnGroundTruths: [[String?]]? = nil) {
        self.inputIDs = inputIDs; self.mask = mask; self.batch = batch; self.length = length
        self.groundTruths = groundTruths; self.step = step; self.entropy = entropy
        self.promptIDs = promptIDs; self.options = options; self.turnGroundTruths = turnGroundTruths
    }
}

/// Per-token entropy input of a ``ShapeRequest``.
public enum EntropyInput: Sendable {
    case none
    /// Entropies already computed by the trainer, fp32 `[batch, length]`.
    case entropies([Float])
    /// Full logits `[batch, length, vocab]` in the given dtype (raw little-endian bytes).
    case logits(bytes: [UInt8], dtype: LogitsDType, vocab: Int)
    /// Top-k logits `[batch, length, k]` (fp32) plus the full-vocabulary logsumexp `[batch, length]`.
    case topK(logits: [Float], k: Int, logsumexp: [Float], vocab: Int)
}


/// Options of one request: which weight profile, schedule and reward variant to use.
public struct ShapeOptions: Sendable {
    /// Weight profile name: `aligned` (default), `released`, `uniform`.
    public var profile: String
    /// Reward variant name: `rest` (default, the ResT repo's rlla) or `toolrl`.
    public var reward: String
    /// ToolRL reward flags (SCHEDULEREWARD, … as explicit switches), by their environment names.
    public var rewardFlags: [String: Bool]
    /// Optional schedule configuration as JSON text (see `Shaping`); nil keeps the engine's config.
    public var scheduleJSON: String?
    /// Softmax temperature for entropies computed from logits.
    public var temperature: Float
    /// Skip the reward (rewards and components stay 0), e.g. when the trainer scores elsewhere.
    public var computeRewards: Bool
    /// Skip the weights (categories are still computed).
    public var computeWeights: Bool
    /// How a multi-turn row's per-turn rewards make its reward.
    public var turnReward: TurnRewardAggregation

    /// Options; the defaults are the wire protocol's.
    public init(profile: String = "aligned", reward: String = "rest", rewardFlags: [String: Bool] = [:],
                scheduleJSON: String? = nil, temperature: Float = 1.0,
                computeRewards: Bool = true, computeWeights: Bool = true, turnReward: TurnRewardAggregation = .mean) {
        self.profile = profile; self.reward = reward; self.rewardFlags = rewardFlags
        self.scheduleJSON = scheduleJSON; self.temperature = temperature
        self.computeRewards = computeRewards; self.computeWeights = computeWeights
        self.turnReward = turnReward
    }
}

/// How the per-turn rewards of a row make `rewards[b]` (and its components), option `turn_reward`.
public enum TurnRewardAggregation: String, Sendable, CaseIterable {
    /// The mean over the turns that have a ground truth (0 when none has).
    case mean
    /// The row's last turn (0 when it has no ground truth).
    case last
    /// The sum over the turns that have a ground truth.
    case sum
}

/// What ``ShapingEngine`` returns for a ``ShapeRequest``.
public struct ShapeResult: Sendable {
    /// ResT weights, fp32 `[batch, length]`; zero where the mask is zero.
    public var weights: [Float]
    /// Reward score per rollout, `[batch]`.
    public var rewards: [Float]
    /// Reward components `[batch, 4]`: format, correctness, length, score.
    public var components: [Float]
    /// Token categories (``Regions/TokenCategory`` raw values), uint8 `[batch, length]`.
    public var categories: [UInt8]
    /// Per-rollout status: ok, or the typed error that made the profile fall back.
    public var rolloutStatus: [RolloutStatus]
    /// Per-token entropies used, when the request carried any, fp32 `[batch, length]`.
    public var entropies: [Float]?
    /// Per-region statistics of the batch.
    public var metrics: BatchMetrics
    /// Per-turn rewards and turn ends, present when some row has more than one turn.
    public var turns: TurnRewards?

    /// A result from its parts (the engine and the wire decoder build these).
    public init(weights: [Float], rewards: [Float], components: [Float], categories: [UInt8],
                rolloutStatus: [RolloutStatus], entropies: [Float]?, metrics: BatchMetrics, turns: TurnRewards? = nil) {
        self.weights = weights; self.rewards = rewards; self.components = components
        self.categories = categories; self.rolloutStatus = rolloutStatus; self.entropies = entropies
        self.metrics = metrics; self.turns = turns
    }
}

/// The per-turn part of a ``ShapeResult`` (wire tensors `turn_rewards`, `turn_ends`), `[batch, k]`
/// with k = the most turns of any row.
public struct TurnRewards: Sendable, Equatable {
    /// Turns per row in this table (the batch's maximum).
    public var k: Int
    /// Reward of each turn, fp32 `[batch, k]`; 0 for a turn without ground truth or a missing turn.
    public var rewards: [Float]
    /// Index of the last token of each turn, int32 `[batch, k]`; −1 for a missing turn.
    public var ends: [Int32]

    /// A per-turn table of `k` turns per row.
    public init(k: Int, rewards: [Float], ends: [Int32]) { self.k = k; self.rewards = rewards; self.ends = ends }
}

/// Outcome of one rollout: `ok`, or a typed error code (the weights fell back to the mask,
/// or the reward could not be computed) with a human-readable message.
public struct RolloutStatus: Sendable, Equatable {
    /// `ok` or a wire error code (`parse`, `reward_error`, …).
    public var code: String
    /// What went wrong, for people (empty when ok).
    public var message: String
    /// Whether the rollout was shaped without a fallback.
    public var isOK: Bool { code == "ok" }
    /// The status of a rollout shaped normally.
    public static let ok = RolloutStatus(code: "ok", message: "")
    /// A status with a code and a message.
    public init(code: String, message: String) { self.code = code; self.message = message }
}

/// Batch-level statistics: per-region token counts, mean entropy and mean weight.
public struct BatchMetrics: Sendable {
    /// Region name → number of valid tokens in it.
    public var tokenCounts: [String: Int]
    /// Region name → mean entropy over its valid tokens (absent without entropies).
    public var entropyMeans: [String: Double]
    /// Region name → mean weight over its valid tokens.
    public var weightMeans: [String: Double]
    /// Mean reward over the batch's rollouts.
    public var rewardMean: Double
    /// Region name → γ the profile used for this batch (before normalisation); regions with γ = 0 omitted.
    public var gammas: [String: Double]
    /// Progress p ∈ [0, 1] of the entropy curriculum for this batch; nil when the schedule does not use it.
    public var entropyProgress: Double?

    /// Statistics from their parts (empty by default).
    public init(tokenCounts: [String: Int] = [:], entropyMeans: [String: Double] = [:],
                weightMeans: [String: Double] = [:], rewardMean: Double = 0,
                gammas: [String: Double] = [:], entropyProgress: Double? = nil) {
        self.tokenCounts = tokenCounts; self.entropyMeans = entropyMeans
        self.weightMeans = weightMeans; self.rewardMean = rewardMean
        self.gammas = gammas; self.entropyProgress = entropyProgress
    }
}
