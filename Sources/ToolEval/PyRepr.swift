extension PyValue {
    /// Python's `repr(self)`, used to write error messages the way the official checker words them.
    public var pyRepr: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let s): return s
        case .float(let f): return pyFloatRepr(f)
        case .str(let s): return pyStringRepr(s)
        case .list(let a): return "[" + a.map(\.pyRepr).joined(separator: ", ") + "]"
        case .tuple(let a):
            return a.count == 1 ? "(\(a[0].pyRepr),)" : "(" + a.map(\.pyRepr).joined(separator: ", ") + ")"
        case .dict(let d):
            return "{" + d.items.map { "\($0.pyRepr): \($1.pyRepr)" }.joined(separator: ", ") + "}"
        }
    }
}

/// Python `repr(float)`: shortest round-trip digits, `.0` on integral values, `e+XX` exponents.
func pyFloatRepr(_ f: Double) -> String {
    if f.isNaN { return "nan" }
    if f.isInfinite { return f < 0 ? "-inf" : "inf" }
    // Swift's description uses the same shortest round-trip algorithm and the same switch to exponent
    // notation (exponent < -4 or >= 16) as CPython's repr.
    return f.description
}

/// Python `repr(str)`: single quotes unless the text has a `'` and no `"`; control characters escaped.
func pyStringRepr(_ s: String) -> String {
    let useDouble = s.contains("'") && !s.contains("\"")
    let quote: Character = useDouble ? "\"" : "'"
    var out = String(quote)
    for u in s.unicodeScalars {
        switch u {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(u) == quote { out += "\\" + String(quote) }
            else if !isPrintable(u) {
                out += u.value < 0x100 ? "\\x" + hex(u.value, 2) : u.value < 0x10000 ? "\\u" + hex(u.value, 4) : "\\U" + hex(u.value, 8)
            } else { out.unicodeScalars.append(u) }
        }
    }
    out.append(quote)
    return out
}

private func hex(_ v: UInt32, _ width: Int) -> String {
    let h = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - h.count)) + h
}

/// Python `str.isprintable()` for one character: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (space excepted).
func isPrintable(_ u: Unicode.Scalar) -> Bool {
    if u == " " { return true }
    switch u.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}
