/// A UTF-8 byte parser with Python `json.loads` semantics (the C scanner, `strict=True`).
///
/// Differences that Swift forces: a lone UTF-16 surrogate from a `\uD800`-style escape (legal in a
/// Python `str`) cannot live in a Swift `String`, so it becomes U+FFFD. Input given as bytes must be
/// valid UTF-8 (Python raises `UnicodeDecodeError`; here it is a `JSONError`).
struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    var depth = 0
    /// Python raises `RecursionError` on deep nesting; we stop before the stack is at risk.
    static let maxDepth = 1000
    /// CPython 3.11+ refuses int strings longer than this (`sys.get_int_max_str_digits()`).
    static let maxIntDigits = 4300
    var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ message: String, _ at: Int) -> JSONError { JSONError.at(message, at, in: bytes) }

    @inline(__always) mutating func skipWhitespace() {
        while pos < bytes.count {
            let b = bytes[pos]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { pos += 1 } else { break }
        }
    }

    /// `json.loads`: whitespace, one value, whitespace, end.
    mutating func parseDocument() throws(JSONError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0)
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if pos != bytes.count { throw fail("Extra data", pos) }
        return value
    }

    @inline(__always) func matches(_ literal: StaticString, at p: Int) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard p + n <= bytes.count else { return false }
        let lit = literal.utf8Start
        for i in 0..<n where bytes[p + i] != lit[i] { return false }
        return true
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard pos < bytes.count else { throw fail("Expecting value", pos) }
        switch bytes[pos] {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "n") where matches("null", at: pos):
            pos += 4; return .null
        case UInt8(ascii: "t") where matches("true", at: pos):
            pos += 4; return .bool(true)
        case UInt8(ascii: "f") where matches("false", at: pos):
            pos += 5; return .bool(false)
        case UInt8(ascii: "N") where matches("NaN", at: pos):
            pos += 3; return .double(.nan)
        case UInt8(ascii: "I") where matches("Infinity", at: pos):
            pos += 8; return .double(.infinity)
        case UInt8(ascii: "-") where matches("-Infinity", at: pos):
            pos += 9; return .double(-.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw fail("Expecting value", pos)
        }
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Python's number grammar: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`; an incomplete fraction or
    /// exponent is not consumed (it then fails as "Extra data", as in Python).
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = pos
        var p = pos
        if bytes[p] == UInt8(ascii: "-") { p += 1 }
        guard p < bytes.count, Self.isDigit(bytes[p]) else { throw fail("Expecting value", start) }
        if bytes[p] == UInt8(ascii: "0") {
            p += 1
        } else {
            while p < bytes.count, Self.isDigit(bytes[p]) { p += 1 }
        }
        let intEnd = p
        var isFloat = false
        if p + 1 < bytes.count, bytes[p] == UInt8(ascii: "."), Self.isDigit(bytes[p + 1]) {
            p += 2
            while p < bytes.count, Self.isDigit(bytes[p]) { p += 1 }
            isFloat = true
        }
        if p < bytes.count, bytes[p] | 0x20 == UInt8(ascii: "e") {
            var q = p + 1
            if q < bytes.count, bytes[q] == UInt8(ascii: "+") || bytes[q] == UInt8(ascii: "-") { q += 1 }
            if q < bytes.count, Self.isDigit(bytes[q]) {
                while q < bytes.count, Self.isDigit(bytes[q]) { q += 1 }
                p = q
                isFloat = true
            }
        }
        pos = p
        let text = UnsafeBufferPointer(rebasing: bytes[start..<p])
        if isFloat {
            if let d = fastDouble(start: start, intEnd: intEnd, end: p) { return .double(d) }
            // Swift's Double(_: Substring) is correctly rounded (as Python's float()); overflow gives ±inf.
            guard let d = Self.slowDouble(text) else { throw fail("Expecting value", start) }
            return .double(d)
        }
        // Fast path: up to 18 digits always fit in Int.
        let negative = bytes[start] == UInt8(ascii: "-")
        let digitsStart = negative ? start + 1 : start
        let nDigits = intEnd - digitsStart
        if nDigits <= 18 {
            var v = 0
            for i in digitsStart..<intEnd { v = v &* 10 &+ Int(bytes[i] &- 0x30) }
            return .int(negative ? -v : v)
        }
        if nDigits > Self.maxIntDigits {
            throw fail("Exceeds the limit (\(Self.maxIntDigits) digits) for integer string conversion", start)
        }
        let s = String(decoding: text, as: UTF8.self)
        if let v = Int(s) { return .int(v) }
        return .bigInt(s)
    }

    static let exactPowersOf10: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    /// Clinger's fast path: when the decimal significand is below 2^53 and the power of ten is
    /// exact (|e| ≤ 22), one IEEE multiply or divide of two exact values is the correctly rounded
    /// result. Returns nil when the slow (string) path is needed.
    func fastDouble(start: Int, intEnd: Int, end: Int) -> Double? {
        var p = start
        let negative = bytes[p] == UInt8(ascii: "-")
        if negative { p += 1 }
        var mant: UInt64 = 0
        var digits = 0
        var fracDigits = 0
        while p < intEnd { mant = mant &* 10 &+ UInt64(bytes[p] &- 0x30); digits += 1; p += 1 }
        if p < end, bytes[p] == UInt8(ascii: ".") {
            p += 1
            while p < end, Self.isDigit(bytes[p]) {
                mant = mant &* 10 &+ UInt64(bytes[p] &- 0x30); digits += 1; fracDigits += 1; p += 1
            }
        }
        guard digits <= 19 else { return nil }
        var exp = 0
        if p < end {  // exponent part: [eE][+-]?digits
            p += 1
            var expNegative = false
            if bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-") { expNegative = bytes[p] == UInt8(ascii: "-"); p += 1 }
            guard end - p <= 4 else { return nil }
            while p < end { exp = exp * 10 + Int(bytes[p] &- 0x30); p += 1 }
            if expNegative { exp = -exp }
        }
        let e10 = exp - fracDigits
        if mant == 0 { return negative ? -0.0 : 0.0 }
        guard mant <= 1 << 53, e10 >= -22, e10 <= 22 else { return nil }
        let m = Double(mant)
        let d = e10 < 0 ? m / Self.exactPowersOf10[-e10] : m * Self.exactPowersOf10[e10]
        return negative ? -d : d
    }

    /// Correctly rounded conversion of a JSON float literal (the grammar was already checked).
    static func slowDouble(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        // Small literals go through a stack buffer: no heap String.
        if text.count < 64 {
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buf -> Double? in
                _ = buf.initialize(from: text)
                let s = Substring(decoding: UnsafeBufferPointer(rebasing: buf[..<text.count]), as: UTF8.self)
                return Double(s)
            }
        }
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// A string starting at the opening quote. Strict: raw control characters are errors.
    mutating func parseString() throws(JSONError) -> String {
        let begin = pos          // the opening quote, for "Unterminated string starting at"
        pos += 1
        let contentStart = pos
        // Fast scan: no escapes, no control characters.
        var p = pos
        while p < bytes.count {
            let b = bytes[p]
            if b == UInt8(ascii: "\"") {
                pos = p + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[contentStart..<p]), as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            p += 1
        }
        if p >= bytes.count { throw fail("Unterminated string starting at", begin) }
        // Slow path with escapes.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[contentStart..<p]))
        while true {
            guard p < bytes.count else { throw fail("Unterminated string starting at", begin) }
            let b = bytes[p]
            if b == UInt8(ascii: "\"") {
                pos = p + 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b < 0x20 { throw fail("Invalid control character at", p) }
            if b != UInt8(ascii: "\\") { scratch.append(b); p += 1; continue }
            // Escape.
            guard p + 1 < bytes.count else { throw fail("Unterminated string starting at", begin) }
            let e = bytes[p + 1]
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                // CPython wants a character after the four digits (`end >= len` is an error there).
                guard p + 6 < bytes.count, let u = hex4(at: p + 2) else { throw fail("Invalid \\uXXXX escape", p + 1) }
                var scalar = u
                var consumed = 6
                // CPython pairs only when a character follows the second escape (`end + 6 < len`);
                // otherwise the second escape is read on its own (and fails there at the end of input).
                if u >= 0xD800 && u <= 0xDBFF, p + 12 < bytes.count,
                   bytes[p + 6] == UInt8(ascii: "\\"), bytes[p + 7] == UInt8(ascii: "u") {
                    // Python: a high surrogate followed by \uXXXX; combined only if that is a low surrogate.
                    guard let lo = hex4(at: p + 8) else { throw fail("Invalid \\uXXXX escape", p + 7) }
                    if lo >= 0xDC00 && lo <= 0xDFFF {
                        scalar = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                        consumed = 12
                    }
                }
                if scalar >= 0xD800 && scalar <= 0xDFFF { scalar = 0xFFFD }  // lone surrogate
                appendUTF8(scalar)
                p += consumed
                continue
            default:
                throw fail("Invalid \\escape", p)
            }
            p += 2
        }
    }

    func hex4(at p: Int) -> UInt32? {
        guard p + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for i in p..<(p + 4) {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    mutating func appendUTF8(_ s: UInt32) {
        switch s {
        case 0..<0x80: scratch.append(UInt8(s))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (s >> 6))); scratch.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (s >> 12))); scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (s >> 18))); scratch.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F))); scratch.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("maximum recursion depth exceeded", pos) }
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var obj = JSONObject()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
        while true {
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else {
                throw fail("Expecting property name enclosed in double quotes", pos)
            }
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("Expecting ':' delimiter", pos) }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            obj[key] = value
            skipWhitespace()
            guard pos < bytes.count else { throw fail("Expecting ',' delimiter", pos) }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            guard bytes[pos] == UInt8(ascii: ",") else { throw fail("Expecting ',' delimiter", pos) }
            pos += 1
            skipWhitespace()
        }
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            items.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else { throw fail("Expecting ',' delimiter", pos) }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            guard bytes[pos] == UInt8(ascii: ",") else { throw fail("Expecting ',' delimiter", pos) }
            pos += 1
            skipWhitespace()
        }
    }
}
