/// The bytes of a row of token ids, decoded once into buffers that are reused from row to row
/// (no allocation once they are large enough), with each token's start: what the region parser
/// and the reward of the same row both read, so a batch decodes every row exactly once.
///
/// `bytes[starts[i] ..< starts[i + 1]]` are the bytes of token i of the last ``load(_:tokenizer:)``
/// (an added token contributes its UTF-8 content), as ``Tokenizer/decodeBytes(_:)`` gives them.
public struct TokenByteBuffer: Sendable {
    /// The concatenated token bytes (valid up to ``byteCount``).
    public private(set) var bytes: [UInt8] = []
    /// Token starts in ``bytes`` (``tokenCount`` + 1 of them are valid).
    public private(set) var starts: [Int32] = []
    /// Tokens and bytes of the last load.
    public private(set) var tokenCount = 0
    /// Bytes held now.
    public private(set) var byteCount = 0
    private var rebased: [Int32] = []

    /// An empty buffer.
    public init() {}

    /// Decodes `ids` into the buffers. Throws for an unknown id (the buffers are then unspecified).
    public mutating func load(_ ids: UnsafeBufferPointer<Int32>, tokenizer: Tokenizer) throws(TokenizerError) {
        let store = tokenizer.store
        let offsets = store.offsets, present = store.present, vocab = store.vocabSize
        var total = 0
        for id in ids {
            guard id >= 0, Int(id) < vocab, present[Int(id)] else { throw .unknownTokenID(Int(id)) }
            total += Int(offsets[Int(id) + 1] - offsets[Int(id)])
        }
        guard total < Int(Int32.max) else { throw .unsupported("a row of more than 2 GiB") }
        if bytes.count < total { bytes = [UInt8](repeating: 0, count: max(total, bytes.count * 2)) }
        if starts.count < ids.count + 1 { starts = [Int32](repeating: 0, count: max(ids.count + 1, starts.count * 2)) }
        let src = UnsafePointer(store.bytes.baseAddress!)
        bytes.withUnsafeMutableBufferPointer { out in
            starts.withUnsafeMutableBufferPointer { st in
                var at = 0
                for (i, id) in ids.enumerated() {
                    st[i] = Int32(truncatingIfNeeded: at)
                    let s = Int(offsets[Int(id)]), n = Int(offsets[Int(id) + 1]) - s
                    if n <= 16 {  // most tokens: a short loop beats a memmove call
                        for k in 0..<n { out[at + k] = src[s + k] }
                    } else {
                        (out.baseAddress! + at).update(from: src + s, count: n)
                    }
                    at += n
                }
                st[ids.count] = Int32(truncatingIfNeeded: at)
            }
        }
        tokenCount = ids.count
        byteCount = total
    }

    /// The byte range of tokens `tokens` (a sub-range of the last load).
    public func byteRange(_ tokens: Range<Int>) -> Range<Int> { Int(starts[tokens.lowerBound]) ..< Int(starts[tokens.upperBound]) }

    /// Calls `body` with the bytes of tokens `tokens` and their starts relative to the first of
    /// them (`tokens.count + 1` values, the first 0): the shape ``RegionParser`` reads.
    public mutating func withTokens<R>(_ tokens: Range<Int>,
                                       _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R {
        let base = starts[tokens.lowerBound]
        let range = byteRange(tokens)
        if base == 0 {
            return try bytes.withUnsafeBufferPointer { b in
                try starts.withUnsafeBufferPointer { s in
                    try body(UnsafeBufferPointer(rebasing: b[range]), UnsafeBufferPointer(rebasing: s[tokens.lowerBound ... tokens.upperBound]))
                }
            }
        }
        if rebased.count < tokens.count + 1 { rebased = [Int32](repeating: 0, count: tokens.count + 1) }
        for (k, i) in (tokens.lowerBound ... tokens.upperBound).enumerated() { rebased[k] = starts[i] - base }
        return try bytes.withUnsafeBufferPointer { b in
            try rebased.withUnsafeBufferPointer { s in
                try body(UnsafeBufferPointer(rebasing: b[range]), UnsafeBufferPointer(rebasing: s[0 ... tokens.count]))
            }
        }
    }

    /// The UTF-8 of `tokenizer.decode(ids[tokens], skipSpecialTokens: false)` for tokens of the last
    /// load, passed to `body`. When those bytes are valid UTF-8 they are the answer as they stand (an
    /// added token's content is complete UTF-8, so cutting valid text at its edges leaves valid
    /// runs, and each run decodes to itself); otherwise the exact run-by-run replacement of
    /// ``Tokenizer/decode(_:skipSpecialTokens:)`` is computed from `ids`.
    public func withDecodedText<R>(_ tokens: Range<Int>, ids: UnsafeBufferPointer<Int32>, tokenizer: Tokenizer,
                                   _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        let range = byteRange(tokens)
        let valid = bytes.withUnsafeBufferPointer { UTF8Check.isValid(UnsafeBufferPointer(rebasing: $0[range])) }
        if valid { return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) } }
        var text = try tokenizer.decode(UnsafeBufferPointer(rebasing: ids[tokens]), skipSpecialTokens: false)
        return try text.withUTF8 { try body($0) }
    }
}

/// UTF-8 validation (the rules of `String(validating:)`: shortest forms, no surrogates, ≤ U+10FFFF),
/// eight ASCII bytes at a time, and the maximal-subpart reading that lossy decoding replaces.
public enum UTF8Check {
    /// Whether `b` is valid UTF-8.
    public static func isValid(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        guard let p = b.baseAddress else { return true }
        var i = 0
        while i < n {
            if i + 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
            if p[i] < 0x80 { i += 1; continue }
            let (valid, end) = sequence(b, at: i)
            guard valid else { return false }
            i = end
        }
        return true
    }

    /// The sequence starting at `i` (a byte ≥ 0x80): whether it is one valid character, and where
    /// the next sequence starts — after the character, or after its maximal invalid subpart
    /// (Unicode's "substitution of maximal subparts", as Rust's `String::from_utf8_lossy`).
    static func sequence(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (valid: Bool, end: Int) {
        var need = 0
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b[i] {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return (false, i + 1)
        }
        var j = i + 1
        for k in 0..<need {
            guard j < b.count else { return (false, j) }
            let (l, h) = k == 0 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
            guard b[j] >= l && b[j] <= h else { return (false, j) }
            j += 1
        }
        return (true, j)
    }
}
