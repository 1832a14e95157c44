/// Gives every token of a response a ``TokenCategory`` from the response's own bytes and token
/// boundaries (the sampled tokens, never a re-tokenisation).
///
/// Rules (the "aligned" reading of ResT):
/// - `<think>` … `</think>`: tags → ``TokenCategory/thinkTag``, between → ``TokenCategory/thinkContent``.
/// - `<tool_call>` / `<toolcall>` … `</tool_call>` / `</toolcall>`: tags → ``TokenCategory/toolCallTag``;
///   the content is scanned as JSON (see `ToolCallJSONScanner`): every call's name and arguments.
/// - `<response>` … `</response>`: tags → ``TokenCategory/responseTag``, between → content.
/// - A region's end is its first closing tag, as with the non-greedy regexes of the released code.
///   A region that is never closed (truncation, a forgotten tag) ends where the next region opens,
///   at a special token (`<|im_end|>`, padding) or at the end of the response.
/// - Added tokens that are not one of the tags → ``TokenCategory/special``; all else → ``TokenCategory/outside``.
/// - A token whose bytes straddle a boundary takes the category covering most of its bytes (a tie
///   goes to the category met first in the token).
///
/// Cost: one pass over the bytes looking for `<`, one pass over the tool-call blocks, one pass over
/// the tokens; a handful of small allocations per row.
public struct RegionParser: Sendable {
    /// How rows are read.
    public var options: RegionOptions

    /// A parser with `options`.
    public init(options: RegionOptions = RegionOptions()) { self.options = options }

    // MARK: Public entry points

    /// Categorises `tokenStarts.count - 1` tokens whose bytes are `bytes[tokenStarts[i]..<tokenStarts[i+1]]`.
    /// `isAdded[i]` marks added/special tokens. Writes ``TokenCategory`` raw values into `out`.
    public func categorize(bytes: UnsafeBufferPointer<UInt8>, tokenStarts: UnsafeBufferPointer<Int>,
                           isAdded: UnsafeBufferPointer<Bool>, into out: UnsafeMutableBufferPointer<UInt8>) {
        run(bytes, tokenStarts, isAdded, out)
    }

    /// ``categorize(bytes:tokenStarts:isAdded:into:)`` with 32-bit token starts.
    public func categorize(bytes: UnsafeBufferPointer<UInt8>, tokenStarts: UnsafeBufferPointer<Int32>,
                           isAdded: UnsafeBufferPointer<Bool>, into out: UnsafeMutableBufferPointer<UInt8>) {
        run(bytes, tokenStarts, isAdded, out)
    }

    /// Convenience over arrays.
    public func categorize(bytes: [UInt8], tokenStarts: [Int], isAdded: [Bool]) -> [TokenCategory] {
        let n = max(0, tokenStarts.count - 1)
        var raw = [UInt8](repeating: 0, count: n)
        bytes.withUnsafeBufferPointer { b in
            tokenStarts.withUnsafeBufferPointer { s in
                isAdded.withUnsafeBufferPointer { a in
                    raw.withUnsafeMutableBufferPointer { o in run(b, s, a, o) }
                }
            }
        }
        return raw.map { TokenCategory(rawValue: $0) ?? .outside }
    }

    /// The byte-level segmentation (contiguous, covering every byte) before token assignment.
    public func segments(bytes: UnsafeBufferPointer<UInt8>, tokenStarts: UnsafeBufferPointer<Int>,
                         isAdded: UnsafeBufferPointer<Bool>) -> [RegionSegment] {
        segmentsImpl(bytes, tokenStarts, isAdded)
    }

    // MARK: Implementation

    private func run<T: BinaryInteger>(_ bytes: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<T>,
                                       _ isAdded: UnsafeBufferPointer<Bool>, _ out: UnsafeMutableBufferPointer<UInt8>) {
        let nTok = min(max(0, starts.count - 1), out.count)
        guard nTok > 0 else { return }
        let segs = segmentsImpl(bytes, starts, isAdded)
        TokenAssigner.assign(segs, starts, nTok, out)
        // Non-tag added tokens are special whatever region they sit in.
        var i = 0
        while i < nTok {
            if i < isAdded.count, isAdded[i] {
                let s = Int(starts[i]), e = Int(starts[i + 1])
                if TagScanner.exactTag(bytes, s, min(e, bytes.count)) == nil { out[i] = TokenCategory.special.rawValue }
            }
            i += 1
        }
    }

    private func segmentsImpl<T: BinaryInteger>(_ bytes: UnsafeBufferPointer<UInt8>, _ starts: UnsafeBufferPointer<T>,
                                                _ isAdded: UnsafeBufferPointer<Bool>) -> [RegionSegment] {
        let nTok = max(0, starts.count - 1)
        let nBytes = nTok > 0 ? min(Int(starts[nTok]), bytes.count) : 0
        // 1. Marks: text tags in runs of ordinary tokens, and the special tokens between them.
        var marks: [TagMark] = []
        marks.reserveCapacity(16)
        var runStart = 0
        var i = 0
        while i < nTok {
            if i < isAdded.count, isAdded[i] {
                let s = min(Int(starts[i]), nBytes), e = min(Int(starts[i + 1]), nBytes)
                if TagScanner.exactTag(bytes, s, e) == nil {
                    TagScanner.scan(bytes, runStart, s, into: &marks)
                    marks.append(TagMark(kind: .special, start: s, end: e))
                    runStart = e
                }
            }
            i += 1
        }
        TagScanner.scan(bytes, runStart, nBytes, into: &marks)
        // 2. Structure.
        return structure(bytes, marks, nBytes)
    }

