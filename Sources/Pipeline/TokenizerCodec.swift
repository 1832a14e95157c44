import Shaping
import Tokenization

/// The `released` profile's view of the tokenizer: HF `decode(ids, skip_special_tokens=False)`
/// and the code-point offsets of a re-encoding, exactly what the released Python code used.
extension Tokenizer: ReleasedTextCodec {
    public func releasedDecode(_ ids: UnsafeBufferPointer<Int32>) throws -> String {
        try decode(ids, skipSpecialTokens: false)
    }

    public func releasedOffsets(_ text: String) throws -> CodePointOffsets {
        let offsets = encode(text).offsets
        return CodePointOffsets(starts: offsets.map { Int32($0.lowerBound) }, ends: offsets.map { Int32($0.upperBound) })
    }
}
