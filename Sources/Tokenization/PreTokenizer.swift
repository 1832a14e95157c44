/// The Qwen2/Qwen3 Split pre-tokenizer, hand-written over UTF-8:
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// with the backtracking regex's leftmost-first alternation. `\s` is Unicode White_Space (the same set as
/// Oniguruma's `\s`: U+0009–000D, U+0085, Zs, Zl, Zp); `\p{L}`/`\p{N}` are general categories L*/N*.
enum QwenPreTokenizer {
    /// The pattern string as it appears in a HF `tokenizer.json`.
    static let pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    enum Class: UInt8 { case letter, number, newline, space, other }

    static let asciiClass: [Class] = (0..<128).map { b -> Class in
        switch b {
        case 0x41...0x5A, 0x61...0x7A: return .letter
        case 0x30...0x39: return .number
        case 0x0A, 0x0D: return .newline
        case 0x09, 0x0B, 0x0C, 0x20: return .space
        default: return .other
        }
    }

    /// Class of a non-ASCII scalar.
    @inline(never)
    static func classify(scalar v: UInt32) -> Class {
        guard let s = Unicode.Scalar(v) else { return .other }
        let props = s.properties
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return props.isWhitespace ? .space : .other
        }
    }

    /// Decodes the scalar at `i` (valid UTF-8 assumed) and returns it with its length.
    @inline(__always)
    static func scalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 { return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3) }
        return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
    }

    /// Class and byte length of the character at `i`.
    @inline(__always)
    static func classAt(_ p: UnsafePointer<UInt8>, _ i: Int, _ table: UnsafeBufferPointer<Class>) -> (Class, Int) {
        let b = p[i]
        if b < 0x80 { return (table[Int(b)], 1) }
        let (v, n) = scalar(p, i)
        return (classify(scalar: v), n)
    }

    /// End of the pre-token that starts at `i` (`i < end`).
    @inline(__always)
    static func next(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ table: UnsafeBufferPointer<Class>) -> Int {
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)  — 'ſ (U+017F) case-folds to 's
        if p[i] == 0x27 && i + 1 < end {
            let c = p[i + 1] | 0x20
            switch c {
            case 0x73, 0x74, 0x6D, 0x64: return i + 2 // s t m d
            case 0x72, 0x76: if i + 2 < end && p[i + 2] | 0x20 == 0x65 { return i + 3 } // re ve
            case 0x6C: if i + 2 < end && p[i + 2] | 0x20 == 0x6C { return i + 3 } // ll
            default:
                if p[i + 1] == 0xC5 && i + 2 < end && p[i + 2] == 0xBF { return i + 3 }
            }
        }
        let (c0, l0) = classAt(p, i, table)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c0 == .letter { return letterRun(p, i + l0, end, table) }
        if c0 == .space || c0 == .other {
            let j = i + l0
            if j < end {
                let (c1, l1) = classAt(p, j, table)
                if c1 == .letter { return letterRun(p, j + l1, end, table) }
            }
        }
        // \p{N}
        if c0 == .number { return i + l0 }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        if c0 == .other { return newlineRun(p, otherRun(p, i + l0, end, table), end) }
        if p[i] == 0x20 && i + 1 < end {
            let (c1, l1) = classAt(p, i + 1, table)
            if c1 == .other { return newlineRun(p, otherRun(p, i + 1 + l1, end, table), end) }
        }
        // c0 is whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
        var j = i
        var lastNewlineEnd = -1
        var lastCharStart = i
        var chars = 0
        while j < end {
            let (c, l) = classAt(p, j, table)
            if c == .newline { lastNewlineEnd = j + l } else if c != .space { break }
            lastCharStart = j
            chars += 1
            j += l
        }
        if lastNewlineEnd >= 0 { return lastNewlineEnd }
        if j == end || chars < 2 { return j }
        return lastCharStart
    }

    @inline(__always)
    static func letterRun(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ table: UnsafeBufferPointer<Class>) -> Int {
        var j = start
        while j < end {
            let (c, l) = classAt(p, j, table)
            if c != .letter { break }
            j += l
        }
        return j
    }

    @inline(__always)
    static func otherRun(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ table: UnsafeBufferPointer<Class>) -> Int {
        var j = start
        while j < end {
            let (c, l) = classAt(p, j, table)
            if c != .other { break }
            j += l
        }
        return j
    }

    @inline(__always)
    static func newlineRun(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var j = start
        while j < end && (p[j] == 0x0A || p[j] == 0x0D) { j += 1 }
        return j
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
