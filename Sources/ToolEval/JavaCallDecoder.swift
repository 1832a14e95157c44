/// BFCL's Java decoder (`parse_java_function_call`, tree-sitter based), reproduced with a small Java
/// expression parser: the first method invocation (pre-order) becomes `{Class.method: {name: value}}`
/// where each `name=value` argument's value is its *text* as upstream's `traverse_node` writes it:
/// string/char literals unquoted at top level, identifiers and nested method calls verbatim,
/// `new T(args)` rebuilt as `new T(a, b)` (an anonymous class body is dropped), `new T[]{…}` as
/// `new T[]{…}`, and any other expression as its tokens joined without spaces (`a + b` → `a+b`).
/// Bare identifiers become the value of the `None` key; any syntax error raises `SyntaxError`.
enum JavaCallDecoder {
    static func decode(_ source: String) throws(PyDecodeError) -> PyValue {
        let scalars = Array(source.unicodeScalars)
        let error = PyDecodeError("SyntaxError", "Error parsing java the source code.")
        guard let tokens = CFamilyTokenizer.tokenize(scalars, dialect: .java) else { throw error }
        var parser = JavaParser(tokens: tokens, source: scalars)
        guard parser.program() else { throw error }
        guard let call = parser.invocations.min(by: { ($0.start, -$0.end) < ($1.start, -$1.end) }) else {
            return .dict(PyDict())
        }
        var args = PyDict()
        for arg in call.arguments {
            let key: PyValue
            let value: String
            if arg.kind == .assignment, let lhs = arg.children.first, let rhs = arg.children.last {
                key = .str(lhs.raw); value = rhs.topLevelText
            } else if arg.kind == .identifier || arg.kind == .classLiteral {
                key = .none; value = arg.topLevelText
            } else { continue }
            if value.unicodeScalars.contains("\u{0}") {
                throw PyDecodeError("AttributeError", "'NoneType' object has no attribute 'type'")
            }
            if args[key] != nil { throw PyDecodeError("Exception", "Error: Multiple arguments with the same name are not supported.") }
            args[key] = .str(value)
        }
        return .list([.dict(PyDict([(.str(call.name), .dict(args))]))])
    }
}

/// A parsed Java expression: its kind, source range, and its text as `traverse_node(node, nested=True)`.
struct JNode {
    enum Kind { case string, char, identifier, methodInvocation, objectCreation, arrayCreation, classLiteral, assignment, other }
    var kind: Kind
    var start: Int
    var end: Int
    var render: String
    var raw: String
    var children: [JNode] = []

    /// `traverse_node(node)` at top level: literals lose their quotes.
    var topLevelText: String { kind == .string || kind == .char ? pySlice1(raw) : render }
}

struct JavaInvocation {
    var start: Int
    var end: Int
    var name: String
    var arguments: [JNode]
}

struct JavaParser {
    let tokens: [CToken]
    let source: [Unicode.Scalar]
    var p = 0
    var invocations: [JavaInvocation] = []

    init(tokens: [CToken], source: [Unicode.Scalar]) { self.tokens = tokens; self.source = source }

    var tok: CToken { tokens[p] }
    func isPunct(_ s: String, _ k: Int = 0) -> Bool { let t = tokens[min(p + k, tokens.count - 1)]; return t.kind == .punct && t.text == s }
    func isWord(_ s: String, _ k: Int = 0) -> Bool { let t = tokens[min(p + k, tokens.count - 1)]; return t.kind == .identifier && t.text == s }
    func text(_ a: Int, _ b: Int) -> String { var v = String.UnicodeScalarView(); v.append(contentsOf: source[a..<b]); return String(v) }
    mutating func take() -> CToken { let t = tokens[p]; p += 1; return t }
    mutating func eat(_ s: String) -> Bool { if isPunct(s) { p += 1; return true }; return false }

    /// Statements up to the end. A missing final `;` is tolerated the way tree-sitter's error recovery
    /// does it: it inserts the `;` (a MISSING node) only when the statement spans at least 11 bytes;
    /// a shorter one becomes an ERROR (measured with tree-sitter-java 0.21: `Foo.bar(1)` fails,
    /// `Foo.bar(a=1)` parses).
    mutating func program() -> Bool {
        while tok.kind != .end {
            if eat(";") { continue }
            let start = tok.start
            guard expression() != nil else { return false }
            if tok.kind == .end {
                let end = tokens[p - 1].end
                return text(start, end).utf8.count >= 11
            }
            guard eat(";") else { return false }
        }
        return true
    }

    func node(_ kind: JNode.Kind, _ start: Int, _ render: String, children: [JNode] = []) -> JNode {
        let end = tokens[max(p - 1, 0)].end
        return JNode(kind: kind, start: start, end: end, render: render, raw: text(start, end), children: children)
    }

    static let assignOps: Set<String> = ["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", ">>>="]

