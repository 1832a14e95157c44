/// A recursive-descent parser for Python expressions (`ast.parse(source, mode="eval")`), covering the
/// expression grammar with Python's precedence; statements are not needed by the decoder.
struct PythonParser {
    private var tokens: [PyToken]
    private var p = 0

    static let keywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
        "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
        "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ]

    /// Parses `source` as an eval-mode expression.
    static func parseEval(_ source: String) throws(PyDecodeError) -> PyNode {
        var parser = PythonParser(tokens: try PythonTokenizer.tokenize(source))
        let body = try parser.expressions()
        while case .newline = parser.peek { parser.p += 1 }
        guard case .end = parser.peek else { throw parser.invalid() }
        return body
    }

    private init(tokens: [PyToken]) { self.tokens = tokens }

    private var peek: PyToken { tokens[min(p, tokens.count - 1)] }
    private func peekOp(_ op: String, _ k: Int = 0) -> Bool {
        if case .op(let o) = tokens[min(p + k, tokens.count - 1)], o == op { return true }
        return false
    }
    private func peekKeyword(_ kw: String, _ k: Int = 0) -> Bool {
        if case .name(let n) = tokens[min(p + k, tokens.count - 1)], n == kw { return true }
        return false
    }
    private mutating func eatOp(_ op: String) -> Bool { if peekOp(op) { p += 1; return true }; return false }
    private mutating func eatKeyword(_ kw: String) -> Bool { if peekKeyword(kw) { p += 1; return true }; return false }
    private mutating func expectOp(_ op: String) throws(PyDecodeError) {
        guard eatOp(op) else {
            if case .end = peek, ["]", ")", "}"].contains(op) {
                let open = op == "]" ? "[" : op == ")" ? "(" : "{"
                throw PyDecodeError("SyntaxError", "'\(open)' was never closed")
            }
            throw invalid()
        }
    }
    private func invalid() -> PyDecodeError { PyDecodeError("SyntaxError", "invalid syntax") }

    /// `expressions`: one expression, or a tuple when commas follow.
    private mutating func expressions() throws(PyDecodeError) -> PyNode {
        let first = try starOrExpression()
        guard peekOp(",") else { return first }
        var items = [first]
        while eatOp(",") {
            if startsExpression() { items.append(try starOrExpression()) } else { break }
        }
        return .tuple(items)
    }

    private func startsExpression() -> Bool {
        switch peek {
        case .name(let n): return !Self.keywords.contains(n) || ["True", "False", "None", "not", "lambda", "await"].contains(n)
        case .number, .string: return true
        case .op(let o): return ["(", "[", "{", "-", "+", "~", "*", "..."].contains(o)
        default: return false
        }
    }

    private mutating func starOrExpression() throws(PyDecodeError) -> PyNode {
        if eatOp("*") { return .starred(try bitwiseOr()) }
        return try namedExpression()
    }

    private mutating func namedExpression() throws(PyDecodeError) -> PyNode {
        if case .name(let n) = peek, !Self.keywords.contains(n), peekOp(":=", 1) {
            p += 2
            return .namedExpr(n, try expression())
        }
        return try expression()
    }

    mutating func expression() throws(PyDecodeError) -> PyNode {
        if peekKeyword("lambda") { return try lambda() }
        let body = try disjunction()
        if eatKeyword("if") {
            let test = try disjunction()
            guard eatKeyword("else") else { throw PyDecodeError("SyntaxError", "expected 'else' after 'if' expression") }
            return .ifExp(body: body, test: test, orElse: try expression())
        }
        return body
    }

    private mutating func lambda() throws(PyDecodeError) -> PyNode {
        p += 1
        var params = ""
        var depth = 0
        while true {
            if case .end = peek { throw invalid() }
            if depth == 0, peekOp(":") { break }
            if peekOp("(") || peekOp("[") || peekOp("{") { depth += 1 }
            if peekOp(")") || peekOp("]") || peekOp("}") { depth -= 1 }
            params += tokenText(peek)
            p += 1
        }
        p += 1
        return .lambda(params: params, body: try expression())
    }

    private func tokenText(_ t: PyToken) -> String {
        switch t {
        case .name(let n): n
        case .op(let o): o == "," ? ", " : o
        case .string(_, _, _, let src): src
        case .number(let c): PyUnparser.constant(c)
        default: ""
        }
    }

    private mutating func disjunction() throws(PyDecodeError) -> PyNode {
        var items = [try conjunction()]
        while eatKeyword("or") { items.append(try conjunction()) }
        return items.count == 1 ? items[0] : .boolOp(op: "or", items)
    }

    private mutating func conjunction() throws(PyDecodeError) -> PyNode {
        var items = [try inversion()]
        while eatKeyword("and") { items.append(try inversion()) }
        return items.count == 1 ? items[0] : .boolOp(op: "and", items)
    }

