/// Finds added tokens in UTF-8 text, leftmost-longest (HF uses Aho-Corasick with `LeftmostLongest`).
struct AddedTokenMatcher: Sendable {
    /// Per first byte: candidate token indices, longest first.
    private let byFirstByte: [[Int]]
    private let contents: [[UInt8]]
    let ids: [Int32]
    var isEmpty: Bool { contents.isEmpty }

    init(_ tokens: [AddedToken]) {
        let all = tokens.map { Array($0.content.utf8) }
        var table = [[Int]](repeating: [], count: 256)
        for (i, c) in all.enumerated() where !c.isEmpty { table[Int(c[0])].append(i) }
        for b in 0..<256 { table[b].sort { all[$0].count > all[$1].count } }
        contents = all
        ids = tokens.map(\.id)
        byFirstByte = table
    }

    /// The next match at or after `from` in `p[..<end]`: `(start, end, id)`.
    @inline(__always)
    func nextMatch(_ p: UnsafePointer<UInt8>, from: Int, end: Int) -> (Int, Int, Int32)? {
        if contents.isEmpty { return nil }
        return byFirstByte.withUnsafeBufferPointer { table in
            var i = from
            while i < end {
                let candidates = table[Int(p[i])]
                if !candidates.isEmpty {
                    for c in candidates {
                        let t = contents[c]
                        if t.count <= end - i {
                            var ok = true
                            var k = 1
                            while k < t.count { if p[i + k] != t[k] { ok = false; break }; k += 1 }
                            if ok { return (i, i + t.count, ids[c]) }
                        }
                    }
                }
                i += 1
            }
            return nil
        }
    }
}
