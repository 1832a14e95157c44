/// A token of a Python expression.
enum PyToken: Sendable {
    case name(String)
    case number(PyConstant)
    /// One string literal: its value, whether it is bytes, whether it is an f-string, and its source text.
    case string(String, bytes: [UInt8]?, fString: Bool, source: String)
    case op(String)
    case newline
    case end
}

/// Tokenizes Python expression source (`ast.parse(..., mode="eval")` input) with Python's lexical rules:
/// implicit line joining inside brackets, comments, backslash continuation, string prefixes and escapes,
/// numeric literal forms with `_` separators.
struct PythonTokenizer {
    private let s: [Unicode.Scalar]
    private var i = 0
    private var depth = 0

    init(_ source: String) { s = Array(source.unicodeScalars) }

    static func tokenize(_ source: String) throws(PyDecodeError) -> [PyToken] {
        var t = PythonTokenizer(source)
        var out: [PyToken] = []
        while true {
            let tok = try t.next()
            out.append(tok)
            if case .end = tok { return out }
        }
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }

    private static func isIdentStart(_ u: Unicode.Scalar) -> Bool {
        u == "_" || u.properties.isXIDStart
    }
    private static func isIdentContinue(_ u: Unicode.Scalar) -> Bool {
        u == "_" || u.properties.isXIDContinue
    }

    mutating func next() throws(PyDecodeError) -> PyToken {
        // Skip blanks, comments, continuations, and newlines inside brackets.
        while let c = peek() {
            if c == " " || c == "\t" || c == "\u{0C}" { i += 1; continue }
            if c == "#" { while let d = peek(), d != "\n", d != "\r" { i += 1 }; continue }
            if c == "\\" {
                if peek(1) == "\n" { i += 2; continue }
                if peek(1) == "\r" { i += peek(2) == "\n" ? 3 : 2; continue }
                throw PyDecodeError("SyntaxError", "unexpected character after line continuation character")
            }
            if c == "\n" || c == "\r" {
                i += 1
                if depth > 0 { continue }
                return .newline
            }
            break
        }
        guard let c = peek() else { return .end }

        // String with optional prefix.
        if c == "'" || c == "\"" { return try string(prefix: "") }
        if Self.isIdentStart(c) {
            var j = i
            var word = ""
            while j < s.count, Self.isIdentContinue(s[j]) { word.unicodeScalars.append(s[j]); j += 1 }
            if j < s.count, s[j] == "'" || s[j] == "\"", ["r", "u", "b", "br", "rb", "f", "fr", "rf"].contains(word.lowercased()) {
                i = j
                return try string(prefix: word.lowercased())
            }
            i = j
            return .name(word)
        }
        if c.properties.numericType == .decimal && c.isASCII || (c == "." && (peek(1).map { $0.isASCII && $0.properties.numericType == .decimal } ?? false)) {
            return try number()
        }
        // Operators, longest first.
        for op in ["**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=",
                   "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="] {
            if matches(op) { i += op.unicodeScalars.count; return .op(op) }
        }
        let single: Set<Unicode.Scalar> = ["(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<", ">", "=", "@"]
        if single.contains(c) {
            i += 1
            if c == "(" || c == "[" || c == "{" { depth += 1 }
            if c == ")" || c == "]" || c == "}" {
                if depth == 0 { throw PyDecodeError("SyntaxError", "unmatched '\(c)'") }
                depth -= 1
            }
            return .op(String(c))
        }
        throw PyDecodeError("SyntaxError", "invalid character '\(c)' (U+\(String(c.value, radix: 16, uppercase: true)))")
    }

    private func matches(_ op: String) -> Bool {
        var k = 0
        for u in op.unicodeScalars { if peek(k) != u { return false }; k += 1 }
        return true
    }

