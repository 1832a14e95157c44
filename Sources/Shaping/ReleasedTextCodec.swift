/// Code-point offsets of a re-tokenisation: token `i` covers characters `starts[i]..<ends[i]` of the
/// original (un-normalised) text, as HuggingFace `return_offsets_mapping=True` reports them.
public struct CodePointOffsets: Sendable, Equatable {
    /// Start of each token, in code points.
    public var starts: [Int32]
    /// End of each token, in code points.
    public var ends: [Int32]
    /// Number of tokens.
    public var count: Int { starts.count }

    /// Offsets from parallel start and end arrays.
    public init(starts: [Int32], ends: [Int32]) { self.starts = starts; self.ends = ends }

    /// From `[[start, end], …]` pairs.
    public init(pairs: [(Int, Int)]) {
        starts = pairs.map { Int32($0.0) }
        ends = pairs.map { Int32($0.1) }
    }
}

/// What the `released` profile needs from a tokenizer: the text the released code received, and the
/// offsets of its re-tokenisation. ``Tokenization/Tokenizer`` conforms; tests may use a recorded one.
public protocol ReleasedTextCodec: Sendable {
    /// `tokenizer.decode(ids, skip_special_tokens=False)`: pad and end-of-turn strings included.
    func releasedDecode(_ ids: UnsafeBufferPointer<Int32>) throws -> String
    /// `tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]`.
    func releasedOffsets(_ text: String) throws -> CodePointOffsets
}

/// A codec that replays a recorded decode and re-tokenisation (the vectors' `decoded_response_text`
/// and `retokenized_offsets`) whatever the ids: for tests and tokenizer-free conformance checks.
public struct RecordedTextCodec: ReleasedTextCodec {
    /// The recorded decoded text.
    public let text: String
    /// The recorded token offsets.
    public let offsets: CodePointOffsets

    /// A codec that answers with the recorded text and offsets.
    public init(text: String, offsets: CodePointOffsets) { self.text = text; self.offsets = offsets }

    /// The recorded text, whatever the ids.
    public func releasedDecode(_ ids: UnsafeBufferPointer<Int32>) throws -> String { text }

    /// The recorded offsets.
    public func releasedOffsets(_ text: String) throws -> CodePointOffsets {
        guard text == self.text else { throw ShapingError.tokenizer("recorded codec asked for another text") }
        return offsets
    }
}
