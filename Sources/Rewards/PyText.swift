/// Python `str` operations the reference applies, on UTF-8 bytes.
///
/// Every separator the reward uses is ASCII, and UTF-8 is self-synchronising, so byte search gives
/// the same splits as Python's code-point search, and byte offsets order like Python's `find`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias Bytes = ArraySlice<UInt8>

enum PyText {
    /// First index of `needle` in `hay` at or after `from`, or nil.
    static func find(_ hay: Bytes, _ needle: [UInt8], from: Int? = nil) -> Int? {
        let start = from ?? hay.startIndex
        guard !needle.isEmpty else { return start }
        guard start <= hay.endIndex - needle.count else { return nil }
        let hit: Int? = hay.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { nd in firstMatch(h, nd, from: start - hay.startIndex) }
        }
        return hit.map { hay.startIndex + $0 }
    }

    /// Offset of the first `nd` in `h` at or after `from` (memchr for the first byte, then memcmp:
    /// the separators are short tags).
    private static func firstMatch(_ h: UnsafeBufferPointer<UInt8>, _ nd: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        let n = nd.count
        guard let base = h.baseAddress, let np = nd.baseAddress, h.count >= n else { return nil }
        let first = Int32(np[0])
        var i = from
        let last = h.count - n
        while i <= last {
            guard let q = memchr(base + i, first, last - i + 1) else { return nil }
            let j = UnsafeRawPointer(q) - UnsafeRawPointer(base)
            if n == 1 || memcmp(base + j + 1, np + 1, n - 1) == 0 { return j }
            i = j + 1
        }
        return nil
    }

    /// Last index of `needle` in `hay`, or nil.
    static func findLast(_ hay: Bytes, _ needle: [UInt8]) -> Int? {
        guard !needle.isEmpty else { return hay.endIndex }
        guard hay.count >= needle.count else { return nil }
        let hit: Int? = hay.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { nd in lastMatch(h, nd) }
        }
        return hit.map { hay.startIndex + $0 }
    }

    private static func lastMatch(_ h: UnsafeBufferPointer<UInt8>, _ nd: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = h.baseAddress, let np = nd.baseAddress else { return nil }
        var i = h.count - nd.count
        while i >= 0 {
            if base[i] == np[0] && memcmp(base + i, np, nd.count) == 0 { return i }
            i -= 1
        }
        return nil
    }

    /// `needle in hay`.
    static func contains(_ hay: Bytes, _ needle: [UInt8]) -> Bool { find(hay, needle) != nil }

    /// `hay.count(needle)`: non-overlapping occurrences.
    static func count(_ hay: Bytes, _ needle: [UInt8]) -> Int {
        var c = 0
        var i = hay.startIndex
        while let j = find(hay, needle, from: i) { c += 1; i = j + needle.count }
        return c
    }

    /// `hay.split(sep)[-1]`.
    static func afterLast(_ hay: Bytes, _ sep: [UInt8]) -> Bytes {
        guard let i = findLast(hay, sep) else { return hay }
        return hay[(i + sep.count)...]
    }

    /// `hay.split(sep)[0]`.
    static func beforeFirst(_ hay: Bytes, _ sep: [UInt8]) -> Bytes {
        guard let i = find(hay, sep) else { return hay }
        return hay[..<i]
    }

    /// `hay.split(sep)[1]` (the text between the first and second `sep`); nil when `sep` is absent.
    static func secondField(_ hay: Bytes, _ sep: [UInt8]) -> Bytes? {
        guard let i = find(hay, sep) else { return nil }
        let rest = hay[(i + sep.count)...]
        return beforeFirst(rest, sep)
    }

    /// `hay.split(sep)` for a non-empty separator.
    static func split(_ hay: Bytes, _ sep: UInt8) -> [Bytes] {
        var out: [Bytes] = []
        var start = hay.startIndex
        var i = start
        while i < hay.endIndex {
            if hay[i] == sep { out.append(hay[start..<i]); start = i + 1 }
            i += 1
        }
        out.append(hay[start..<hay.endIndex])
        return out
    }

    static func hasPrefix(_ hay: Bytes, _ p: [UInt8]) -> Bool {
        hay.count >= p.count && hay.prefix(p.count).elementsEqual(p)
    }

    static func hasSuffix(_ hay: Bytes, _ s: [UInt8]) -> Bool {
        hay.count >= s.count && hay.suffix(s.count).elementsEqual(s)
    }

    /// Python `str.isspace()` for one code point.
    @inline(__always) static func isSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Decodes the scalar starting at `i` (valid UTF-8 assumed); returns it and its length.
    @inline(__always) static func scalar(_ b: Bytes, at i: Int) -> (UInt32, Int) {
        let b0 = b[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        if b0 < 0xE0, i + 1 < b.endIndex { return ((UInt32(b0 & 0x1F) << 6) | UInt32(b[i + 1] & 0x3F), 2) }
        if b0 < 0xF0, i + 2 < b.endIndex {
            return ((UInt32(b0 & 0x0F) << 12) | (UInt32(b[i + 1] & 0x3F) << 6) | UInt32(b[i + 2] & 0x3F), 3)
        }
        if i + 3 < b.endIndex {
            return ((UInt32(b0 & 0x07) << 18) | (UInt32(b[i + 1] & 0x3F) << 12) | (UInt32(b[i + 2] & 0x3F) << 6)
                    | UInt32(b[i + 3] & 0x3F), 4)
        }
        return (0xFFFD, 1)
    }

    /// Python `str.strip()` (Unicode whitespace).
    static func strip(_ b: Bytes) -> Bytes {
        var lo = b.startIndex
        while lo < b.endIndex {
            let (c, n) = scalar(b, at: lo)
            guard isSpace(c) else { break }
            lo += n
        }
        var hi = b.endIndex
        while hi > lo {
            var s = hi - 1
            while s > lo, b[s] & 0xC0 == 0x80 { s -= 1 }
            let (c, _) = scalar(b, at: s)
            guard isSpace(c) else { break }
            hi = s
        }
        return b[lo..<hi]
    }

    /// `len(s.split())`: the number of maximal runs of non-whitespace.
    static func wordCount(_ b: Bytes) -> Int {
        var words = 0
        var inWord = false
        var i = b.startIndex
        while i < b.endIndex {
            let (c, n) = scalar(b, at: i)
            if isSpace(c) { inWord = false } else if !inWord { inWord = true; words += 1 }
            i += n
        }
        return words
    }

    /// Python `len(s)`: code points.
    static func length(_ s: String) -> Int { s.unicodeScalars.count }
}

extension Array where Element == UInt8 {
    /// UTF-8 bytes of a literal.
    init(literal s: StaticString) { self = Array(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
}
