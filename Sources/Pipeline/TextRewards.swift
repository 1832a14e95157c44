import Rewards

/// A batch of decoded texts to score with the ToolRL reward: what a trainer that calls a remote
/// reward model sends (OpenRLHF's `query`, slime's `prompt + response`). No token ids are
/// involved: each text is scored exactly as the ResT/ToolRL reward manager scores its
/// `solution_str` (the decoded prompt + response).
public struct TextRewardRequest: Sendable {
    /// One `solution_str` per rollout: prompt + response, special tokens kept.
    public var solutions: [String]
    /// One ground truth per rollout (what `compute_score` receives).
    public var groundTruths: [String]
    /// Training step (the schedule flags read it; 1 on the first training step).
    public var step: Int
    /// Reward variant name (`rest`, `toolrl`).
    public var reward: String
    /// ToolRL reward flags by their environment names (see ``RewardOptions/init(flags:)``).
    public var rewardFlags: [String: Bool]

    /// A batch of solution texts with one ground truth each, scored at `step` by the reward variant `reward`.
    public init(solutions: [String], groundTruths: [String], step: Int, reward: String = "rest",
                rewardFlags: [String: Bool] = [:]) {
        self.solutions = solutions; self.groundTruths = groundTruths; self.step = step
        self.reward = reward; self.rewardFlags = rewardFlags
    }
}

/// What ``ShapingEngine/scoreTexts(_:)`` returns: per rollout the four reward values, or the
/// typed error that stood in for them (the reference reward raised; the values are then 0).
public struct TextRewardResult: Sendable {
    /// Per rollout: score, format, correctness, length (all 0 where `status` is not ok).
    public var components: [RewardComponents]
    /// Per rollout: `ok`, or `reward_error` with the reason.
    public var status: [RolloutStatus]
}

extension ShapingEngine {
    /// Scores decoded texts with the ToolRL reward, rows in parallel on the engine's threads.
    /// Thread-safe: it reads no engine state (the entropy curriculum is untouched).
    /// Throws ``ShapeError`` only for the whole request (lengths disagree, unknown variant).
    public func scoreTexts(_ request: TextRewardRequest) throws(ShapeError) -> TextRewardResult {
        let n = request.solutions.count
        guard request.groundTruths.count == n else {
            throw .shape("\(request.groundTruths.count) ground truths for \(n) texts")
        }
        let reward: any RewardFunction
        do { reward = try RewardRegistry.make(request.reward, options: RewardOptions(flags: request.rewardFlags)) }
        catch { throw .options("reward '\(request.reward)': \(error)") }

        let zero = RewardComponents(score: 0, format: 0, correctness: 0, length: 0)
        var components = [RewardComponents](repeating: zero, count: n)
        var status = [RolloutStatus](repeating: .ok, count: n)
        components.withUnsafeMutableBufferPointer { comp in
            status.withUnsafeMutableBufferPointer { st in
                let out = UncheckedBox((comp, st))
                ParallelRows.forEach(count: n, threads: threads) { rows in
                    let (comp, st) = out.value
                    for r in rows {
                        do {
                            comp[r] = try reward.score(solution: request.solutions[r], groundTruth: request.groundTruths[r],
                                                       step: request.step)
                        } catch {
                            st[r] = RolloutStatus(code: "reward_error", message: "\(error)")
                        }
                    }
                }
            }
        }
        return TextRewardResult(components: components, status: status)
    }
}