    mutating func expression() -> JNode? {
        let start = tok.start
        if let lambda = lambdaExpression() { return lambda }
        guard let lhs = ternary() else { return nil }
        // `>>=` / `>>>=` arrive as separate `>` tokens followed by `>=`: re-join adjacent ones.
        var op: String? = nil
        if tok.kind == .punct, Self.assignOps.contains(tok.text) { op = take().text }
        else if isPunct(">"), isPunct(">=", 1), tokens[p + 1].start == tok.end { p += 2; op = ">>=" }
        guard let op else { return lhs }
        guard let rhs = expression() else { return nil }
        return node(.assignment, start, lhs.render + op + rhs.render, children: [lhs, rhs])
    }

    mutating func lambdaExpression() -> JNode? {
        let save = p, start = tok.start
        var params = ""
        if tok.kind == .identifier, isPunct("->", 1) {
            params = take().text
        } else if isPunct("(") {
            var depth = 0
            repeat {
                if isPunct("(") { depth += 1 } else if isPunct(")") { depth -= 1 }
                if tok.kind == .end { p = save; return nil }
                params += take().text
            } while depth > 0
            guard isPunct("->") else { p = save; return nil }
        } else { return nil }
        p += 1
        if isPunct("{") {
            guard let block = balanced("{", "}") else { return nil }
            return node(.other, start, params + "->" + block)
        }
        guard let body = expression() else { return nil }
        return node(.other, start, params + "->" + body.render)
    }

    /// A `{…}` block kept as its tokens joined without spaces.
    mutating func balanced(_ open: String, _ close: String) -> String? {
        var depth = 0, out = ""
        repeat {
            if tok.kind == .end { return nil }
            if isPunct(open) { depth += 1 } else if isPunct(close) { depth -= 1 }
            out += take().text
        } while depth > 0
        return out
    }

    mutating func ternary() -> JNode? {
        let start = tok.start
        guard let cond = binary(0) else { return nil }
        guard eat("?") else { return cond }
        guard let a = expression(), eat(":"), let b = expression() else { return nil }
        return node(.other, start, cond.render + "?" + a.render + ":" + b.render)
    }

