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
        return text.withUTF8 { buf -> Encoding in
            let st = encodeUTF8(buf)
            var byteOffsets: [Range<Int>] = []
            byteOffsets.reserveCapacity(st.ids.count)
            for k in 0..<st.ids.count { byteOffsets.append(st.starts[k] ..< max(st.starts[k], st.ends[k])) }
            guard let p = buf.baseAddress, !isASCII(buf) else {
                return Encoding(ids: st.ids, offsets: byteOffsets, byteOffsets: byteOffsets)
            }
            var starts = CodePointCursor(p, buf.count), ends = CodePointCursor(p, buf.count)
            let offsets = byteOffsets.map { r -> Range<Int> in
                let s = starts.index(atByte: r.lowerBound)
                return s ..< max(s, ends.index(atByte: r.upperBound))
            }
            return Encoding(ids: st.ids, offsets: offsets, byteOffsets: byteOffsets)
        }
    }

    /// Only the ids of `encode` (skips the offset conversion).
    public func encodeIDs(_ text: String) -> [Int32] {
        var text = text
        return text.withUTF8 { encodeUTF8($0).ids }
    }

    /// The ids and code point offsets of `encode` as flat arrays (token `i` covers characters
    /// `starts[i] ..< ends[i]`), without building ranges or byte offsets: the cheapest form for the
    /// `released` profile, which re-tokenises every decoded rollout.
    public func encodeCodePointOffsets(_ text: String) -> (ids: [Int32], starts: [Int32], ends: [Int32]) {
        var text = text
        return text.withUTF8 { buf in
            let st = encodeUTF8(buf)
            var starts = [Int32](repeating: 0, count: st.ids.count), ends = starts
            if let p = buf.baseAddress, !isASCII(buf) {
                var sc = CodePointCursor(p, buf.count), ec = CodePointCursor(p, buf.count)
                for k in 0..<st.ids.count {
                    let s = sc.index(atByte: st.starts[k])
                    starts[k] = Int32(s)
                    ends[k] = Int32(max(s, ec.index(atByte: st.ends[k])))
                }
            } else {
                for k in 0..<st.ids.count {
                    starts[k] = Int32(st.starts[k])
                    ends[k] = Int32(max(st.starts[k], st.ends[k]))
                }
            }
            return (st.ids, starts, ends)
        }
    }

    @inline(__always)
    func isASCII(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = buf.count
        guard let p = buf.baseAddress else { return true }
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n { if p[i] >= 0x80 { return false }; i += 1 }
        return true
    }

    /// Tokenises the whole text: ids plus the original byte range of each.
    func encodeUTF8(_ buf: UnsafeBufferPointer<UInt8>) -> EncodeState {
        var st = EncodeState()
        let n = buf.count
        st.ids.reserveCapacity(n / 3 + 4)
        st.starts.reserveCapacity(n / 3 + 4)
        st.ends.reserveCapacity(n / 3 + 4)
        guard let p = buf.baseAddress, n > 0 else { return st }
        var pos = 0
        while let (ms, me, id) = rawMatcher.nextMatch(p, from: pos, end: n) {
            if ms > pos { encodeSegment(p, n, pos, ms, &st) }
            st.ids.append(id); st.starts.append(ms); st.ends.append(me)
            pos = me
        }
        if pos < n { encodeSegment(p, n, pos, n, &st) }
        return st
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

/// Converts character-boundary byte positions of a UTF-8 text to code point indices, moving forward
/// (the positions asked for are almost always non-decreasing; a step back rescans from the start).
struct CodePointCursor {
    let p: UnsafePointer<UInt8>
    let n: Int
    var byte = 0
    var index = 0

    init(_ p: UnsafePointer<UInt8>, _ n: Int) { self.p = p; self.n = n }

    /// Number of characters that start before byte `b` (the index of the character starting at `b`).
    @inline(__always)
    mutating func index(atByte b: Int) -> Int {
        let target = min(max(b, 0), n)
        if target < byte { byte = 0; index = 0 }
        while byte < target {
            if p[byte] & 0xC0 != 0x80 { index += 1 }
            byte += 1
        }
        return index
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
