import Foundation

/// Reads a tiktoken rank file and derives HF-compatible merges from it.
enum TiktokenLoader {
    static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.invalidFile("cannot read \(path)")
        }
        return [UInt8](data)
    }

    static let base64Values: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8).enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    static func base64(_ s: ArraySlice<UInt8>, line: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in s {
            if c == UInt8(ascii: "=") { break }
            let v = base64Values[Int(c)]
            guard v >= 0 else { throw TokenizerError.invalidFile("line \(line): bad base64") }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits))) }
        }
        return out
    }

    static func load(path: String, addedTokens: [AddedToken]) throws -> Tokenizer.Components {
        let data = try readFile(path)
        var tokens: [(Int32, ArraySlice<UInt8>)] = []
        tokens.reserveCapacity(160_000)
        var lineNo = 0
        var i = 0
        while i < data.count {
            var j = i
            while j < data.count && data[j] != 0x0A { j += 1 }
            lineNo += 1
            var line = data[i..<j]
            i = j + 1
            while let last = line.last, last == 0x0D || last == 0x20 { line = line.dropLast() }
            if line.isEmpty { continue }
            guard let sp = line.firstIndex(of: 0x20) else { throw TokenizerError.invalidFile("line \(lineNo): expected 'base64 rank'") }
            let bytes = try base64(line[line.startIndex..<sp], line: lineNo)
            guard let rank = Int32(String(decoding: line[(sp + 1)...], as: UTF8.self)), rank >= 0 else {
                throw TokenizerError.invalidFile("line \(lineNo): bad rank")
            }
            guard !bytes.isEmpty else { throw TokenizerError.invalidFile("line \(lineNo): empty token") }
            tokens.append((rank, ArraySlice(bytes)))
        }
        guard !tokens.isEmpty else { throw TokenizerError.invalidFile("no ranks in \(path)") }
        let maxID = max(tokens.map(\.0).max()!, addedTokens.map(\.id).max() ?? 0)
        guard maxID < (1 << 21) else { throw TokenizerError.unsupported("more than 2^21 ranks") }
        return Tokenizer.Components(
            vocabSize: Int(maxID) + 1, modelTokens: tokens,
            merges: { store in try deriveMerges(tokens, store) },
            addedTokens: addedTokens, ignoreMerges: true, nfc: true)
    }

    /// Every split `left + right` of a token where both halves are tokens, ordered as HF's
    /// `TikTokenConverter` orders them: by the merged token's rank, then left rank, then right rank.
    static func deriveMerges(_ tokens: [(Int32, ArraySlice<UInt8>)], _ store: TokenStore) throws -> PairTable {
        var keys: [UInt64] = []
        keys.reserveCapacity(tokens.count * 2)
        for (rank, bytes) in tokens where bytes.count > 1 {
            try bytes.withUnsafeBufferPointer { b in
                let p = b.baseAddress!
                for k in 1..<b.count {
                    let l = store.lookup(p, k)
                    if l < 0 { continue }
                    let r = store.lookup(p + k, b.count - k)
                    if r < 0 { continue }
                    guard store.lookup(p, b.count) == rank else { throw TokenizerError.invalidFile("duplicate token bytes at rank \(rank)") }
                    keys.append(UInt64(rank) << 42 | UInt64(l) << 21 | UInt64(r))
                }
            }
        }
        keys.sort()
        var table = PairTable(expectedCount: keys.count)
        let mask: UInt64 = (1 << 21) - 1
        for (index, key) in keys.enumerated() {
            table.insert(Int32((key >> 21) & mask), Int32(key & mask), rank: UInt32(index), merged: Int32(key >> 42))
        }
        return table
    }
}
