/// Python's `ast.unparse` for expression nodes (3.9+ rules: minimal parentheses by precedence,
/// `repr` constants, `, ` separators). BFCL's decoder keeps nested positional-only calls and
/// subscripts as their unparsed text (`g(1)`, `arr[0]`).
enum PyUnparser {
    /// `_Precedence` of CPython's `ast` module.
    enum Prec: Int, Comparable {
        case namedExpr = 0, tuple, yield, test, or, and, not, cmp, expr, bor, bxor, band, shift, arith, term, factor, power, await, atom
        static func < (a: Prec, b: Prec) -> Bool { a.rawValue < b.rawValue }
        var next: Prec { Prec(rawValue: min(rawValue + 1, Prec.atom.rawValue))! }
    }

    static func unparse(_ node: PyNode) throws(PyDecodeError) -> String { try write(node, .test) }

    private static func binPrec(_ op: String) -> Prec {
        switch op {
        case "|": .bor
        case "^": .bxor
        case "&": .band
        case "<<", ">>": .shift
        case "+", "-": .arith
        case "**": .power
        default: .term
        }
    }

    private static func paren(_ s: String, _ needed: Bool) -> String { needed ? "(\(s))" : s }

    static func write(_ node: PyNode, _ prec: Prec) throws(PyDecodeError) -> String {
        switch node {
        case .name(let n): return n
        case .constant(let c): return constant(c)
        case .joinedStr(let src): return src
        case .comprehension(let kind):
            throw PyDecodeError("NotImplementedError", "unparse of \(kind) comprehension")
        case .unary(let op, let operand):
            let p: Prec = op == "not" ? .not : .factor
            let text = (op == "not" ? "not " : op) + (try write(operand, p))
            return paren(text, prec > p)
        case .binary(let l, let op, let r):
            let p = binPrec(op)
            let rightAssoc = op == "**"
            let left = try write(l, rightAssoc ? p.next : p)
            let right = try write(r, rightAssoc ? p : p.next)
            return paren("\(left) \(op) \(right)", prec > p)
        case .boolOp(let op, let values):
            let p: Prec = op == "and" ? .and : .or
            var parts: [String] = []
            for (k, v) in values.enumerated() { parts.append(try write(v, k == 0 ? p.next : p.next)) }
            return paren(parts.joined(separator: " \(op) "), prec > p)
        case .compare(let left, let rest):
            var s = try write(left, Prec.cmp.next)
            for (op, v) in rest { s += " \(op) " + (try write(v, Prec.cmp.next)) }
            return paren(s, prec > .cmp)
        case .call(let f, let args, let keywords):
            var parts: [String] = []
            for a in args { parts.append(try write(a, .test)) }
            for (k, v) in keywords {
                if let k { parts.append("\(k)=" + (try write(v, .test))) } else { parts.append("**" + (try write(v, .expr))) }
            }
            return try write(f, .atom) + "(" + parts.joined(separator: ", ") + ")"
        case .attribute(let value, let attr):
            var base = try write(value, .atom)
            if case .constant(.int) = value { base += " " }
            return base + "." + attr
        case .subscripted(let value, let slice):
            let inner: String
            if case .tuple(let items) = slice, !items.isEmpty {
                var parts: [String] = []
                for i in items { parts.append(try write(i, .test)) }
                inner = parts.joined(separator: ", ") + (items.count == 1 ? "," : "")
            } else {
                inner = try write(slice, .tuple)
            }
            return try write(value, .atom) + "[" + inner + "]"
        case .slice(let lo, let hi, let step):
            var s = ""
            if let lo { s += try write(lo, .test) }
            s += ":"
            if let hi { s += try write(hi, .test) }
            if let step { s += ":" + (try write(step, .test)) }
            return s
        case .starred(let v): return "*" + (try write(v, .expr))
        case .list(let items):
            var parts: [String] = []
            for i in items { parts.append(try write(i, .test)) }
            return "[" + parts.joined(separator: ", ") + "]"
        case .tuple(let items):
            var parts: [String] = []
            for i in items { parts.append(try write(i, .test)) }
            let body = parts.joined(separator: ", ") + (items.count == 1 ? "," : "")
            return paren(body, items.isEmpty || prec > .tuple)
        case .set(let items):
            if items.isEmpty { return "{*()}" }
            var parts: [String] = []
            for i in items { parts.append(try write(i, .test)) }
            return "{" + parts.joined(separator: ", ") + "}"
        case .dict(let pairs):
            var parts: [String] = []
            for (k, v) in pairs {
                if let k { parts.append(try write(k, .test) + ": " + (try write(v, .test))) }
                else { parts.append("**" + (try write(v, .expr))) }
            }
            return "{" + parts.joined(separator: ", ") + "}"
        case .ifExp(let body, let test, let orElse):
            let s = try write(body, Prec.test.next) + " if " + (try write(test, Prec.test.next)) + " else " + (try write(orElse, .test))
            return paren(s, prec > .test)
        case .lambda(let params, let body):
            let s = "lambda" + (params.isEmpty ? "" : " " + params) + ": " + (try write(body, .test))
            return paren(s, prec > .test)
        case .namedExpr(let n, let v):
            return paren("\(n) := " + (try write(v, .atom)), prec > .namedExpr)
        }
    }

    /// `repr` of a constant as `ast.unparse` writes it (`inf` as `1e309`).
    static func constant(_ c: PyConstant) -> String {
        switch c {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let s): return s
        case .float(let f): return f.isInfinite ? (f < 0 ? "-1e309" : "1e309") : pyFloatRepr(f)
        case .complex(let f):
            let r = f.isInfinite ? "1e309" : pyFloatRepr(f)
            return (r.hasSuffix(".0") ? String(r.dropLast(2)) : r) + "j"
        case .str(let s): return pyStringRepr(s)
        case .bytes(let b):
            var out = "b'"
            for x in b {
                switch x {
                case 0x5C: out += "\\\\"
                case 0x27: out += "\\'"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(x))
                default: out += "\\x" + (x < 16 ? "0" : "") + String(x, radix: 16)
                }
            }
            return out + "'"
        case .ellipsis: return "..."
        }
    }
}
