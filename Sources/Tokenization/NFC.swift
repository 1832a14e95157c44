/// NFC normalisation with the per-character alignment HF `tokenizers` computes
/// (`unicode-normalization-alignments` + `NormalizedString::transform`): every output character
/// carries a `change` (0: replaces one input character, -N: replaces one and swallows N more,
/// +1: inserted), and output characters consume input characters in order. Reproducing the
/// algorithm step by step (decompose, stable canonical ordering, recompose) reproduces HF's
/// offsets for composed, reordered and singleton-mapped text.
enum NFC {
    struct Tables: Sendable {
        var decomposition: [UInt32: [UInt32]] = [:]
        var composition: [UInt64: UInt32] = [:]
        var interestingStart: [UInt32] = []
        var interestingEnd: [UInt32] = []
    }

    static let tables: Tables = {
        var t = Tables()
        func hex(_ s: Substring) -> UInt32 { UInt32(s, radix: 16)! }
        for entry in NFCData.decompositions.split(separator: ";") {
            let kv = entry.split(separator: ":")
            t.decomposition[hex(kv[0])] = kv[1].split(separator: ",").map(hex)
        }
        for entry in NFCData.compositions.split(separator: ";") {
            let kv = entry.split(separator: ":")
            let ab = kv[0].split(separator: ",")
            t.composition[UInt64(hex(ab[0])) << 32 | UInt64(hex(ab[1]))] = hex(kv[1])
        }
        for entry in NFCData.interesting.split(separator: ";") {
            let r = entry.split(separator: "-")
            t.interestingStart.append(hex(r[0]))
            t.interestingEnd.append(hex(r.count > 1 ? r[1] : r[0]))
        }
        return t
    }()

    static let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
    static let lCount: UInt32 = 19, vCount: UInt32 = 21, tCount: UInt32 = 28, nCount: UInt32 = 588, sCount: UInt32 = 11172

    @inline(__always)
    static func ccc(_ v: UInt32) -> UInt8 {
        if v < 0x300 { return 0 }
        guard let s = Unicode.Scalar(v) else { return 0 }
        return s.properties.canonicalCombiningClass.rawValue
    }

    /// Whether a scalar can make a string differ from its NFC form or change HF's alignment:
    /// a non-starter, a scalar that is not NFC-stable, or one that composes with a predecessor.
    /// A segment without any is left untouched (identity alignment).
    static func isInteresting(_ v: UInt32) -> Bool {
        if v < 0x300 { return false }
        if ccc(v) != 0 { return true }
        let t = tables
        var lo = 0, hi = t.interestingStart.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if t.interestingEnd[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < t.interestingStart.count && t.interestingStart[lo] <= v
    }

    /// Full canonical decomposition of one scalar.
    static func decompose(_ v: UInt32, into out: inout [UInt32]) {
        if v >= sBase && v < sBase + sCount {
            let s = v - sBase
            out.append(lBase + s / nCount)
            out.append(vBase + (s % nCount) / tCount)
            if s % tCount != 0 { out.append(tBase + s % tCount) }
            return
        }
        if let parts = tables.decomposition[v] {
            for p in parts { decompose(p, into: &out) }
        } else {
            out.append(v)
        }
    }

    /// Primary composite of a pair, if any.
    static func compose(_ a: UInt32, _ b: UInt32) -> UInt32? {
        if a >= lBase && a < lBase + lCount && b >= vBase && b < vBase + vCount {
            return sBase + ((a - lBase) * vCount + (b - vBase)) * tCount
        }
        if a >= sBase && a < sBase + sCount && (a - sBase) % tCount == 0 && b > tBase && b < tBase + tCount {
            return a + (b - tBase)
        }
        return tables.composition[UInt64(a) << 32 | UInt64(b)]
    }

    /// NFC of `input` as `(scalar, change)` pairs, exactly as the alignments crate yields them.
    static func normalize(_ input: [UInt32]) -> [(UInt32, Int)] {
        // Decomposition: the first scalar of each input character's decomposition has change 0,
        // the rest +1; runs of non-starters are then stably sorted by combining class.
        var decomposed: [(UInt32, Int, UInt8)] = []
        decomposed.reserveCapacity(input.count + 4)
        var parts: [UInt32] = []
        for v in input {
            parts.removeAll(keepingCapacity: true)
            decompose(v, into: &parts)
            for (k, d) in parts.enumerated() { decomposed.append((d, k == 0 ? 0 : 1, ccc(d))) }
        }
        var i = 0
        while i < decomposed.count {
            if decomposed[i].2 == 0 { i += 1; continue }
            var j = i
            while j < decomposed.count && decomposed[j].2 != 0 { j += 1 }
            if j - i > 1 {
                let run = decomposed[i..<j].enumerated().sorted { l, r in
                    l.element.2 != r.element.2 ? l.element.2 < r.element.2 : l.offset < r.offset
                }
                for (k, e) in run.enumerated() { decomposed[i + k] = e.element }
            }
            i = j
        }
        // Recomposition (port of the crate's state machine).
        var out: [(UInt32, Int)] = []
        out.reserveCapacity(decomposed.count)
        var composee: (UInt32, Int)? = nil
        var lastCCC: UInt8? = nil
        var buffer: [(UInt32, Int)] = []
        for (ch, change, cls) in decomposed {
            guard let k = composee else {
                if cls != 0 { out.append((ch, change)); continue }
                composee = (ch, change)
                continue
            }
            if let l = lastCCC {
                if l >= cls {
                    if cls == 0 {
                        composee = (ch, change)
                        lastCCC = nil
                        out.append(k)
                        out.append(contentsOf: buffer)
                        buffer.removeAll(keepingCapacity: true)
                        continue
                    }
                    buffer.append((ch, change))
                    lastCCC = cls
                    continue
                }
                if let r = compose(k.0, ch) {
                    composee = (r, k.1 + change - 1)
                    continue
                }
                buffer.append((ch, change))
                lastCCC = cls
            } else {
                if let r = compose(k.0, ch) {
                    composee = (r, k.1 + change - 1)
                    continue
                }
                if cls == 0 {
                    composee = (ch, change)
                    out.append(k)
                    continue
                }
                buffer.append((ch, change))
                lastCCC = cls
            }
        }
        if let k = composee { out.append(k) }
        out.append(contentsOf: buffer)
        return out
    }
}
