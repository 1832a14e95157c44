/// Options of ``RegionParser``.
public struct RegionOptions: Sendable, Equatable {
    /// When the chat template already put `<think>` in the prompt (Qwen3-Thinking-2507, R1-style
    /// templates), the response starts inside the reasoning: with this on, everything before an
    /// unmatched first `</think>` is think content. Off by default (Qwen3 emits `<think>` itself).
    public var thinkOpenInPrompt: Bool

    /// Options; the default reads a row from its first token.
    public init(thinkOpenInPrompt: Bool = false) { self.thinkOpenInPrompt = thinkOpenInPrompt }
}
