import Tokenization

/// The tokenizer is the `released` profile's codec: HF `decode(ids, skip_special_tokens=False)` and
/// the code-point offsets of `encode(text)` (added tokens first, NFC, the Qwen split regex, BPE).
extension Tokenizer: ReleasedTextCodec {
    /// Decodes the ids as the released code does (`skip_special_tokens=False`).
    public func releasedDecode(_ ids: UnsafeBufferPointer<Int32>) throws -> String {
        try decode(ids, skipSpecialTokens: false)
    }

    /// Re-encodes `text` and returns each token's code-point span, as the released code does.
    public func releasedOffsets(_ text: String) throws -> CodePointOffsets {
        let e = encodeCodePointOffsets(text)
        return CodePointOffsets(starts: e.starts, ends: e.ends)
    }
}
