/// A tolerant scanner over the content of one tool-call block. It finds, in every call object of
/// the block (one JSON object per line, pretty-printed objects, or several objects in a row), the
/// string value of `"name"` (the characters between the quotes → ``TokenCategory/toolName``) and
/// the whole value of `"arguments"` / `"parameters"` (braces included → ``TokenCategory/toolArgs``).
/// OpenAI-style `{"type": "function", "function": {"name": …, "arguments": …}}` is looked through.
/// Everything else in the block is ``TokenCategory/toolJSON``.
///
/// It never fails: strings honour backslash escapes, braces inside strings are ignored, and an
/// unterminated string or object simply runs to the end of the block (truncated generations).
struct ToolCallJSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let end: Int

    private static let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, colon: UInt8 = 0x3A, comma: UInt8 = 0x2C
    private static let lbrace: UInt8 = 0x7B, rbrace: UInt8 = 0x7D, lbracket: UInt8 = 0x5B, rbracket: UInt8 = 0x5D

    /// Scans `bytes[start..<end]`, adding name and argument segments to `builder` (gaps: tool JSON).
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into builder: inout SegmentBuilder) {
        let s = ToolCallJSONScanner(bytes: bytes, end: end)
        var p = start
        while p < end {
            if bytes[p] == lbrace {
                p = s.callObject(p, depth: 0, into: &builder)
            } else if bytes[p] == quote {
                p = s.stringEnd(p)  // stray text in quotes between objects: skip it whole
            } else {
                p += 1
            }
        }
        builder.fill(to: end, with: .toolJSON)
    }

    /// Parses a call object starting at `{` (index `p`); returns the index after its `}`.
    private func callObject(_ p0: Int, depth: Int, into builder: inout SegmentBuilder) -> Int {
        var p = p0 + 1
        while p < end {
            p = skipSpace(p)
            guard p < end else { return end }
            let c = bytes[p]
            if c == Self.rbrace { return p + 1 }
            if c == Self.comma { p += 1; continue }
            guard c == Self.quote else {
                // Not a key: skip one value-ish thing so we always advance.
                p = valueEnd(p)
                if p < end, bytes[p] == Self.colon || bytes[p] == Self.comma { p += 1 }
                continue
            }
            let keyStart = p + 1
            let keyStop = stringEnd(p)  // index after the closing quote (or end)
            let keyEnd = keyStop - 1
            p = skipSpace(keyStop)
            guard p < end, bytes[p] == Self.colon else { continue }
            p = skipSpace(p + 1)
            guard p < end else { return end }
            let key = KeyKind(bytes, keyStart, max(keyStart, keyEnd))
            switch key {
            case .name where bytes[p] == Self.quote:
                let (stop, closed) = string(p)
                builder.add(.toolName, p + 1, closed ? stop - 1 : stop, gap: .toolJSON)
                p = stop
            case .arguments:
                let stop = valueEnd(p)
                builder.add(.toolArgs, p, stop, gap: .toolJSON)
                p = stop
            case .function where bytes[p] == Self.lbrace && depth < 2:
                p = callObject(p, depth: depth + 1, into: &builder)
            default:
                p = valueEnd(p)
            }
        }
        return end
    }

    private enum KeyKind {
        case name, arguments, function, other
        init(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) {
            switch e - s {
            case 4 where b[s] == 0x6E && b[s + 1] == 0x61 && b[s + 2] == 0x6D && b[s + 3] == 0x65: self = .name
            case 9 where ToolCallJSONScanner.equal(b, s, "arguments"): self = .arguments
            case 10 where ToolCallJSONScanner.equal(b, s, "parameters"): self = .arguments
            case 8 where ToolCallJSONScanner.equal(b, s, "function"): self = .function
            default: self = .other
            }
        }
    }

    static func equal(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        let t = text.utf8Start
        for k in 0..<n where b[s + k] != t[k] { return false }
        return true
    }

    @inline(__always)
    private func skipSpace(_ p0: Int) -> Int {
        var p = p0
        while p < end {
            let c = bytes[p]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { p += 1 } else { break }
        }
        return p
    }

    /// Index after the string that starts with the quote at `p` (escapes honoured), or `end`.
    private func stringEnd(_ p0: Int) -> Int { string(p0).stop }

    /// Like ``stringEnd(_:)``, also telling whether the closing quote was found.
    private func string(_ p0: Int) -> (stop: Int, closed: Bool) {
        var p = p0 + 1
        while p < end {
            let c = bytes[p]
            if c == Self.backslash { p += 2; continue }
            if c == Self.quote { return (p + 1, true) }
            p += 1
        }
        return (end, false)
    }

    /// Index after the JSON value starting at `p` (tolerant: brackets matched outside strings;
    /// a scalar runs to the next `,`, `}`, `]` or newline).
    private func valueEnd(_ p0: Int) -> Int {
        guard p0 < end else { return end }
        let c = bytes[p0]
        if c == Self.quote { return stringEnd(p0) }
        if c == Self.lbrace || c == Self.lbracket {
            var depth = 0
            var p = p0
            while p < end {
                let b = bytes[p]
                if b == Self.quote { p = stringEnd(p); continue }
                if b == Self.lbrace || b == Self.lbracket { depth += 1 }
                else if b == Self.rbrace || b == Self.rbracket {
                    depth -= 1
                    if depth == 0 { return p + 1 }
                }
                p += 1
            }
            return end
        }
        var p = p0
        while p < end {
            let b = bytes[p]
            if b == Self.comma || b == Self.rbrace || b == Self.rbracket || b == 0x0A || b == 0x0D { break }
            p += 1
        }
        while p > p0 + 1, bytes[p - 1] == 0x20 || bytes[p - 1] == 0x09 { p -= 1 }  // no trailing blanks
        return p == p0 ? p0 + 1 : p
    }
}
