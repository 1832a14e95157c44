import Foundation

/// Evaluation of constant Python expressions, standing in for the `eval(ast.unparse(node))` BFCL's
/// decoder applies to binary operations: numbers (int/float/bool with Python's division, floor and
/// modulo rules), string/list/tuple concatenation and repetition. Names, calls and other nodes raise.
enum PyArithmetic {
    static func evaluate(_ node: PyNode) throws(PyDecodeError) -> PyValue {
        switch node {
        case .constant(let c):
            if case .ellipsis = c { return .str("...") }
            return try PromptDecoder.constantValue(c)
        case .unary(let op, let operand):
            let v = try evaluate(operand)
            switch op {
            case "-": return try negate(v)
            case "+":
                switch v {
                case .bool(let b): return .int(b ? 1 : 0)
                case .int, .float, .bigInt: return v
                default: throw PyDecodeError("TypeError", "bad operand type for unary +: '\(v.pyType.rawValue)'")
                }
            case "~":
                switch v {
                case .bool(let b): return .int(~(b ? 1 : 0))
                case .int(let i): return .int(~i)
                default: throw PyDecodeError("TypeError", "bad operand type for unary ~: '\(v.pyType.rawValue)'")
                }
            default: return .bool(!truthy(v))
            }
        case .binary(let l, let op, let r):
            return try binary(try evaluate(l), op, try evaluate(r))
        case .list(let items):
            var out: [PyValue] = []
            for i in items { out.append(try evaluate(i)) }
            return .list(out)
        case .tuple(let items):
            var out: [PyValue] = []
            for i in items { out.append(try evaluate(i)) }
            return .tuple(out)
        case .name(let n):
            throw PyDecodeError("NameError", "name '\(n)' is not defined")
        default:
            throw PyDecodeError("NotImplementedError", "cannot evaluate \(node.className) in a binary operation")
        }
    }

    static func negate(_ v: PyValue) throws(PyDecodeError) -> PyValue {
        switch v {
        case .bool(let b): return .int(b ? -1 : 0)
        case .int(let i):
            if i == Int.min { return .bigInt(String(String(i).dropFirst())) }
            return .int(-i)
        case .bigInt(let s):
            let negated = s.hasPrefix("-") ? String(s.dropFirst()) : "-" + s
            return Int(negated).map(PyValue.int) ?? .bigInt(negated)
        case .float(let f): return .float(-f)
        default: throw PyDecodeError("TypeError", "bad operand type for unary -: '\(v.pyType.rawValue)'")
        }
    }

    static func truthy(_ v: PyValue) -> Bool {
        switch v {
        case .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .bigInt: true
        case .float(let f): f != 0
        case .str(let s): !s.isEmpty
        case .list(let a), .tuple(let a): !a.isEmpty
        case .dict(let d): !d.isEmpty
        }
    }

    private enum Num { case int(Int), float(Double) }

    private static func num(_ v: PyValue) -> Num? {
        switch v {
        case .bool(let b): .int(b ? 1 : 0)
        case .int(let i): .int(i)
        case .float(let f): .float(f)
        default: nil
        }
    }

    private static func overflow() -> PyDecodeError { PyDecodeError("OverflowError", "integer result outside the supported range") }

    static func binary(_ a: PyValue, _ op: String, _ b: PyValue) throws(PyDecodeError) -> PyValue {
        if let x = num(a), let y = num(b) { return try numeric(x, op, y) }
        switch (a, op, b) {
        case (.str(let x), "+", .str(let y)): return .str(x + y)
        case (.list(let x), "+", .list(let y)): return .list(x + y)
        case (.tuple(let x), "+", .tuple(let y)): return .tuple(x + y)
        case (.str, "*", _), (.list, "*", _), (.tuple, "*", _): return try repeatSequence(a, b)
        case (_, "*", .str), (_, "*", .list), (_, "*", .tuple): return try repeatSequence(b, a)
        default:
            throw PyDecodeError("TypeError", "unsupported operand type(s) for \(op): '\(a.pyType.rawValue)' and '\(b.pyType.rawValue)'")
        }
    }

    private static func repeatSequence(_ seq: PyValue, _ count: PyValue) throws(PyDecodeError) -> PyValue {
        let n: Int
        switch count {
        case .int(let i): n = max(0, i)
        case .bool(let b): n = b ? 1 : 0
        default: throw PyDecodeError("TypeError", "can't multiply sequence by non-int of type '\(count.pyType.rawValue)'")
        }
        guard n <= 1_000_000 else { throw PyDecodeError("MemoryError", "") }
        switch seq {
        case .str(let s): return .str(String(repeating: s, count: n))
        case .list(let a): return .list(Array(repeating: a, count: n).flatMap { $0 })
        case .tuple(let a): return .tuple(Array(repeating: a, count: n).flatMap { $0 })
        default: throw PyDecodeError("TypeError", "can't multiply")
        }
    }

