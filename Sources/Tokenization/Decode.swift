/// The bytes of a sequence of ids and where each token's bytes start (no re-tokenisation).
public struct DecodedBytes: Sendable, Equatable {
    /// Concatenated token bytes (added tokens contribute their UTF-8 content).
    public var bytes: [UInt8]
    /// `tokenStarts[i] ..< tokenStarts[i + 1]` is token i's span in `bytes` (count: ids + 1).
    public var tokenStarts: [Int]

    /// A decoding from its bytes and each token's first byte.
    public init(bytes: [UInt8], tokenStarts: [Int]) {
        self.bytes = bytes
        self.tokenStarts = tokenStarts
    }

    /// The byte span of token `i`.
    public func span(_ i: Int) -> Range<Int> { tokenStarts[i] ..< tokenStarts[i + 1] }
}

extension Tokenizer {
    /// The exact bytes of every token, concatenated, with each token's span.
    public func decodeBytes<C: Collection>(_ ids: C) throws -> DecodedBytes where C.Element == Int32 {
        if let fast = try ids.withContiguousStorageIfAvailable({ try decodeBytesContiguous($0) }) { return fast }
        return try Array(ids).withUnsafeBufferPointer { try decodeBytesContiguous($0) }
    }

    private func decodeBytesContiguous(_ ids: UnsafeBufferPointer<Int32>) throws -> DecodedBytes {
        var buffer = TokenByteBuffer()
        try buffer.load(ids, tokenizer: self)
        return DecodedBytes(bytes: Array(buffer.bytes[0 ..< buffer.byteCount]), tokenStarts: buffer.starts[0 ... ids.count].map { Int($0) })
    }

    /// Text of the ids as HF `decode(ids, skip_special_tokens:)` with `clean_up_tokenization_spaces=False`:
    /// runs of ordinary tokens are byte-decoded with one U+FFFD per maximal invalid UTF-8 subsequence,
    /// added tokens are inserted verbatim between runs (so bytes never join across a kept added token),
    /// and `skipSpecialTokens` drops only `special: true` added tokens (the runs around a dropped one join).
    public func decode<C: Collection>(_ ids: C, skipSpecialTokens: Bool = false) throws -> String where C.Element == Int32 {
        if let fast = try ids.withContiguousStorageIfAvailable({ try decodeContiguous($0, skipSpecialTokens: skipSpecialTokens) }) { return fast }
        return try Array(ids).withUnsafeBufferPointer { try decodeContiguous($0, skipSpecialTokens: skipSpecialTokens) }
    }

    private func decodeContiguous(_ ids: UnsafeBufferPointer<Int32>, skipSpecialTokens: Bool) throws -> String {
        // Fast path: nothing to skip and the concatenated bytes are valid UTF-8 — then every run is
        // valid too (added tokens are whole UTF-8 text) and the text is the bytes as they stand.
        if !skipSpecialTokens || !ids.contains(where: { isSpecial($0) }) {
            var buffer = TokenByteBuffer()
            try buffer.load(ids, tokenizer: self)
            let valid = buffer.bytes.withUnsafeBufferPointer { UTF8Check.isValid(UnsafeBufferPointer(rebasing: $0[0 ..< buffer.byteCount])) }
            if valid { return String(decoding: buffer.bytes[0 ..< buffer.byteCount], as: UTF8.self) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        var run: [UInt8] = []
        let base = store.bytes.baseAddress!
        for id in ids {
            guard contains(id) else { throw TokenizerError.unknownTokenID(Int(id)) }
            let s = Int(store.offsets[Int(id)]), e = Int(store.offsets[Int(id) + 1])
            let kind = addedKind[Int(id)]
            if kind == 0 {
                run.append(contentsOf: UnsafeBufferPointer(start: base + s, count: e - s))
                continue
            }
            if kind == 2 && skipSpecialTokens { continue }
            appendLossyUTF8(run, to: &out)
            run.removeAll(keepingCapacity: true)
            out.append(contentsOf: UnsafeBufferPointer(start: base + s, count: e - s))
        }
        appendLossyUTF8(run, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Appends `bytes` as valid UTF-8, replacing each maximal invalid subsequence (Unicode's
/// "substitution of maximal subparts", as Rust's `String::from_utf8_lossy`) with U+FFFD.
func appendLossyUTF8(_ bytes: [UInt8], to out: inout [UInt8]) {
    bytes.withUnsafeBufferPointer { b in
        var i = 0
        while i < b.count {
            if b[i] < 0x80 { out.append(b[i]); i += 1; continue }
            let (valid, end) = UTF8Check.sequence(b, at: i)
            if valid { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<end])) } else { out.append(contentsOf: [0xEF, 0xBF, 0xBD]) }
            i = end
        }
    }
}
