/// Output and scratch space of one encode call.
struct EncodeState {
    var ids: [Int32] = []
    var starts: [Int] = []
    var ends: [Int] = []
    var scratch = BPEScratch()
    var scalars: [UInt32] = []
    var scalarStarts: [Int] = []
    var scalarEnds: [Int] = []
    var normBytes: [UInt8] = []
    var alignStarts: [Int] = []
    var alignEnds: [Int] = []
}

/// Where the bytes being tokenised sit: either the original text (identity alignment) or an
/// NFC-normalised copy with the original byte range of every normalised byte.
struct Alignment {
    let identity: Bool
    /// Identity: the original text and its length (for character-boundary expansion).
    let text: UnsafePointer<UInt8>
    let textCount: Int
    let starts: UnsafePointer<Int>?
    let ends: UnsafePointer<Int>?

    /// Original byte range of the normalised byte range `a ..< b` (`a < b`).
    @inline(__always)
    func original(_ a: Int, _ b: Int) -> (Int, Int) {
        if identity {
            var s = a
            while s > 0 && text[s] & 0xC0 == 0x80 { s -= 1 }
            var e = b
            while e < textCount && text[e] & 0xC0 == 0x80 { e += 1 }
            return (s, e)
        }
        return (starts![a], ends![b - 1])
    }
}

extension Tokenizer {
    /// Encodes text exactly as HF `tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)`.
    public func encode(_ text: String) -> Encoding {
        var text = text
        return text.withUTF8 { encodeUTF8($0, wantOffsets: true) }
    }

    /// Only the ids of `encode` (skips the offset conversion).
    public func encodeIDs(_ text: String) -> [Int32] {
        var text = text
        return text.withUTF8 { encodeUTF8($0, wantOffsets: false).ids }
    }

    func encodeUTF8(_ buf: UnsafeBufferPointer<UInt8>, wantOffsets: Bool) -> Encoding {
        var st = EncodeState()
        let n = buf.count
        st.ids.reserveCapacity(n / 3 + 4)
        st.starts.reserveCapacity(n / 3 + 4)
        st.ends.reserveCapacity(n / 3 + 4)
        guard let p = buf.baseAddress, n > 0 else { return Encoding(ids: [], offsets: [], byteOffsets: []) }
        var pos = 0
        while let (ms, me, id) = rawMatcher.nextMatch(p, from: pos, end: n) {
            if ms > pos { encodeSegment(p, n, pos, ms, &st) }
            st.ids.append(id); st.starts.append(ms); st.ends.append(me)
            pos = me
        }
        if pos < n { encodeSegment(p, n, pos, n, &st) }
        if !wantOffsets { return Encoding(ids: st.ids, offsets: [], byteOffsets: []) }

        var byteOffsets: [Range<Int>] = []
        byteOffsets.reserveCapacity(st.ids.count)
        for k in 0..<st.ids.count { byteOffsets.append(st.starts[k] ..< max(st.starts[k], st.ends[k])) }
        var ascii = true
        for i in 0..<n where p[i] >= 0x80 { ascii = false; break }
        if ascii { return Encoding(ids: st.ids, offsets: byteOffsets, byteOffsets: byteOffsets) }
        // Code point index of every byte position (continuation bytes share their character's index).
        var cp = [Int](repeating: 0, count: n + 1)
        var count = 0
        for i in 0..<n {
            if p[i] & 0xC0 != 0x80 { count += 1 }
            cp[i] = count - 1
        }
        cp[n] = count
        let offsets = byteOffsets.map { r -> Range<Int> in
            let s = r.lowerBound >= n ? count : cp[r.lowerBound]
            let e = r.upperBound >= n ? count : (r.upperBound == r.lowerBound ? s : cp[r.upperBound - 1] + 1)
            return s ..< max(s, e)
        }
        return Encoding(ids: st.ids, offsets: offsets, byteOffsets: byteOffsets)
    }

    /// One stretch of text between raw added tokens: normalise if needed, then tokenise.
    func encodeSegment(_ p: UnsafePointer<UInt8>, _ n: Int, _ s: Int, _ e: Int, _ st: inout EncodeState) {
        if nfc && segmentNeedsNFC(p, s, e) {
            encodeNFCSegment(p, n, s, e, &st)
        } else {
            let align = Alignment(identity: true, text: p, textCount: n, starts: nil, ends: nil)
            encodeNormalized(p, s, e, align, &st)
        }
    }

    @inline(__always)
    func segmentNeedsNFC(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var i = s
        while i < e {
            let b = p[i]
            if b < 0xCC { i += 1; continue }
            let (v, l) = QwenPreTokenizer.scalar(p, i)
            i += l
            if (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0xAC00 && v <= 0xD7A3) || (v >= 0x3400 && v <= 0x4DBF) { continue }
            if NFC.isInteresting(v) { return true }
        }
        return false
    }

