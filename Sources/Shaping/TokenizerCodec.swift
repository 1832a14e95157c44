import Tokenization

/// The tokenizer is the `released` profile's codec: HF `decode(ids, skip_special_tokens=False)` and
/// the code-point offsets of `encode(text)` (added tokens first, NFC, the Qwen split regex, BPE).
extension Tokenizer: ReleasedTextCodec {
    public func releasedDecode(_ ids: UnsafeBufferPointer<Int32>) throws -> String {
        try decode(ids, skipSpecialTokens: false)
    }

    public func releasedOffsets(_ text: String) throws -> CodePointOffsets {
        let e = encode(text)
        var starts = [Int32](), ends = [Int32]()
        starts.reserveCapacity(e.offsets.count); ends.reserveCapacity(e.offsets.count)
        for r in e.offsets { starts.append(Int32(r.lowerBound)); ends.append(Int32(r.upperBound)) }
        return CodePointOffsets(starts: starts, ends: ends)
    }
}
