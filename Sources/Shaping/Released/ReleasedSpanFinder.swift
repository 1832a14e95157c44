/// The character spans the released `build_token_weight` weights, found the way its regexes find
/// them, on the decoded text as Unicode code points (Python `str` indices). Spans come out in the
/// order the released code processes them (which decides which error is raised first):
/// 1. `<think>(.*?)</think>` (re.S): opening tag, closing tag of every match; then every content;
/// 2. `<response>(.*?)</response>`: opening and closing tags;
/// 3. `<tool_call>(.*?)</tool_call>`: opening and closing tags (the `<toolcall>` spelling gets none, W5);
/// 4. `(?:<tool_call>|<toolcall>)(.*?)(?:</tool_call>|</toolcall>)`: per block, the first
///    `"name"\s*:\s*"([^"]+)"` (group 1, anywhere in the block, W3/W4) and the braced object found by
///    `block.find('{', end of the first "(?:arguments|parameters)"\s*:\s*)` with the released
///    string-aware brace matcher (no span when unbalanced).
enum ReleasedSpanFinder {
    /// What a span gets: its γ comes from this category.
    struct Span: Equatable {
        var lo: Int
        var hi: Int
        var category: UInt8
    }

    static func find(_ t: UnsafeBufferPointer<UInt32>, into spans: inout [Span]) {
        let think = Tag(open: "<think>", close: "</think>")
        var contents: [(Int, Int)] = []
        forEachMatch(t, opens: [think.open], closes: [think.close]) { mLo, cLo, cHi, mHi in
            tagSpans(t, mLo, mHi, category: .thinkTag, into: &spans)
            contents.append((cLo, cHi))
        }
        for (lo, hi) in contents { spans.append(Span(lo: lo, hi: hi, category: Cat.thinkContent)) }
        forEachMatch(t, opens: [Tag.u("<response>")], closes: [Tag.u("</response>")]) { mLo, _, _, mHi in
            tagSpans(t, mLo, mHi, category: .responseTag, into: &spans)
        }
        forEachMatch(t, opens: [Tag.u("<tool_call>")], closes: [Tag.u("</tool_call>")]) { mLo, _, _, mHi in
            tagSpans(t, mLo, mHi, category: .toolCallTag, into: &spans)
        }
        forEachMatch(t, opens: [Tag.u("<tool_call>"), Tag.u("<toolcall>")],
                     closes: [Tag.u("</tool_call>"), Tag.u("</toolcall>")]) { _, bLo, bHi, _ in
            if let (lo, hi) = nameSpan(t, bLo, bHi) { spans.append(Span(lo: lo, hi: hi, category: Cat.toolName)) }
            if let (lo, hi) = argsSpan(t, bLo, bHi) { spans.append(Span(lo: lo, hi: hi, category: Cat.toolArgs)) }
        }
    }

    private enum Cat {
        static let thinkContent: UInt8 = 2, toolName: UInt8 = 4, toolArgs: UInt8 = 5
    }
    private enum TagCat: UInt8 { case thinkTag = 1, toolCallTag = 3, responseTag = 7 }

    private struct Tag {
        let open: [UInt32], close: [UInt32]
        init(open: String, close: String) { self.open = Tag.u(open); self.close = Tag.u(close) }
        static func u(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
    }

    /// `_assign_tag_weights`: the opening tag is `[m.start, m.start + match.find('>') + 1)`, the closing
    /// one `[m.start + match.rfind('<'), m.end)`.
    private static func tagSpans(_ t: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, category: TagCat, into spans: inout [Span]) {
        var gt = lo
        while gt < hi && t[gt] != 0x3E { gt += 1 }
        spans.append(Span(lo: lo, hi: gt + 1, category: category.rawValue))
        var lt = hi - 1
        while lt > lo && t[lt] != 0x3C { lt -= 1 }
        spans.append(Span(lo: lt, hi: hi, category: category.rawValue))
    }

