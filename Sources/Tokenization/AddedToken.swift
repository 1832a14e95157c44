/// A token matched verbatim in the text before pre-tokenisation (HF `added_tokens`).
public struct AddedToken: Sendable, Hashable {
    /// The literal text of the token, e.g. `<|im_end|>`.
    public var content: String
    /// Its id.
    public var id: Int32
    /// `special: true` tokens are dropped by `decode(…, skipSpecialTokens: true)`.
    public var special: Bool
    /// `normalized: true` tokens are matched on the NFC-normalised text instead of the raw text.
    public var normalized: Bool

    /// An added token as tokenizer.json lists it.
    public init(content: String, id: Int32, special: Bool, normalized: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.normalized = normalized
    }

    /// The 26 added tokens of Qwen3 (ids 151643–151668), as in its `tokenizer.json`: the six
    /// tool/think tags are `special: false` (decode keeps them even when skipping special tokens).
    public static let qwen3: [AddedToken] = {
        let names: [(String, Bool)] = [
            ("<|endoftext|>", true), ("<|im_start|>", true), ("<|im_end|>", true),
            ("<|object_ref_start|>", true), ("<|object_ref_end|>", true), ("<|box_start|>", true),
            ("<|box_end|>", true), ("<|quad_start|>", true), ("<|quad_end|>", true),
            ("<|vision_start|>", true), ("<|vision_end|>", true), ("<|vision_pad|>", true),
            ("<|image_pad|>", true), ("<|video_pad|>", true), ("<tool_call>", false),
            ("</tool_call>", false), ("<|fim_prefix|>", true), ("<|fim_middle|>", true),
            ("<|fim_suffix|>", true), ("<|fim_pad|>", true), ("<|repo_name|>", true),
            ("<|file_sep|>", true), ("<tool_response>", false), ("</tool_response>", false),
            ("<think>", false), ("</think>", false),
        ]
        return names.enumerated().map { AddedToken(content: $0.element.0, id: Int32(151643 + $0.offset), special: $0.element.1) }
    }()
}
