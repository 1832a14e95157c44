/// BFCL's JavaScript decoder (`parse_javascript_function_call`, tree-sitter based), reproduced with a
/// small JavaScript expression parser: the first statement that is a call gives
/// `{callee: {name: value}}`, each `name=value` argument's value being its source text with one pair of
/// matching surrounding quotes removed (`5`, `true`, `[1, 2]`, `{k: 'v'}` stay text). Bare identifiers
/// and `true` become the value of the `None` key. A program whose statements are not calls (e.g. two
/// calls joined by a comma) decodes to `None`; any syntax error raises `SyntaxError`.
enum JSCallDecoder {
    static func decode(_ source: String) throws(PyDecodeError) -> PyValue {
        let scalars = Array(source.unicodeScalars)
        let error = PyDecodeError("SyntaxError", "Error js parsing the source code.")
        guard let tokens = CFamilyTokenizer.tokenize(scalars, dialect: .javascript) else { throw error }
        var parser = JSParser(tokens: tokens, source: scalars)
        guard let statements = parser.program() else { throw error }
        for statement in statements {
            guard statement.kind == .call, let callee = statement.children.first else { continue }
            var args = PyDict()
            for arg in statement.children.dropFirst() {
                let key: PyValue, value: String
                if arg.kind == .assignment, arg.children.count == 2 {
                    key = .str(arg.children[0].raw)
                    value = stripQuotes(arg.children[1].raw)
                } else if arg.kind == .identifier || (arg.kind == .literal && arg.raw == "true") {
                    key = .none; value = arg.raw
                } else { continue }
                if args[key] != nil { throw PyDecodeError("Exception", "Error: Multiple arguments with the same name are not supported.") }
                args[key] = .str(value)
            }
            return .list([.dict(PyDict([(.str(callee.raw), .dict(args))]))])
        }
        return .none
    }

    static func stripQuotes(_ v: String) -> String {
        if (v.hasPrefix("\"") && v.hasSuffix("\"")) || (v.hasPrefix("'") && v.hasSuffix("'")) { return pySlice1(v) }
        return v
    }
}

/// A parsed JavaScript expression: kind, source text, and for calls `[callee, args…]`, for
/// assignments `[left, right]`.
struct JSNode {
    enum Kind { case call, assignment, identifier, literal, other }
    var kind: Kind
    var raw: String
    var children: [JSNode] = []
}

struct JSParser {
    let tokens: [CToken]
    let source: [Unicode.Scalar]
    var p = 0

    init(tokens: [CToken], source: [Unicode.Scalar]) { self.tokens = tokens; self.source = source }

    var tok: CToken { tokens[p] }
    func isPunct(_ s: String, _ k: Int = 0) -> Bool { let t = tokens[min(p + k, tokens.count - 1)]; return t.kind == .punct && t.text == s }
    func isWord(_ s: String) -> Bool { tok.kind == .identifier && tok.text == s }
    mutating func eat(_ s: String) -> Bool { if isPunct(s) { p += 1; return true }; return false }
    func text(from start: Int) -> String {
        let end = tokens[max(p - 1, 0)].end
        var v = String.UnicodeScalarView(); v.append(contentsOf: source[start..<max(start, end)]); return String(v)
    }
    func node(_ kind: JSNode.Kind, _ start: Int, _ children: [JSNode] = []) -> JSNode {
        JSNode(kind: kind, raw: text(from: start), children: children)
    }

    static let reserved: Set<String> = ["break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete",
        "do", "else", "export", "extends", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "return",
        "super", "switch", "throw", "try", "typeof", "var", "void", "while", "with", "yield", "let", "enum"]

    /// Expression statements separated by `;` or line breaks (automatic semicolon insertion).
    mutating func program() -> [JSNode]? {
        var out: [JSNode] = []
        while tok.kind != .end {
            if eat(";") { continue }
            guard let e = sequence() else { return nil }
            out.append(e)
            if tok.kind == .end { break }
            if eat(";") { continue }
            guard tok.newlineBefore || isPunct("}") else { return nil }
        }
        return out
    }