    static let levels: [[String]] = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">=", "instanceof"],
                                     ["<<", ">>", ">>>"], ["+", "-"], ["*", "/", "%"]]

    /// The binary operator at the cursor (re-joining `>` `>` into `>>`), without consuming it.
    func binaryOperator() -> (String, Int)? {
        if isWord("instanceof") { return ("instanceof", 1) }
        guard tok.kind == .punct else { return nil }
        if tok.text == ">" {
            if isPunct(">", 1), tokens[p + 1].start == tok.end {
                if isPunct(">", 2), tokens[p + 2].start == tokens[p + 1].end { return (">>>", 3) }
                if isPunct(">=", 1) || isPunct(">>=", 1) { return nil }
                return (">>", 2)
            }
            if isPunct(">=", 1), tokens[p + 1].start == tok.end { return nil }
        }
        return (tok.text, 1)
    }

    mutating func binary(_ level: Int) -> JNode? {
        if level == Self.levels.count { return unary() }
        let start = tok.start
        guard var left = binary(level + 1) else { return nil }
        while let (op, width) = binaryOperator(), Self.levels[level].contains(op) {
            p += width
            if op == "instanceof" {
                guard let t = type() else { return nil }
                left = node(.other, start, left.render + "instanceof" + t)
                continue
            }
            guard let right = binary(level + 1) else { return nil }
            left = node(.other, start, left.render + op + right.render)
        }
        return left
    }

    mutating func unary() -> JNode? {
        let start = tok.start
        for op in ["+", "-", "!", "~", "++", "--"] where isPunct(op) {
            p += 1
            guard let operand = unary() else { return nil }
            return node(.other, start, op + operand.render)
        }
        // Cast: `(Type) operand`.
        if isPunct("(") {
            let save = p
            p += 1
            if let t = type(), eat(")"),
               tok.kind == .identifier || tok.kind == .number || tok.kind == .string || tok.kind == .char || isPunct("(") || isPunct("!") || isPunct("~"),
               !(tok.kind == .identifier && tok.text == "instanceof"),
               let operand = unary() {
                return node(.other, start, "(" + t + ")" + operand.render)
            }
            p = save
        }
        return postfix()
    }

    mutating func postfix() -> JNode? {
        let start = tok.start
        guard var e = primary() else { return nil }
        while true {
            if isPunct("."), p + 1 < tokens.count {
                p += 1
                if isWord("class") { p += 1; e = node(.classLiteral, start, e.render + ".class"); continue }
                if isPunct("<") { guard let ta = typeArguments() else { return nil }; _ = ta }
                guard tok.kind == .identifier else { return nil }
                let name = take().text
                if isPunct("(") {
                    let objectText = text(e.start, e.end)
                    guard let args = arguments() else { return nil }
                    let n = node(.methodInvocation, start, "")
                    invocations.append(JavaInvocation(start: n.start, end: n.end, name: objectText + "." + name, arguments: args))
                    e = JNode(kind: .methodInvocation, start: n.start, end: n.end, render: n.raw, raw: n.raw)
                } else {
                    e = node(.other, start, e.render + "." + name)
                }
            } else if isPunct("[") {
                p += 1
                guard let index = expression(), eat("]") else { return nil }
                e = node(.other, start, e.render + "[" + index.render + "]")
            } else if isPunct("::") {
                p += 1
                guard tok.kind == .identifier else { return nil }
                e = node(.other, start, e.render + "::" + take().text)
            } else if isPunct("++") || isPunct("--") {
                e = node(.other, start, e.render + take().text)
            } else {
                return e
            }
        }
    }

    mutating func arguments() -> [JNode]? {
        guard eat("(") else { return nil }
        var args: [JNode] = []
        if eat(")") { return args }
        repeat {
            guard let a = expression() else { return nil }
            args.append(a)
        } while eat(",")
        guard eat(")") else { return nil }
        return args
    }

    mutating func primary() -> JNode? {
        let start = tok.start
        let t = tok
        switch t.kind {
        case .number: p += 1; return node(.other, start, t.text)
        case .string: p += 1; return node(.string, start, t.text)
        case .char: p += 1; return node(.char, start, t.text)
        case .identifier:
            if t.text == "new" { return creation() }
            p += 1
            if isPunct("(") {
                guard let args = arguments() else { return nil }
                let n = node(.methodInvocation, start, "")
                invocations.append(JavaInvocation(start: n.start, end: n.end, name: t.text, arguments: args))
                return JNode(kind: .methodInvocation, start: n.start, end: n.end, render: n.raw, raw: n.raw)
            }
            if ["true", "false", "null", "this", "super"].contains(t.text) { return node(.other, start, t.text) }
            if ["int", "long", "short", "byte", "char", "boolean", "float", "double", "void"].contains(t.text) {
                var r = t.text
                while isPunct("["), isPunct("]", 1) { p += 2; r += "[]" }
                return node(.other, start, r)
            }
            return node(.identifier, start, t.text)
        case .punct where t.text == "(":
            p += 1
            guard let inner = expression(), eat(")") else { return nil }
            return node(.other, start, "(" + inner.render + ")")
        default:
            return nil
        }
    }

    /// `new T(args) [body]` or `new T[]{…}` / `new T[n]`.
    mutating func creation() -> JNode? {
        let start = tok.start
        p += 1
        guard let t = type(allowArrays: false) else { return nil }
        if isPunct("[") {
            var dims = 0, sized = false
            while eat("[") {
                if !isPunct("]") { guard expression() != nil else { return nil }; sized = true }
                guard eat("]") else { return nil }
                dims += 1
            }
            if isPunct("{") {
                guard let value = arrayInitializer() else { return nil }
                return node(.arrayCreation, start, "new " + t + "[]" + value)
            }
            // Upstream reads the missing `value` field and crashes (AttributeError on None).
            _ = (dims, sized)
            return node(.arrayCreation, start, "\u{0}")
        }
        guard let args = arguments() else { return nil }
        if isPunct("{") { guard balanced("{", "}") != nil else { return nil } }
        return node(.objectCreation, start, "new " + t + "(" + args.map(\.render).joined(separator: ", ") + ")")
    }

    mutating func arrayInitializer() -> String? {
        guard eat("{") else { return nil }
        var out = "{"
        while !isPunct("}") {
            if isPunct("{") { guard let inner = arrayInitializer() else { return nil }; out += inner }
            else { guard let e = expression() else { return nil }; out += e.render }
            if eat(",") { out += "," } else { break }
        }
        guard eat("}") else { return nil }
        return out + "}"
    }

    /// A type as tree-sitter's nodes join: `Map<String,Integer>`, `java.util.List<T>`, `int[]`.
    mutating func type(allowArrays: Bool = true) -> String? {
        guard tok.kind == .identifier else {
            if isPunct("?") { p += 1; return "?" }
            return nil
        }
        var out = take().text
        while true {
            if isPunct("<") { guard let ta = typeArguments() else { return nil }; out += ta }
            if isPunct("."), tokens[min(p + 1, tokens.count - 1)].kind == .identifier, !isWord("class", 1) {
                p += 1; out += "." + take().text; continue
            }
            break
        }
        while allowArrays, isPunct("["), isPunct("]", 1) { p += 2; out += "[]" }
        return out
    }

    mutating func typeArguments() -> String? {
        guard eat("<") else { return nil }
        var out = "<"
        if eat(">") { return "<>" }
        repeat {
            guard let t = type() else { return nil }
            out += (out == "<" ? "" : ",") + t
            if isWord("extends") || isWord("super") { out += take().text; guard let b = type() else { return nil }; out += b }
        } while eat(",")
        guard eat(">") else { return nil }
        return out + ">"
    }
}
