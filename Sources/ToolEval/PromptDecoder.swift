/// BFCL's prompt-style decoder (`default_decode_ast_prompting` + `ast_parse` + `resolve_ast_by_type`):
/// model text such as `[func(a=1, b='x'), mod.g(c=[1, 2])]` → `[{"func": {"a": 1, "b": "x"}}, …]`.
///
/// Observable behaviour kept from the official decoder, quirks included:
/// - the text is stripped of backticks, newlines and spaces at both ends only (so a ```` ```python ````
///   fence leaves `python\n[...]`, which then fails with `'[' was never closed`);
/// - `[` / `]` are added when missing, so `f(x=1), g()` decodes as two calls;
/// - for Python, surrounding whitespace and single quotes are stripped again before parsing;
/// - positional arguments are dropped (`f(1, x=2)` → `{"f": {"x": 2}}`);
/// - a unary operator on a constant always negates it: `+2` → `-2`, `not 1` → `-1`, `~5` → `-5`;
///   on anything else it fails as Python does;
/// - binary operations are evaluated (`3*4` → `12`, `'a'+'b'` → `'ab'`), names become their text,
///   `...` becomes `"..."`, a nested call without keywords becomes its source (`g(1)`), one with
///   keywords a nested `{name: {args}}`, a subscript its source (`arr[0]`), tuples stay tuples;
/// - adjacent string literals concatenate (`'it''s'` → `its`);
/// - attributes, comparisons, comprehensions, f-strings and other nodes raise "Unsupported AST type".
/// Java and JavaScript use the tree-sitter based decoders (see `JavaCallDecoder`, `JSCallDecoder`).
public enum PromptDecoder {
    /// Decodes `text`. Throws `PyDecodeError` naming the exception the official decoder raises.
    public static func decode(_ text: String, language: BFCLLanguage = .python) throws(PyDecodeError) -> PyValue {
        var result = pyStrip(text, ["`", "\n", " "])
        if !result.hasPrefix("[") { result = "[" + result }
        if !result.hasSuffix("]") { result += "]" }
        switch language {
        case .python: return try decodePython(result)
        case .java: return try JavaCallDecoder.decode(String(pySlice1(result)))
        case .javascript: return try JSCallDecoder.decode(String(pySlice1(result)))
        }
    }

    static func decodePython(_ input: String) throws(PyDecodeError) -> PyValue {
        let cleaned = pyStrip(pyStrip(input), ["'"])
        let body = try PythonParser.parseEval(cleaned)
        if case .call = body { return .list([try resolveCall(body)]) }
        let elements: [PyNode]
        switch body {
        case .list(let e), .tuple(let e), .set(let e): elements = e
        default: throw PyDecodeError("AttributeError", "'\(body.className)' object has no attribute 'elts'")
        }
        var out: [PyValue] = []
        for e in elements {
            guard case .call = e else { throw PyDecodeError("AssertionError", "") }
            out.append(try resolveCall(e))
        }
        return .list(out)
    }

    /// `resolve_ast_call`: dotted name from the attribute chain, keyword arguments only.
    static func resolveCall(_ node: PyNode) throws(PyDecodeError) -> PyValue {
        guard case .call(let function, _, let keywords) = node else { throw PyDecodeError("AttributeError", "not a call") }
        var parts: [String] = []
        var f = function
        while case .attribute(let base, let attr) = f { parts.append(attr); f = base }
        if case .name(let n) = f { parts.append(n) }
        var args = PyDict()
        for (name, value) in keywords {
            args[name.map(PyValue.str) ?? .none] = try resolve(value)
        }
        return .dict(PyDict([(.str(parts.reversed().joined(separator: ".")), .dict(args))]))
    }

    /// `resolve_ast_by_type`.
    static func resolve(_ node: PyNode) throws(PyDecodeError) -> PyValue {
        switch node {
        case .constant(let c):
            if case .ellipsis = c { return .str("...") }
            return try constantValue(c)
        case .unary(_, let operand):
            // Upstream: `-value.operand.value`, whatever the operator.
            switch operand {
            case .constant(let c): return try PyArithmetic.negate(try constantValue(c, allowEllipsis: true))
            case .attribute, .subscripted, .starred, .namedExpr:
                throw PyDecodeError("TypeError", "bad operand type for unary -: '\(operand.className)'")
            default:
                throw PyDecodeError("AttributeError", "'\(operand.className)' object has no attribute 'value'")
            }
        case .list(let items):
            var out: [PyValue] = []
            for i in items { out.append(try resolve(i)) }
            return .list(out)
        case .dict(let pairs):
            var d = PyDict()
            for (k, v) in pairs {
                guard let k else { throw PyDecodeError("Exception", "Unsupported AST type: <class 'NoneType'>") }
                let key = try resolve(k)
                guard key.isHashable else { throw PyDecodeError("TypeError", "unhashable type: '\(key.pyType.rawValue)'") }
                d[key] = try resolve(v)
            }
            return .dict(d)
        case .binary:
            // Upstream: `eval(ast.unparse(value))`.
            return try PyArithmetic.evaluate(node)
        case .name(let n):
            return .str(n)
        case .call(_, _, let keywords):
            return keywords.isEmpty ? .str(try PyUnparser.unparse(node)) : try resolveCall(node)
        case .tuple(let items):
            var out: [PyValue] = []
            for i in items { out.append(try resolve(i)) }
            return .tuple(out)
        case .lambda:
            throw PyDecodeError("TypeError", "'\(node.className)' object is not subscriptable")
        case .subscripted(let value, let slice):
            return .str(try PyUnparser.write(value, .test) + "[" + (try PyUnparser.write(slice, .test)) + "]")
        default:
            throw PyDecodeError("Exception", "Unsupported AST type: <class 'ast.\(node.className)'>")
        }
    }

    static func constantValue(_ c: PyConstant, allowEllipsis: Bool = false) throws(PyDecodeError) -> PyValue {
        switch c {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .bigInt(let s): return .bigInt(s)
        case .float(let f): return .float(f)
        case .str(let s): return .str(s)
        case .ellipsis: throw PyDecodeError("TypeError", "bad operand type for unary -: 'ellipsis'")
        case .complex, .bytes:
            // A complex or bytes value cannot be written as JSON; the reference files never hold one.
            throw PyDecodeError("TypeError", "Object of type \(c.typeName) is not JSON serializable")
        }
    }
}

extension PyConstant {
    var typeName: String {
        switch self {
        case .complex: "complex"
        case .bytes: "bytes"
        default: "constant"
        }
    }
}

extension PyValue {
    /// Whether Python can use the value as a dict key.
    var isHashable: Bool {
        switch self {
        case .list, .dict: return false
        case .tuple(let items): return items.allSatisfy(\.isHashable)
        default: return true
        }
    }
}
