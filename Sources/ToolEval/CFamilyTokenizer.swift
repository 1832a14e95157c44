/// A token of Java or JavaScript source, with its UTF-16-independent scalar offsets into the source.
struct CToken: Sendable {
    enum Kind: Sendable { case identifier, number, string, char, template, regex, punct, end }
    var kind: Kind
    var text: String
    var start: Int
    var end: Int
    /// Whether a line break precedes the token (JavaScript's automatic semicolon insertion needs it).
    var newlineBefore: Bool
}

/// Tokenizes Java or JavaScript source for the call decoders: comments, identifiers (`$` allowed),
/// numeric literals with their suffixes, string/char/template literals, and operators (longest match;
/// `>` is always a single token so generic types close, shifts are re-joined by the parsers).
struct CFamilyTokenizer {
    enum Dialect { case java, javascript }

    /// Whether a token ends an operand (then `/` is division, not the start of a regex literal).
    static func endsOperand(_ t: CToken) -> Bool {
        switch t.kind {
        case .identifier:
            return !["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else"].contains(t.text)
        case .number, .string, .char, .template, .regex: return true
        case .punct: return t.text == ")" || t.text == "]" || t.text == "}"
        case .end: return false
        }
    }

    static func tokenize(_ source: [Unicode.Scalar], dialect: Dialect) -> [CToken]? {
        var out: [CToken] = []
        var i = 0
        var newline = false
        let n = source.count
        func at(_ k: Int) -> Unicode.Scalar? { k < n ? source[k] : nil }
        func text(_ a: Int, _ b: Int) -> String { var v = String.UnicodeScalarView(); v.append(contentsOf: source[a..<b]); return String(v) }
        func isIdentStart(_ u: Unicode.Scalar) -> Bool { u == "_" || u == "$" || u.properties.isAlphabetic }
        func isIdentPart(_ u: Unicode.Scalar) -> Bool { isIdentStart(u) || u.properties.numericType != nil }
        func isDigit(_ u: Unicode.Scalar?) -> Bool { guard let u else { return false }; return u.value >= 48 && u.value <= 57 }

        let puncts = ["...", "===", "!==", "**=", "<<=", "&&=", "||=", "??=", "=>", "->", "::", "==", "!=", "<=",
                      ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", "**"]
        while i < n {
            let c = source[i]
            if c == "\n" || c == "\r" || c == "\u{2028}" || c == "\u{2029}" { newline = true; i += 1; continue }
            if c.properties.isWhitespace { i += 1; continue }
            if c == "/", at(i + 1) == "/" {
                while i < n, source[i] != "\n" { i += 1 }
                continue
            }
            if c == "/", at(i + 1) == "*" {
                i += 2
                while i < n, !(source[i] == "*" && at(i + 1) == "/") { if source[i] == "\n" { newline = true }; i += 1 }
                guard i < n else { return nil }
                i += 2
                continue
            }
            let start = i
            var kind: CToken.Kind
            if dialect == .javascript, c == "/", !(out.last.map(endsOperand) ?? false) {
                // A regular expression literal (where an operand is expected): /…/flags.
                i += 1
                var inClass = false
                while true {
                    guard i < n, source[i] != "\n" else { return nil }
                    let d = source[i]
                    if d == "\\" { i += 2; continue }
                    if d == "[" { inClass = true } else if d == "]" { inClass = false }
                    else if d == "/" && !inClass { i += 1; break }
                    i += 1
                }
                // tree-sitter-javascript's flags are /[a-z]+/: anything else glued on is an error.
                while i < n, source[i].value >= 97, source[i].value <= 122 { i += 1 }
                if i < n, isIdentPart(source[i]) { return nil }
                kind = .regex
            } else if isIdentStart(c) {
                while i < n, isIdentPart(source[i]) { i += 1 }
                kind = .identifier
            } else if isDigit(c) || (c == "." && isDigit(at(i + 1))) {
                kind = .number
                if c == "0", let x = at(i + 1), "xXbBoO".unicodeScalars.contains(x) {
                    i += 2
                    while i < n, source[i].properties.isASCIIHexDigit || source[i] == "_" { i += 1 }
                } else {
                    while isDigit(at(i)) || at(i) == "_" { i += 1 }
                    if at(i) == ".", isDigit(at(i + 1)) || !(at(i + 1).map(isIdentStart) ?? false) && at(i + 1) != "." {
                        i += 1
                        while isDigit(at(i)) || at(i) == "_" { i += 1 }
                    }
                    if let e = at(i), e == "e" || e == "E" {
                        var k = i + 1
                        if at(k) == "+" || at(k) == "-" { k += 1 }
                        if isDigit(at(k)) { i = k; while isDigit(at(i)) || at(i) == "_" { i += 1 } }
                    }
                }
                let suffixes: String = dialect == .java ? "lLfFdD" : "n"
                if let s = at(i), suffixes.unicodeScalars.contains(s) { i += 1 }
                // `1abc`, `5px`: a letter glued to a number is a syntax error in both languages.
                if let s = at(i), isIdentPart(s) { return nil }
            } else if c == "\"" || c == "'" || (c == "`" && dialect == .javascript) {
                let triple = dialect == .java && c == "\"" && at(i + 1) == "\"" && at(i + 2) == "\""
                kind = c == "`" ? .template : (c == "'" && dialect == .java ? .char : .string)
                i += triple ? 3 : 1
                var depth = 0
                while true {
                    guard i < n else { return nil }
                    let d = source[i]
                    if d == "\\" { i += 2; continue }
                    if triple {
                        if d == "\"", at(i + 1) == "\"", at(i + 2) == "\"" { i += 3; break }
                    } else if c == "`" {
                        if d == "$", at(i + 1) == "{" { depth += 1; i += 2; continue }
                        if d == "}", depth > 0 { depth -= 1 }
                        if d == "`", depth == 0 { i += 1; break }
                    } else {
                        if d == c { i += 1; break }
                        if d == "\n" { return nil }
                    }
                    i += 1
                }
            } else {
                kind = .punct
                var matched = false
                for p in puncts {
                    let ps = Array(p.unicodeScalars)
                    if i + ps.count <= n, Array(source[i..<(i + ps.count)]) == ps {
                        if dialect == .java, p == "**" || p == "**=" || p == "===" || p == "!==" || p == "??" || p == "?." || p == "=>" { continue }
                        if dialect == .javascript, p == "->" || p == "::" { continue }
                        i += ps.count; matched = true; break
                    }
                }
                if !matched {
                    guard "{}()[];,<>+-*/%&|^!~?:=.@#".unicodeScalars.contains(c) else { return nil }
                    i += 1
                }
            }
            out.append(CToken(kind: kind, text: text(start, i), start: start, end: i, newlineBefore: newline))
            newline = false
        }
        out.append(CToken(kind: .end, text: "", start: n, end: n, newlineBefore: newline))
        return out
    }
}