    private func structure(_ bytes: UnsafeBufferPointer<UInt8>, _ marks: [TagMark], _ nBytes: Int) -> [RegionSegment] {
        var b = SegmentBuilder(capacity: 2 * marks.count + 8)
        var sawTag = false
        var i = 0
        let n = marks.count
        // Kinds as bit sets: no allocation per lookup.
        func bit(_ k: TagMark.Kind) -> UInt8 { 1 << k.rawValue }
        func find(_ from: Int, _ kinds: UInt8) -> Int? {
            var j = from
            while j < n { if kinds & bit(marks[j].kind) != 0 { return j }; j += 1 }
            return nil
        }
        func regionEnd(_ from: Int, close: TagMark.Kind, stops: UInt8) -> (contentEnd: Int, close: Int?, next: Int) {
            if let j = find(from, bit(close)) { return (marks[j].start, j, j + 1) }
            if let k = find(from, stops) { return (marks[k].start, nil, k) }
            return (nBytes, nil, n)
        }
        while i < n {
            let m = marks[i]
            switch m.kind {
            case .special:
                b.add(.special, m.start, m.end, gap: .outside)
                i += 1
            case .openThink:
                sawTag = true
                b.add(.thinkTag, m.start, m.end, gap: .outside)
                let r = regionEnd(i + 1, close: .closeThink, stops: bit(.openToolCall) | bit(.openResponse) | bit(.special))
                b.add(.thinkContent, m.end, r.contentEnd, gap: .thinkContent)
                if let j = r.close { b.add(.thinkTag, marks[j].start, marks[j].end, gap: .thinkContent) }
                i = r.next
            case .openToolCall:
                sawTag = true
                b.add(.toolCallTag, m.start, m.end, gap: .outside)
                let r = regionEnd(i + 1, close: .closeToolCall, stops: bit(.openThink) | bit(.openToolCall) | bit(.openResponse) | bit(.special))
                ToolCallJSONScanner.scan(bytes, m.end, r.contentEnd, into: &b)
                if let j = r.close { b.add(.toolCallTag, marks[j].start, marks[j].end, gap: .toolJSON) }
                i = r.next
            case .openResponse:
                sawTag = true
                b.add(.responseTag, m.start, m.end, gap: .outside)
                let r = regionEnd(i + 1, close: .closeResponse, stops: bit(.openThink) | bit(.openToolCall) | bit(.openResponse) | bit(.special))
                b.add(.responseContent, m.end, r.contentEnd, gap: .responseContent)
                if let j = r.close { b.add(.responseTag, marks[j].start, marks[j].end, gap: .responseContent) }
                i = r.next
            case .closeThink:
                // Unmatched: the opening tag may sit in the prompt.
                if options.thinkOpenInPrompt && !sawTag { b.fill(to: m.start, with: .thinkContent) }
                sawTag = true
                b.add(.thinkTag, m.start, m.end, gap: .outside)
                i += 1
            case .closeToolCall:
                sawTag = true
                b.add(.toolCallTag, m.start, m.end, gap: .outside)
                i += 1
            case .closeResponse:
                sawTag = true
                b.add(.responseTag, m.start, m.end, gap: .outside)
                i += 1
            }
        }
        b.fill(to: nBytes, with: .outside)
        return b.segments
    }
}

/// Maps byte segments onto tokens: each token takes the category covering most of its bytes.
enum TokenAssigner {
    static func assign<T: BinaryInteger>(_ segs: [RegionSegment], _ starts: UnsafeBufferPointer<T>, _ nTok: Int,
                                         _ out: UnsafeMutableBufferPointer<UInt8>) {
        guard !segs.isEmpty else {
            for i in 0..<nTok { out[i] = TokenCategory.outside.rawValue }
            return
        }
        var k = 0
        let ns = segs.count
        var counts = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        for i in 0..<nTok {
            let ts = Int(starts[i]), te = Int(starts[i + 1])
            while k < ns - 1 && segs[k].end <= ts { k += 1 }
            let seg = segs[k]
            if te <= seg.end || k == ns - 1 {
                out[i] = seg.category.rawValue
                continue
            }
            // Straddling token: count bytes per category over the overlapping segments.
            counts = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var order: UInt64 = 0  // categories in order of first appearance, 4 bits each
            var nOrder = 0
            var j = k
            withUnsafeMutableBytes(of: &counts) { raw in
                let c = raw.bindMemory(to: Int.self)
                while j < ns && segs[j].start < te {
                    let ov = min(te, segs[j].end) - max(ts, segs[j].start)
                    let cat = Int(segs[j].category.rawValue)
                    if ov > 0 {
                        if c[cat] == 0 && nOrder < 16 { order |= UInt64(cat) << (4 * UInt64(nOrder)); nOrder += 1 }
                        c[cat] += ov
                    }
                    j += 1
                }
                var best = Int(seg.category.rawValue), bestCount = -1
                for q in 0..<nOrder {
                    let cat = Int((order >> (4 * UInt64(q))) & 0xF)
                    if c[cat] > bestCount { best = cat; bestCount = c[cat] }
                }
                out[i] = UInt8(best)
            }
        }
    }
}