    private mutating func inversion() throws(PyDecodeError) -> PyNode {
        if eatKeyword("not") { return .unary(op: "not", try inversion()) }
        return try comparison()
    }

    private mutating func comparison() throws(PyDecodeError) -> PyNode {
        let left = try bitwiseOr()
        var rest: [(String, PyNode)] = []
        while true {
            var op: String?
            for o in ["==", "!=", "<", "<=", ">", ">="] where peekOp(o) { op = o }
            if op != nil { p += 1 }
            else if peekKeyword("in") { p += 1; op = "in" }
            else if peekKeyword("not"), peekKeyword("in", 1) { p += 2; op = "not in" }
            else if peekKeyword("is") { p += 1; op = eatKeyword("not") ? "is not" : "is" }
            guard let op else { break }
            rest.append((op, try bitwiseOr()))
        }
        return rest.isEmpty ? left : .compare(left, rest)
    }

    private mutating func binaryLevel(_ ops: [String], _ next: (inout PythonParser) throws(PyDecodeError) -> PyNode) throws(PyDecodeError) -> PyNode {
        var left = try next(&self)
        while let op = ops.first(where: { peekOp($0) }) {
            p += 1
            left = .binary(left, op: op, try next(&self))
        }
        return left
    }

    private mutating func bitwiseOr() throws(PyDecodeError) -> PyNode {
        try binaryLevel(["|"]) { (q: inout PythonParser) throws(PyDecodeError) in try q.bitwiseXor() }
    }
    private mutating func bitwiseXor() throws(PyDecodeError) -> PyNode {
        try binaryLevel(["^"]) { (q: inout PythonParser) throws(PyDecodeError) in try q.bitwiseAnd() }
    }
    private mutating func bitwiseAnd() throws(PyDecodeError) -> PyNode {
        try binaryLevel(["&"]) { (q: inout PythonParser) throws(PyDecodeError) in try q.shift() }
    }
    private mutating func shift() throws(PyDecodeError) -> PyNode {
        try binaryLevel(["<<", ">>"]) { (q: inout PythonParser) throws(PyDecodeError) in try q.sum() }
    }
    private mutating func sum() throws(PyDecodeError) -> PyNode {
        try binaryLevel(["+", "-"]) { (q: inout PythonParser) throws(PyDecodeError) in try q.term() }
    }
    private mutating func term() throws(PyDecodeError) -> PyNode {
        try binaryLevel(["*", "/", "//", "%", "@"]) { (q: inout PythonParser) throws(PyDecodeError) in try q.factor() }
    }

    private mutating func factor() throws(PyDecodeError) -> PyNode {
        for op in ["+", "-", "~"] where peekOp(op) {
            p += 1
            return .unary(op: op, try factor())
        }
        return try power()
    }

    private mutating func power() throws(PyDecodeError) -> PyNode {
        _ = eatKeyword("await")
        let base = try primary()
        if eatOp("**") { return .binary(base, op: "**", try factor()) }
        return base
    }

    private mutating func primary() throws(PyDecodeError) -> PyNode {
        var node = try atom()
        while true {
            if eatOp(".") {
                guard case .name(let n) = peek, !Self.keywords.contains(n) else { throw invalid() }
                p += 1
                node = .attribute(node, n)
            } else if eatOp("(") {
                node = try callArguments(node)
            } else if eatOp("[") {
                node = .subscripted(node, try slices())
                try expectOp("]")
            } else {
                return node
            }
        }
    }

    private mutating func callArguments(_ function: PyNode) throws(PyDecodeError) -> PyNode {
        var args: [PyNode] = []
        var keywords: [(String?, PyNode)] = []
        var sawKeyword = false, sawDoubleStar = false
        while !peekOp(")") {
            if eatOp("**") {
                keywords.append((nil, try expression())); sawDoubleStar = true
            } else if eatOp("*") {
                if sawDoubleStar { throw PyDecodeError("SyntaxError", "iterable argument unpacking follows keyword argument unpacking") }
                args.append(.starred(try expression()))
            } else if case .name(let n) = peek, !Self.keywords.contains(n), peekOp("=", 1) {
                p += 2
                // A repeated keyword is a compile-time error, not a parse error: `ast.parse` accepts it.
                keywords.append((n, try expression())); sawKeyword = true
            } else {
                let value = try namedExpression()
                if peekKeyword("for") || peekKeyword("async") {
                    try comprehensionClauses()
                    args.append(.comprehension("generator"))
                } else {
                    if sawDoubleStar { throw PyDecodeError("SyntaxError", "positional argument follows keyword argument unpacking") }
                    if sawKeyword { throw PyDecodeError("SyntaxError", "positional argument follows keyword argument") }
                    args.append(value)
                }
            }
            if !eatOp(",") { break }
        }
        try expectOp(")")
        return .call(function, args: args, keywords: keywords)
    }

