/// The result of `Tokenizer.encode`: ids and, per id, where it came from in the original text.
public struct Encoding: Sendable, Equatable {
    /// Token ids.
    public var ids: [Int32]
    /// Unicode code point (Python `str` index) ranges into the original, un-normalised text, as HF
    /// `return_offsets_mapping` gives them: a byte-level token covering part of a multi-byte
    /// character reports the whole character; an NFC-composed character reports the span HF aligns it to.
    public var offsets: [Range<Int>]
    /// The same ranges in UTF-8 bytes of the original text (HF's Rust byte offsets).
    public var byteOffsets: [Range<Int>]

    /// An encoding from its parallel arrays.
    public init(ids: [Int32], offsets: [Range<Int>], byteOffsets: [Range<Int>]) {
        self.ids = ids
        self.offsets = offsets
        self.byteOffsets = byteOffsets
    }
}

/// Which BPE merge loop to run (both give identical results; exposed for tests and benchmarks).
public enum BPEAlgorithm: Sendable {
    /// Array scan for short pieces, heap for long ones.
    case automatic
    /// Always the heap (HF `Word::merge_all`).
    case heap
}