    private mutating func number() throws(PyDecodeError) -> PyToken {
        let start = i
        func digits(_ ok: (Unicode.Scalar) -> Bool) -> String {
            var out = ""
            while let c = peek(), ok(c) || (c == "_" && peek(1).map(ok) == true && !out.isEmpty) {
                if c != "_" { out.unicodeScalars.append(c) }
                i += 1
            }
            return out
        }
        let isDec: (Unicode.Scalar) -> Bool = { $0.value >= 48 && $0.value <= 57 }
        if peek() == "0", let x = peek(1), "xXoObB".unicodeScalars.contains(x) {
            i += 2
            if peek() == "_" { i += 1 }
            let radix = (x == "x" || x == "X") ? 16 : (x == "o" || x == "O") ? 8 : 2
            let body = digits { Int(String($0), radix: radix) != nil }
            guard !body.isEmpty else { throw PyDecodeError("SyntaxError", "invalid \(radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary") literal") }
            try checkNoTrailingIdentifier()
            if let v = Int(body, radix: radix) { return .number(.int(v)) }
            throw PyDecodeError("OverflowError", "integer literal too large")
        }
        var intPart = digits(isDec)
        var isFloat = false
        var text = intPart
        if peek() == ".", !(peek(1) == "." && peek(2) == ".") {
            i += 1
            isFloat = true
            let frac = digits(isDec)
            text += "." + frac
            if intPart.isEmpty { intPart = "0" }
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let sign = peek(1), sign == "+" || sign == "-" { k = 2 }
            if let d = peek(k), isDec(d) {
                i += k
                let signText = k == 2 ? String(s[i - 1]) : ""
                text += "e" + signText + digits(isDec)
                isFloat = true
            }
        }
        if let j = peek(), j == "j" || j == "J" {
            i += 1
            try checkNoTrailingIdentifier()
            return .number(.complex(Double(text) ?? 0))
        }
        try checkNoTrailingIdentifier()
        if isFloat { return .number(.float(Double(text) ?? .infinity)) }
        if intPart.count > 1, intPart.hasPrefix("0"), intPart.contains(where: { $0 != "0" }) {
            throw PyDecodeError("SyntaxError", "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers")
        }
        _ = start
        if let v = Int(intPart) { return .number(.int(v)) }
        let trimmed = String(intPart.drop { $0 == "0" })
        return .number(.bigInt(trimmed.isEmpty ? "0" : trimmed))
    }

    private func checkNoTrailingIdentifier() throws(PyDecodeError) {
        if let c = peek(), Self.isIdentContinue(c) {
            throw PyDecodeError("SyntaxError", "invalid decimal literal")
        }
    }

    private mutating func string(prefix: String) throws(PyDecodeError) -> PyToken {
        let start = i - prefix.unicodeScalars.count
        let raw = prefix.contains("r"), isBytes = prefix.contains("b"), isF = prefix.contains("f")
        let q = s[i]
        let triple = peek(1) == q && peek(2) == q
        i += triple ? 3 : 1
        var value = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                throw PyDecodeError("SyntaxError", triple ? "unterminated triple-quoted string literal" : "unterminated string literal")
            }
            if c == q {
                if !triple { i += 1; break }
                if peek(1) == q && peek(2) == q { i += 3; break }
                value.append(c); i += 1; continue
            }
            if (c == "\n" || c == "\r") && !triple {
                throw PyDecodeError("SyntaxError", "unterminated string literal")
            }
            if c == "\\" {
                guard let d = peek(1) else { i += 1; continue }
                if raw {
                    value.append(c); value.append(d); i += 2; continue
                }
                i += 2
                switch d {
                case "\n": break
                case "\\": value.append("\\")
                case "'": value.append("'")
                case "\"": value.append("\"")
                case "a": value.append("\u{07}")
                case "b": value.append("\u{08}")
                case "f": value.append("\u{0C}")
                case "n": value.append("\n")
                case "r": value.append("\r")
                case "t": value.append("\t")
                case "v": value.append("\u{0B}")
                case "0"..."7":
                    var v = d.value - 48
                    var n = 1
                    while n < 3, let e = peek(), e.value >= 48, e.value <= 55 { v = v * 8 + e.value - 48; i += 1; n += 1 }
                    if let u = Unicode.Scalar(v) { value.append(u) }
                case "x", "u", "U":
                    if isBytes && d != "x" { value.append("\\"); value.append(d); continue }
                    let n = d == "x" ? 2 : d == "u" ? 4 : 8
                    var v: UInt32 = 0
                    for _ in 0..<n {
                        guard let h = peek(), let hv = UInt32(String(h), radix: 16) else {
                            throw PyDecodeError("SyntaxError", "(unicode error) 'unicodeescape' codec can't decode bytes: truncated \\\(d)XX escape")
                        }
                        v = v * 16 + hv; i += 1
                    }
                    guard let u = Unicode.Scalar(v) else {
                        throw PyDecodeError("SyntaxError", "(unicode error) 'unicodeescape' codec can't decode bytes: illegal Unicode character")
                    }
                    value.append(u)
                case "N" where !isBytes:
                    throw PyDecodeError("SyntaxError", "(unicode error) \\N{...} escapes are not supported here")
                default:
                    value.append("\\"); value.append(d)
                }
                continue
            }
            value.append(c); i += 1
        }
        var source = String.UnicodeScalarView()
        source.append(contentsOf: s[start..<i])
        let text = String(value)
        if isBytes {
            var bytes: [UInt8] = []
            for u in text.unicodeScalars {
                guard u.value < 256 else { throw PyDecodeError("SyntaxError", "bytes can only contain ASCII literal characters") }
                bytes.append(UInt8(u.value))
            }
            return .string(text, bytes: bytes, fString: false, source: String(source))
        }
        return .string(text, bytes: nil, fString: isF, source: String(source))
    }
}