    mutating func sequence() -> JSNode? {
        let start = tok.start
        guard let first = assignment() else { return nil }
        guard isPunct(",") else { return first }
        while eat(",") { guard assignment() != nil else { return nil } }
        return node(.other, start)
    }

    static let assignOps: Set<String> = ["=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", "&=", "|=", "^=", "&&=", "||=", "??="]

    mutating func assignment() -> JSNode? {
        let start = tok.start
        if let arrow = arrowFunction() { return arrow }
        guard let lhs = conditional() else { return nil }
        if tok.kind == .punct, Self.assignOps.contains(tok.text) {
            let op = tok.text
            p += 1
            guard let rhs = assignment() else { return nil }
            return op == "=" ? node(.assignment, start, [lhs, rhs]) : node(.other, start)
        }
        // `>>=`, `>>>=` arrive as `>` tokens followed by `>=`.
        if isPunct(">"), isPunct(">=", 1) || (isPunct(">", 1) && isPunct(">=", 2)) {
            p += isPunct(">=", 1) ? 2 : 3
            guard assignment() != nil else { return nil }
            return node(.other, start)
        }
        return lhs
    }

    mutating func arrowFunction() -> JSNode? {
        let save = p, start = tok.start
        if isWord("async") { p += 1 }
        if tok.kind == .identifier, isPunct("=>", 1) {
            p += 2
        } else if isPunct("(") {
            var depth = 0
            repeat {
                if isPunct("(") { depth += 1 } else if isPunct(")") { depth -= 1 }
                if tok.kind == .end { p = save; return nil }
                p += 1
            } while depth > 0
            guard eat("=>") else { p = save; return nil }
        } else { p = save; return nil }
        if isPunct("{") { guard skipBalanced() else { return nil } }
        else { guard assignment() != nil else { return nil } }
        return node(.other, start)
    }

    /// Skips a `{…}` block (function bodies are not decoded, only their braces must balance).
    mutating func skipBalanced() -> Bool {
        var depth = 0
        repeat {
            if tok.kind == .end { return false }
            if isPunct("{") { depth += 1 } else if isPunct("}") { depth -= 1 }
            p += 1
        } while depth > 0
        return true
    }

    mutating func conditional() -> JSNode? {
        let start = tok.start
        guard let cond = binary(0) else { return nil }
        guard eat("?") else { return cond }
        guard assignment() != nil, eat(":"), assignment() != nil else { return nil }
        return node(.other, start)
    }

    static let levels: [[String]] = [["??"], ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!=", "===", "!=="],
                                     ["<", ">", "<=", ">=", "instanceof", "in"], ["<<", ">>", ">>>"], ["+", "-"], ["*", "/", "%"], ["**"]]

    func binaryOperator() -> (String, Int)? {
        if tok.kind == .identifier, tok.text == "instanceof" || tok.text == "in" { return (tok.text, 1) }
        guard tok.kind == .punct else { return nil }
        if tok.text == ">", isPunct(">", 1), tokens[p + 1].start == tok.end {
            if isPunct(">", 2), tokens[p + 2].start == tokens[p + 1].end { return isPunct(">=", 3) ? nil : (">>>", 3) }
            return isPunct(">=", 2) ? nil : (">>", 2)
        }
        return (tok.text, 1)
    }

    mutating func binary(_ level: Int) -> JSNode? {
        if level == Self.levels.count { return unary() }
        let start = tok.start
        guard var left = binary(level + 1) else { return nil }
        while let (op, width) = binaryOperator(), Self.levels[level].contains(op) {
            p += width
            guard binary(op == "**" ? level : level + 1) != nil else { return nil }
            left = node(.other, start)
        }
        return left
    }

    mutating func unary() -> JSNode? {
        let start = tok.start
        if tok.kind == .punct, ["!", "~", "+", "-", "++", "--"].contains(tok.text) {
            p += 1
            guard unary() != nil else { return nil }
            return node(.other, start)
        }
        if tok.kind == .identifier, ["typeof", "void", "delete", "await"].contains(tok.text) {
            p += 1
            guard unary() != nil else { return nil }
            return node(.other, start)
        }
        return postfix()
    }