    private mutating func slices() throws(PyDecodeError) -> PyNode {
        let first = try slice()
        guard peekOp(",") else { return first }
        var items = [first]
        while eatOp(",") {
            if peekOp("]") { break }
            items.append(try slice())
        }
        return .tuple(items)
    }

    private mutating func slice() throws(PyDecodeError) -> PyNode {
        var lower: PyNode? = nil
        if !peekOp(":") {
            let e = try starOrExpression()
            guard peekOp(":") else { return e }
            lower = e
        }
        p += 1
        let upper: PyNode? = (peekOp(":") || peekOp("]") || peekOp(",")) ? nil : try expression()
        var step: PyNode? = nil
        if eatOp(":"), !(peekOp("]") || peekOp(",")) { step = try expression() }
        return .slice(lower, upper, step)
    }

    private mutating func comprehensionClauses() throws(PyDecodeError) {
        while eatKeyword("async") || peekKeyword("for") {
            guard eatKeyword("for") else { throw invalid() }
            _ = try bitwiseOr()
            while eatOp(",") { _ = try bitwiseOr() }
            guard eatKeyword("in") else { throw invalid() }
            _ = try disjunction()
            while eatKeyword("if") { _ = try disjunction() }
        }
    }

    private mutating func atom() throws(PyDecodeError) -> PyNode {
        switch peek {
        case .name(let n):
            switch n {
            case "True": p += 1; return .constant(.bool(true))
            case "False": p += 1; return .constant(.bool(false))
            case "None": p += 1; return .constant(.none)
            default:
                guard !Self.keywords.contains(n) else { throw invalid() }
                p += 1
                return .name(n)
            }
        case .number(let c):
            p += 1
            return .constant(c)
        case .string:
            return try strings()
        case .op("..."):
            p += 1
            return .constant(.ellipsis)
        case .op("("):
            p += 1
            if eatOp(")") { return .tuple([]) }
            let first = try starOrExpression()
            if peekKeyword("for") || peekKeyword("async") {
                try comprehensionClauses(); try expectOp(")")
                return .comprehension("generator")
            }
            if eatOp(")") { return first }
            var items = [first]
            while eatOp(",") {
                if peekOp(")") { break }
                items.append(try starOrExpression())
            }
            try expectOp(")")
            return .tuple(items)
        case .op("["):
            p += 1
            var items: [PyNode] = []
            while !peekOp("]") {
                if case .end = peek { break }
                items.append(try starOrExpression())
                if items.count == 1, peekKeyword("for") || peekKeyword("async") {
                    try comprehensionClauses(); try expectOp("]")
                    return .comprehension("list")
                }
                if !eatOp(",") { break }
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            p += 1
            return try braces()
        case .end:
            throw PyDecodeError("SyntaxError", "invalid syntax")
        default:
            throw invalid()
        }
    }

    private mutating func braces() throws(PyDecodeError) -> PyNode {
        if eatOp("}") { return .dict([]) }
        var pairs: [(PyNode?, PyNode)] = []
        var elements: [PyNode] = []
        var isDict: Bool? = nil
        repeat {
            if peekOp("}") { break }
            if eatOp("**") {
                if isDict == false { throw invalid() }
                isDict = true
                pairs.append((nil, try bitwiseOr()))
            } else {
                let e = try starOrExpression()
                if eatOp(":") {
                    if isDict == false { throw invalid() }
                    isDict = true
                    pairs.append((e, try expression()))
                } else {
                    if isDict == true { throw invalid() }
                    isDict = false
                    elements.append(e)
                }
                if pairs.count + elements.count == 1, peekKeyword("for") || peekKeyword("async") {
                    try comprehensionClauses(); try expectOp("}")
                    return .comprehension(isDict == true ? "dict" : "set")
                }
            }
        } while eatOp(",")
        try expectOp("}")
        return isDict == true ? .dict(pairs) : .set(elements)
    }

    /// Adjacent string literals concatenate; bytes and str cannot be mixed; any f-string makes a JoinedStr.
    private mutating func strings() throws(PyDecodeError) -> PyNode {
        var text = "", bytes: [UInt8]? = nil, anyF = false, anyStr = false, source = ""
        while case .string(let value, let b, let f, let src) = peek {
            p += 1
            source += (source.isEmpty ? "" : " ") + src
            if let b {
                if anyStr { throw PyDecodeError("SyntaxError", "cannot mix bytes and nonbytes literals") }
                bytes = (bytes ?? []) + b
            } else {
                if bytes != nil { throw PyDecodeError("SyntaxError", "cannot mix bytes and nonbytes literals") }
                anyStr = true
                anyF = anyF || f
                text += value
            }
        }
        if anyF { return .joinedStr(source) }
        if let bytes { return .constant(.bytes(bytes)) }
        return .constant(.str(text))
    }
}