    /// `re.finditer(open(.*?)close, flags=re.S)` with alternative spellings: calls `body(matchLo,
    /// groupLo, groupHi, matchHi)` for each non-overlapping match, left to right.
    private static func forEachMatch(_ t: UnsafeBufferPointer<UInt32>, opens: [[UInt32]], closes: [[UInt32]],
                                     _ body: (Int, Int, Int, Int) -> Void) {
        var p = 0
        let n = t.count
        while p < n {
            guard let (oLo, oLen) = firstOccurrence(t, from: p, of: opens) else { return }
            guard let (cLo, cLen) = firstOccurrence(t, from: oLo + oLen, of: closes) else { return }
            body(oLo, oLo + oLen, cLo, cLo + cLen)
            p = cLo + cLen
        }
    }

    private static func firstOccurrence(_ t: UnsafeBufferPointer<UInt32>, from: Int, of needles: [[UInt32]]) -> (Int, Int)? {
        var i = from
        let n = t.count
        while i < n {
            if t[i] == 0x3C {
                for nd in needles where has(t, i, nd, limit: n) { return (i, nd.count) }
            }
            i += 1
        }
        return nil
    }

    @inline(__always)
    private static func has(_ t: UnsafeBufferPointer<UInt32>, _ at: Int, _ needle: [UInt32], limit: Int) -> Bool {
        guard at + needle.count <= limit else { return false }
        for k in 0..<needle.count where t[at + k] != needle[k] { return false }
        return true
    }

    private static let nameKey = Tag.u("\"name\"")
    private static let argKeys = [Tag.u("\"arguments\""), Tag.u("\"parameters\"")]

    /// `re.search(r'"name"\s*:\s*"([^"]+)"', block)` → group 1 in text coordinates.
    static func nameSpan(_ t: UnsafeBufferPointer<UInt32>, _ bLo: Int, _ bHi: Int) -> (Int, Int)? {
        var q = bLo
        while q < bHi {
            if t[q] == 0x22, has(t, q, nameKey, limit: bHi) {
                var p = skipSpace(t, q + nameKey.count, bHi)
                if p < bHi, t[p] == 0x3A {
                    p = skipSpace(t, p + 1, bHi)
                    if p < bHi, t[p] == 0x22 {
                        let vLo = p + 1
                        var e = vLo
                        while e < bHi && t[e] != 0x22 { e += 1 }
                        if e < bHi && e > vLo { return (vLo, e) }
                    }
                }
            }
            q += 1
        }
        return nil
    }

    /// `re.search(r'"(?:arguments|parameters)"\s*:\s*', block)`, then `block.find('{', km.end())`,
    /// then `_find_braced_span` (string-aware, escapes honoured); nil when any step fails.
    static func argsSpan(_ t: UnsafeBufferPointer<UInt32>, _ bLo: Int, _ bHi: Int) -> (Int, Int)? {
        var q = bLo
        var kmEnd = -1
        search: while q < bHi {
            if t[q] == 0x22 {
                for key in argKeys where has(t, q, key, limit: bHi) {
                    let p = skipSpace(t, q + key.count, bHi)
                    if p < bHi, t[p] == 0x3A {
                        kmEnd = skipSpace(t, p + 1, bHi)
                        break search
                    }
                }
            }
            q += 1
        }
        guard kmEnd >= 0 else { return nil }
        var brace = kmEnd
        while brace < bHi && t[brace] != 0x7B { brace += 1 }
        guard brace < bHi else { return nil }
        var depth = 0, inStr = false, esc = false
        var i = brace
        while i < bHi {
            let ch = t[i]
            if inStr {
                if esc { esc = false } else if ch == 0x5C { esc = true } else if ch == 0x22 { inStr = false }
            } else if ch == 0x22 {
                inStr = true
            } else if ch == 0x7B {
                depth += 1
            } else if ch == 0x7D {
                depth -= 1
                if depth == 0 { return (brace, i + 1) }
            }
            i += 1
        }
        return nil
    }

    private static func skipSpace(_ t: UnsafeBufferPointer<UInt32>, _ p0: Int, _ hi: Int) -> Int {
        var p = p0
        while p < hi && isPythonSpace(t[p]) { p += 1 }
        return p
    }

    /// Python 3 `str.isspace()` / `re` `\s` for str patterns.
    @inline(__always)
    static func isPythonSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}