    mutating func postfix() -> JSNode? {
        let start = tok.start
        guard var e = primary() else { return nil }
        while true {
            if isPunct(".") || isPunct("?.") {
                p += 1
                if isPunct("(") { guard let args = arguments() else { return nil }; e = node(.call, start, [e] + args); continue }
                if isPunct("[") { p += 1; guard sequence() != nil, eat("]") else { return nil }; e = node(.other, start); continue }
                guard tok.kind == .identifier else { return nil }
                p += 1
                e = node(.other, start)
            } else if isPunct("[") {
                p += 1
                guard sequence() != nil, eat("]") else { return nil }
                e = node(.other, start)
            } else if isPunct("(") {
                guard let args = arguments() else { return nil }
                e = node(.call, start, [e] + args)
            } else if tok.kind == .template {
                p += 1
                e = node(.other, start)
            } else if (isPunct("++") || isPunct("--")) && !tok.newlineBefore {
                p += 1
                e = node(.other, start)
            } else {
                return e
            }
        }
    }

    mutating func arguments() -> [JSNode]? {
        guard eat("(") else { return nil }
        var args: [JSNode] = []
        while !isPunct(")") {
            if eat("...") { guard assignment() != nil else { return nil }; args.append(JSNode(kind: .other, raw: "")); }
            else { guard let a = assignment() else { return nil }; args.append(a) }
            if !eat(",") { break }
        }
        guard eat(")") else { return nil }
        return args
    }

    mutating func primary() -> JSNode? {
        let start = tok.start
        let t = tok
        switch t.kind {
        case .number, .string, .template, .regex:
            p += 1
            return node(.literal, start)
        case .identifier:
            if t.text == "new" {
                p += 1
                guard postfixNoCall() else { return nil }
                if isPunct("(") { guard arguments() != nil else { return nil } }
                return node(.other, start)
            }
            if t.text == "function" || t.text == "class" {
                p += 1
                if tok.kind == .identifier, !isPunct("(") { p += 1 }
                if t.text == "function" {
                    guard isPunct("(") else { return nil }
                    var depth = 0
                    repeat {
                        if isPunct("(") { depth += 1 } else if isPunct(")") { depth -= 1 }
                        if tok.kind == .end { return nil }
                        p += 1
                    } while depth > 0
                } else if isWord("extends") {
                    p += 1
                    guard postfix() != nil else { return nil }
                }
                guard isPunct("{"), skipBalanced() else { return nil }
                return node(.other, start)
            }
            if ["true", "false", "null", "this"].contains(t.text) { p += 1; return node(.literal, start) }
            guard !Self.reserved.contains(t.text) else { return nil }
            p += 1
            return node(.identifier, start)
        case .punct:
            switch t.text {
            case "(":
                p += 1
                guard sequence() != nil, eat(")") else { return nil }
                return node(.other, start)
            case "[":
                p += 1
                while !isPunct("]") {
                    if eat(",") { continue }
                    _ = eat("...")
                    guard assignment() != nil else { return nil }
                    if !eat(",") { break }
                }
                guard eat("]") else { return nil }
                return node(.literal, start)
            case "{":
                p += 1
                while !isPunct("}") {
                    if eat("...") { guard assignment() != nil else { return nil } }
                    else {
                        if eat("[") { guard assignment() != nil, eat("]") else { return nil } }
                        else if [.identifier, .string, .number].contains(tok.kind) { p += 1 }
                        else { return nil }
                        if eat(":") { guard assignment() != nil else { return nil } }
                        else if isPunct("(") {
                            guard arguments() != nil, isPunct("{"), skipBalanced() else { return nil }
                        } else if eat("=") { guard assignment() != nil else { return nil } }
                    }
                    if !eat(",") { break }
                }
                guard eat("}") else { return nil }
                return node(.literal, start)
            default:
                return nil
            }
        default:
            return nil
        }
    }

    /// The constructor expression after `new` (member accesses, no call).
    mutating func postfixNoCall() -> Bool {
        guard primary() != nil else { return false }
        while isPunct(".") { p += 1; guard tok.kind == .identifier else { return false }; p += 1 }
        return true
    }
}