    private static func numeric(_ x: Num, _ op: String, _ y: Num) throws(PyDecodeError) -> PyValue {
        if case .int(let a) = x, case .int(let b) = y {
            switch op {
            case "+": let (r, o) = a.addingReportingOverflow(b); if o { throw overflow() }; return .int(r)
            case "-": let (r, o) = a.subtractingReportingOverflow(b); if o { throw overflow() }; return .int(r)
            case "*": let (r, o) = a.multipliedReportingOverflow(by: b); if o { throw overflow() }; return .int(r)
            case "/":
                guard b != 0 else { throw PyDecodeError("ZeroDivisionError", "division by zero") }
                return .float(Double(a) / Double(b))
            case "//":
                guard b != 0 else { throw PyDecodeError("ZeroDivisionError", "integer division or modulo by zero") }
                var q = a / b
                if (a % b != 0) && ((a < 0) != (b < 0)) { q -= 1 }
                return .int(q)
            case "%":
                guard b != 0 else { throw PyDecodeError("ZeroDivisionError", "integer division or modulo by zero") }
                var m = a % b
                if m != 0 && ((m < 0) != (b < 0)) { m += b }
                return .int(m)
            case "**":
                if b < 0 {
                    guard a != 0 else { throw PyDecodeError("ZeroDivisionError", "0.0 cannot be raised to a negative power") }
                    return .float(pow(Double(a), Double(b)))
                }
                var result = 1, base = a, e = b
                while e > 0 {
                    if e & 1 == 1 { let (r, o) = result.multipliedReportingOverflow(by: base); if o { throw overflow() }; result = r }
                    e >>= 1
                    if e > 0 { let (r, o) = base.multipliedReportingOverflow(by: base); if o { throw overflow() }; base = r }
                }
                return .int(result)
            case "&": return .int(a & b)
            case "|": return .int(a | b)
            case "^": return .int(a ^ b)
            case "<<":
                guard b >= 0 else { throw PyDecodeError("ValueError", "negative shift count") }
                guard b < 63, (a << b) >> b == a else { throw overflow() }
                return .int(a << b)
            case ">>":
                guard b >= 0 else { throw PyDecodeError("ValueError", "negative shift count") }
                return .int(a >> min(b, 63))
            default: throw PyDecodeError("TypeError", "unsupported operand type(s) for \(op): 'int' and 'int'")
            }
        }
        let a: Double = { if case .int(let i) = x { return Double(i) }; if case .float(let f) = x { return f }; return 0 }()
        let b: Double = { if case .int(let i) = y { return Double(i) }; if case .float(let f) = y { return f }; return 0 }()
        switch op {
        case "+": return .float(a + b)
        case "-": return .float(a - b)
        case "*": return .float(a * b)
        case "/":
            guard b != 0 else { throw PyDecodeError("ZeroDivisionError", "float division by zero") }
            return .float(a / b)
        case "//":
            guard b != 0 else { throw PyDecodeError("ZeroDivisionError", "float floor division by zero") }
            return .float(floorDiv(a, b))
        case "%":
            guard b != 0 else { throw PyDecodeError("ZeroDivisionError", "float modulo") }
            return .float(floatMod(a, b))
        case "**":
            if a < 0 && b.rounded() != b { throw PyDecodeError("TypeError", "complex result") }
            if a == 0 && b < 0 { throw PyDecodeError("ZeroDivisionError", "0.0 cannot be raised to a negative power") }
            return .float(pow(a, b))
        default:
            throw PyDecodeError("TypeError", "unsupported operand type(s) for \(op): 'float'")
        }
    }

    /// CPython's float modulo: the result takes the divisor's sign.
    private static func floatMod(_ a: Double, _ b: Double) -> Double {
        var m = fmod(a, b)
        if m != 0 { if (b < 0) != (m < 0) { m += b } } else { m = copysign(0, b) }
        return m
    }

    /// CPython's float floor division (via divmod).
    private static func floorDiv(_ a: Double, _ b: Double) -> Double {
        let m = fmod(a, b)
        var div = (a - m) / b
        if m != 0 && ((b < 0) != (m < 0)) { div -= 1 }
        if div != 0 {
            var f = div.rounded(.down)
            if div - f > 0.5 { f += 1 }
            return f
        }
        return copysign(0, a / b)
    }
}
