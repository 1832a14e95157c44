import Tokenization

extension RegionParser {
    /// Categorises sampled token ids: their exact bytes come from `tokenizer.decodeBytes` (no
    /// re-tokenisation), added tokens from `tokenizer.isAddedToken`. Writes raw values into `out`
    /// (length ≥ ids.count). Throws the tokenizer's error for an unknown id.
    public func categorize(ids: UnsafeBufferPointer<Int32>, tokenizer: Tokenizer, into out: UnsafeMutableBufferPointer<UInt8>) throws {
        let d = try tokenizer.decodeBytes(ids)
        var added = [Bool](repeating: false, count: ids.count)
        for i in 0..<ids.count { added[i] = tokenizer.isAddedToken(ids[i]) }
        d.bytes.withUnsafeBufferPointer { b in
            d.tokenStarts.withUnsafeBufferPointer { s in
                added.withUnsafeBufferPointer { a in categorize(bytes: b, tokenStarts: s, isAdded: a, into: out) }
            }
        }
    }

    /// Array convenience of ``categorize(ids:tokenizer:into:)``.
    public func categorize(ids: [Int32], tokenizer: Tokenizer) throws -> [TokenCategory] {
        var raw = [UInt8](repeating: 0, count: ids.count)
        try ids.withUnsafeBufferPointer { i in try raw.withUnsafeMutableBufferPointer { try categorize(ids: i, tokenizer: tokenizer, into: $0) } }
        return raw.map { TokenCategory(rawValue: $0) ?? .outside }
    }
}

extension RegionParser {
    /// Turn-aware categorisation of one row (see ``TurnLayout``): every turn is parsed as if it had
    /// been sent alone; interior mask = 0 tokens become ``TokenCategory/observation``. A row with
    /// one turn gets exactly ``categorize(ids:tokenizer:into:)``.
    public func categorize(ids: UnsafeBufferPointer<Int32>, mask: UnsafeBufferPointer<Float>, tokenizer: Tokenizer,
                           into out: UnsafeMutableBufferPointer<UInt8>) throws {
        let n = min(ids.count, mask.count, out.count)
        try TurnLayout(mask: UnsafeBufferPointer(rebasing: mask[0..<n])).categorize(into: UnsafeMutableBufferPointer(rebasing: out[0..<n])) { r, o in
            try categorize(ids: UnsafeBufferPointer(rebasing: ids[r]), tokenizer: tokenizer, into: o)
        }
    }

    /// Array convenience of ``categorize(ids:mask:tokenizer:into:)``.
    public func categorize(ids: [Int32], mask: [Float], tokenizer: Tokenizer) throws -> [TokenCategory] {
        var raw = [UInt8](repeating: 0, count: min(ids.count, mask.count))
        try ids.withUnsafeBufferPointer { i in
            try mask.withUnsafeBufferPointer { m in
                try raw.withUnsafeMutableBufferPointer { try categorize(ids: i, mask: m, tokenizer: tokenizer, into: $0) }
            }
        }
        return raw.map { TokenCategory(rawValue: $0) ?? .outside }
    }
}
