/// The ResT repository's `rlla` reward (`verl/utils/reward_score/rlla.py`), the one behind the
/// golden vectors.
///
/// Format: by the ground truth's answer type, the required tags must all be present, in order by
/// their first occurrence, and each block tag must occur exactly once (R4); a tool-call-only answer
/// must not contain `<response>`/`</response>`; a think-only answer needs exactly one `<think>` and
/// one `</think>`. Score = correctness + format; the length component is returned but not added (R6).
public struct RestReward: RewardFunction {
    /// The registry name.
    public static let name = "rest"
    /// The flags this reward runs with.
    public let options: RewardOptions
    private let core: Rlla

    /// A reward with `options`.
    public init(options: RewardOptions = RewardOptions()) {
        self.options = options
        core = Rlla(options: options)
    }

    /// Scores one solution (UTF-8 bytes) against its ground truth at `step`.
    public func score(solutionUTF8 solution: ArraySlice<UInt8>, groundTruth: String, step: Int) throws(RewardError) -> RewardComponents {
        let c = try core.components(solution: solution, groundTruth: groundTruth, step: step, format: formatScore)
        return RewardComponents(score: c.correctness + c.format, format: c.format, correctness: c.correctness, length: c.length)
    }

    /// `customize_format_reward_func` of the ResT repository.
    func formatScore(_ response: Bytes, groundTruth gt: Bytes, step: Int) -> Double {
        let (hi, lo) = core.formatRange(step: step)
        let r = PyText.strip(response)
        let gtResponse = PyText.contains(gt, Rlla.responseOpen)
        let gtTool = PyText.contains(gt, Rlla.toolOpen)
        func has(_ t: [UInt8]) -> Bool { PyText.contains(r, t) }
        func at(_ t: [UInt8]) -> Int { PyText.find(r, t) ?? -1 }
        func once(_ t: [UInt8]) -> Bool { PyText.count(r, t) == 1 }
        let thinkTags = has(Rlla.thinkOpen) && has(Rlla.thinkClose)
        if gtResponse && !gtTool {
            guard thinkTags, has(Rlla.responseOpen), has(Rlla.responseClose) else { return lo }
            let ok = at(Rlla.thinkOpen) < at(Rlla.thinkClose) && at(Rlla.thinkClose) < at(Rlla.responseOpen)
                && at(Rlla.responseOpen) < at(Rlla.responseClose)
                && once(Rlla.responseOpen) && once(Rlla.responseClose)
            return ok ? hi : lo
        } else if !gtResponse && gtTool {
            guard thinkTags, has(Rlla.toolOpen), has(Rlla.toolClose),
                  !has(Rlla.responseOpen), !has(Rlla.responseClose) else { return lo }
            let ok = at(Rlla.thinkOpen) < at(Rlla.thinkClose) && at(Rlla.thinkClose) < at(Rlla.toolOpen)
                && at(Rlla.toolOpen) < at(Rlla.toolClose)
                && once(Rlla.toolOpen) && once(Rlla.toolClose)
            return ok ? hi : lo
        } else if gtResponse && gtTool {
            guard thinkTags, has(Rlla.toolOpen), has(Rlla.toolClose),
                  has(Rlla.responseOpen), has(Rlla.responseClose) else { return lo }
            let ok = at(Rlla.thinkOpen) < at(Rlla.thinkClose) && at(Rlla.thinkClose) < at(Rlla.toolOpen)
                && at(Rlla.toolOpen) < at(Rlla.toolClose) && at(Rlla.toolClose) < at(Rlla.responseOpen)
                && at(Rlla.responseOpen) < at(Rlla.responseClose)
                && once(Rlla.toolOpen) && once(Rlla.toolClose) && once(Rlla.responseOpen) && once(Rlla.responseClose)
            return ok ? hi : lo
        } else {
            return thinkTags && once(Rlla.thinkOpen) && once(Rlla.thinkClose) ? hi : lo
        }
    }
}