    /// NFC-normalises `p[s..<e]` into the state's buffers with HF's alignments, then tokenises it.
    func encodeNFCSegment(_ p: UnsafePointer<UInt8>, _ n: Int, _ s: Int, _ e: Int, _ st: inout EncodeState) {
        st.scalars.removeAll(keepingCapacity: true)
        st.scalarStarts.removeAll(keepingCapacity: true)
        st.scalarEnds.removeAll(keepingCapacity: true)
        var i = s
        while i < e {
            let (v, l) = QwenPreTokenizer.scalar(p, i)
            st.scalars.append(v); st.scalarStarts.append(i); st.scalarEnds.append(i + l)
            i += l
        }
        let normalized = NFC.normalize(st.scalars)
        st.normBytes.removeAll(keepingCapacity: true)
        st.alignStarts.removeAll(keepingCapacity: true)
        st.alignEnds.removeAll(keepingCapacity: true)
        var cursor = 0 // next input character to consume
        let inputCount = st.scalars.count
        for (v, change) in normalized {
            var a = s, b = s
            if change > 0 {
                if cursor > 0 { a = st.scalarStarts[cursor - 1]; b = st.scalarEnds[cursor - 1] }
            } else {
                let k = min(cursor, inputCount - 1)
                a = st.scalarStarts[k]; b = st.scalarEnds[k]
                cursor += 1 + (change < 0 ? -change : 0)
            }
            var utf8: [UInt8] = []
            appendUTF8(v, &utf8)
            for x in utf8 { st.normBytes.append(x); st.alignStarts.append(a); st.alignEnds.append(b) }
        }
        let normBytes = st.normBytes, starts = st.alignStarts, ends = st.alignEnds
        normBytes.withUnsafeBufferPointer { nb in
            starts.withUnsafeBufferPointer { sb in
                ends.withUnsafeBufferPointer { eb in
                    let align = Alignment(identity: false, text: p, textCount: n, starts: sb.baseAddress, ends: eb.baseAddress)
                    encodeNormalized(nb.baseAddress!, 0, nb.count, align, &st)
                }
            }
        }
    }

    /// Splits off `normalized: true` added tokens, then pre-tokenises and runs BPE.
    func encodeNormalized(_ q: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ align: Alignment, _ st: inout EncodeState) {
        if normalizedMatcher.isEmpty { encodeWords(q, s, e, align, &st); return }
        var pos = s
        while let (ms, me, id) = normalizedMatcher.nextMatch(q, from: pos, end: e) {
            if ms > pos { encodeWords(q, pos, ms, align, &st) }
            let (a, b) = align.original(ms, me)
            st.ids.append(id); st.starts.append(a); st.ends.append(b)
            pos = me
        }
        if pos < e { encodeWords(q, pos, e, align, &st) }
    }

    /// Pre-tokenises `q[s..<e]` and byte-pair-encodes every piece.
    func encodeWords(_ q: UnsafePointer<UInt8>, _ s: Int, _ e: Int, _ align: Alignment, _ st: inout EncodeState) {
        QwenPreTokenizer.asciiClass.withUnsafeBufferPointer { table in
            byteIDs.withUnsafeBufferPointer { byteIDs in
                pairs.withLookup { lookup in
                    var i = s
                    while i < e {
                        let j = QwenPreTokenizer.next(q, i, e, table)
                        if ignoreMerges {
                            let id = store.lookup(q + i, j - i)
                            if id >= 0 {
                                let (a, b) = align.original(i, j)
                                st.ids.append(id); st.starts.append(a); st.ends.append(b)
                                i = j
                                continue
                            }
                        }
                        let before = st.ids.count
                        BPE.encode(q + i, j - i, byteIDs: byteIDs, pairs: lookup, scratch: &st.scratch, out: &st.ids)
                        var t = i
                        for k in before..<st.ids.count {
                            let len = store.tokenLength(st.ids[k])
                            let (a, b) = align.original(t, t + len)
                            st.starts.append(a); st.ends.append(b)
                            t += len
                        }
                        i = j
                    }
                }
            }
        }
    }

    /// Runs BPE on raw bytes with no pre-tokenisation and no whole-piece lookup (diagnostics, tests).
    public func bytePairEncode(_ bytes: [UInt8], algorithm: BPEAlgorithm = .automatic) -> [Int32] {
        guard !bytes.isEmpty else { return [] }
        var out: [Int32] = []
        var scratch = BPEScratch()
        bytes.withUnsafeBufferPointer { b in
            byteIDs.withUnsafeBufferPointer { byteIDs in
                pairs.withLookup { lookup in
                    BPE.encode(b.baseAddress!, b.count, byteIDs: byteIDs, pairs: lookup, scratch: &scratch, out: &out,
                               forceHeap: algorithm == .heap)
                }
            }
        }
        return out
    }
}

@inline(__always)
func appendUTF8(_ v: UInt32, _ out: inout [UInt8]) {
    if v < 0x80 { out.append(UInt8(v)) }
    else if v < 0x800 { out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F)) }
    else if v < 0x10000 {
        out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
    } else {
        out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | (v >> 12) & 0x3F))
        out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
    }
}

/// The Qwen Split pre-tokenizer on its own (no normalisation, no added tokens), for tests and inspection.
public enum PreTokenizer {
    /// The pieces HF's Split(Isolated) with the Qwen regex cuts `text` into.
    public static func split(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { buf -> [String] in
            guard let p = buf.baseAddress else { return [] }
            var out: [String] = []
            QwenPreTokenizer.asciiClass.withUnsafeBufferPointer { table in
                var i = 0
                while i < buf.count {
                    let j = QwenPreTokenizer.next(p, i, buf.count, table)
                    out.append(String(decoding: UnsafeBufferPointer(rebasing: buf[i..<j]), as: UTF8.self))
                    i = j
                }
            }
            return out
        }
    }
}
