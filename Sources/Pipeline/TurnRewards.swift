import Regions
import Rewards

/// The reward of one rollout, per turn and aggregated (see ``TurnRewardAggregation``).
struct RowReward {
    /// The row's reward components, aggregated over its turns.
    var total = RewardComponents(score: 0, format: 0, correctness: 0, length: 0)
    /// The score of each turn (0 without a ground truth or when the reward failed).
    var turnScores: [Float] = []
    /// The first reward failure, with its turn when the row has several.
    var error: String?
}

extension TurnRewardAggregation {
    /// Combines per-turn components: `turns[k]` is nil for a turn without ground truth.
    /// A turn whose reward failed counts as scored with zeros (a single-turn row's reward is 0 then).
    func aggregate(_ turns: [RewardComponents?]) -> RewardComponents {
        var out = RewardComponents(score: 0, format: 0, correctness: 0, length: 0)
        switch self {
        case .last:
            if let l = turns.last, let c = l { out = c }
        case .mean, .sum:
            var n = 0
            for case let c? in turns {
                out.score += c.score; out.format += c.format; out.correctness += c.correctness; out.length += c.length
                n += 1
            }
            if self == .mean, n > 1 {
                let d = Double(n)
                out = RewardComponents(score: out.score / d, format: out.format / d, correctness: out.correctness / d, length: out.length / d)
            }
        }
        return out
    }
}

/// Scores the turns of one row. `score(turn, groundTruth)` scores the tokens of `turn` (its ids, with
/// the first turn's prompt when the request has one) against a ground truth.
///
/// - Without per-turn ground truths, `groundTruth` scores the last turn and earlier turns get none;
///   a row with no valid token is scored once on its (empty) response, as a single-turn row is.
/// - With them, `turnGroundTruths[k]` scores turn k (nil: no reward for that turn).
func scoreTurns(layout: TurnLayout, groundTruth: String, turnGroundTruths: [String?]?, aggregation: TurnRewardAggregation,
                score: (Range<Int>, String) throws -> RewardComponents) -> RowReward {
    var row = RowReward()
    let turns = layout.turns
    if turns.isEmpty && turnGroundTruths == nil {
        do { row.total = try score(0..<0, groundTruth) } catch { row.error = "\(error)" }
        return row
    }
    let truths: [String?] = turnGroundTruths ?? turns.indices.map { $0 == turns.count - 1 ? groundTruth : nil }
    var perTurn = [RewardComponents?](repeating: nil, count: turns.count)
    row.turnScores = [Float](repeating: 0, count: turns.count)
    for k in turns.indices {
        guard k < truths.count, let gt = truths[k] else { continue }
        do {
            let c = try score(turns[k], gt)
            perTurn[k] = c
            row.turnScores[k] = Float(c.score)
        } catch {
            perTurn[k] = RewardComponents(score: 0, format: 0, correctness: 0, length: 0)
            if row.error == nil { row.error = turns.count > 1 ? "turn \(k): \(error)" : "\(error)" }
        }
    }
    row.total = aggregation.aggregate(perTurn)
    return row
}
