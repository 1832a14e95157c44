/// The ToolRL repository's `rlla` reward (`verl/utils/reward_score/rlla.py`).
///
/// Its format check is a DOTALL regex anchored at both ends of the stripped response, plus tag counts:
/// - response only: `^<think>.*?</think>\n<response>.*?</response>$`, one `<response>`, one `</response>`;
/// - tool call only: `^<think>.*?</think>\n<tool_call>\n.*?\n</tool_call>$`, one of each tool-call tag;
/// - both: `^<think>.*?</think>\n<tool_call>\n.*?\n</tool_call>\n<response>.*?</response>$` and all four counts;
/// - neither: `^<think>.*?</think>$`.
/// Score = format + correctness + length. The reference raises for an `EXPERIMENT_NAME` that names
/// neither llama nor qwen; here that case uses ChatML markers (`llamaTemplate` off).
public struct ToolRLReward: RewardFunction {
    /// The registry name.
    public static let name = "toolrl"
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
        return RewardComponents(score: c.format + c.correctness + c.length, format: c.format,
                                correctness: c.correctness, length: c.length)
    }

    static let thinkThenResponse = [UInt8](literal: "</think>\n<response>")
    static let thinkThenTool = [UInt8](literal: "</think>\n<tool_call>\n")
    static let toolThenResponse = [UInt8](literal: "\n</tool_call>\n<response>")
    static let toolEnd = [UInt8](literal: "\n</tool_call>")

    /// `customize_format_reward_func` of the ToolRL repository.
    func formatScore(_ r: Bytes, groundTruth gt: Bytes, step: Int) -> Double {
        let (hi, lo) = core.formatRange(step: step)
        let gtResponse = PyText.contains(gt, Rlla.responseOpen)
        let gtTool = PyText.contains(gt, Rlla.toolOpen)
        func once(_ t: [UInt8]) -> Bool { PyText.count(r, t) == 1 }
        let ok: Bool
        if gtResponse && !gtTool {
            ok = Self.anchoredChain(r, prefix: Rlla.thinkOpen, pieces: [Self.thinkThenResponse], suffix: Rlla.responseClose)
                && once(Rlla.responseOpen) && once(Rlla.responseClose)
        } else if !gtResponse && gtTool {
            ok = Self.anchoredChain(r, prefix: Rlla.thinkOpen, pieces: [Self.thinkThenTool], suffix: Self.toolEnd)
                && once(Rlla.toolOpen) && once(Rlla.toolClose)
        } else if gtResponse && gtTool {
            ok = Self.anchoredChain(r, prefix: Rlla.thinkOpen, pieces: [Self.thinkThenTool, Self.toolThenResponse],
                                    suffix: Rlla.responseClose)
                && once(Rlla.toolOpen) && once(Rlla.toolClose) && once(Rlla.responseOpen) && once(Rlla.responseClose)
        } else {
            ok = Self.anchoredChain(r, prefix: Rlla.thinkOpen, pieces: [], suffix: Rlla.thinkClose)
        }
        return ok ? hi : lo
    }

    /// Whether `re.search("^P.*?A.*?B…S$", text, re.DOTALL)` matches for literals P, A, B, …, S.
    ///
    /// With DOTALL every gap matches anything, so a match exists iff the text starts with P, ends
    /// with S, and the pieces occur in order without overlapping each other, P or S; taking each
    /// piece's leftmost occurrence is optimal. `$` may also match before one final `\n`, which a
    /// `strip()`ped text never has, but it is honoured for completeness.
    static func anchoredChain(_ text: Bytes, prefix: [UInt8], pieces: [[UInt8]], suffix: [UInt8]) -> Bool {
        guard PyText.hasPrefix(text, prefix) else { return false }
        var ends = [text.endIndex]
        if text.last == 0x0A { ends.append(text.endIndex - 1) }
        for end in ends {
            let body = text[text.startIndex..<end]
            guard PyText.hasSuffix(body, suffix) else { continue }
            let suffixStart = end - suffix.count
            var cursor = text.startIndex + prefix.count
            guard cursor <= suffixStart else { continue }
            var placed = true
            for piece in pieces {
                guard let i = PyText.find(text[cursor..<suffixStart], piece) else { placed = false; break }
                cursor = i + piece.count
            }
            if placed { return true }
        }
        return false
    }
}
