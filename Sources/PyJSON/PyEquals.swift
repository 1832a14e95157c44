extension JSONValue {
    /// Python `==` between the objects `json.loads` would build.
    ///
    /// Numbers compare by exact value across `bool`/`int`/`float` (`1 == 1.0 == True`, `0 == False`,
    /// `2**53 + 1 != 2.0**53`); strings by code points; lists element-wise in order; dicts as
    /// key sets with equal values, order ignored. `NaN != NaN` at the top level, but inside a list or
    /// dict a parsed `NaN` equals a parsed `NaN`: `json.loads` returns one shared `float('nan')` object
    /// and CPython's container comparison checks identity first (`json.loads('[NaN]') == json.loads('[NaN]')`
    /// is `True`).
    public func pyEquals(_ other: JSONValue) -> Bool { Self.eq(self, other, nested: false) }

    static func eq(_ a: JSONValue, _ b: JSONValue, nested: Bool) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for i in x.indices where !eq(x[i], y[i], nested: true) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for i in x.keys.indices {
                guard let v = y[x.keys[i]], eq(x.values[i], v, nested: true) else { return false }
            }
            return true
        default:
            guard let x = Number(a), let y = Number(b) else { return false }
            if nested, case .double(let p) = x, case .double(let q) = y, p.isNaN, q.isNaN { return true }
            return Number.equal(x, y)
        }
    }
}

/// A numeric view of a JSON value for Python's cross-type number comparison.
enum Number {
    case int(Int)
    case big(String)   // normalised decimal, outside Int's range (or any user-provided digits)
    case double(Double)

    init?(_ v: JSONValue) {
        switch v {
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .bigInt(let s):
            let n = BigDecimal.normalise(s)
            if let i = Int(n) { self = .int(i) } else { self = .big(n) }
        case .double(let d): self = .double(d)
        default: return nil
        }
    }

    static func equal(_ a: Number, _ b: Number) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.big(let x), .big(let y)): return x == y
        case (.int, .big), (.big, .int): return false
        case (.double(let x), .double(let y)): return x == y
        case (.int(let i), .double(let d)), (.double(let d), .int(let i)):
            // Exact: a double equals an Int only if it is integral and in range.
            guard d.isFinite, d == d.rounded(.towardZero), d >= -9.223372036854775808e18, d < 9.223372036854775808e18
            else { return false }
            return Int(d) == i
        case (.big(let s), .double(let d)), (.double(let d), .big(let s)):
            guard d.isFinite, d == d.rounded(.towardZero) else { return false }
            return BigDecimal.exactInteger(d) == s
        }
    }
}

/// Minimal exact decimal helpers for integers beyond `Int`.
enum BigDecimal {
    /// Strips `+`, leading zeros; `-0` → `0`.
    static func normalise(_ s: String) -> String {
        var bytes = Array(s.utf8)
        var negative = false
        if let f = bytes.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-"); bytes.removeFirst()
        }
        while bytes.count > 1, bytes[0] == UInt8(ascii: "0") { bytes.removeFirst() }
        let digits = String(decoding: bytes, as: UTF8.self)
        return negative && digits != "0" ? "-" + digits : digits
    }

    /// Exact decimal digits of an integral finite double (e.g. `1e20` → `100000000000000000000`).
    static func exactInteger(_ d: Double) -> String {
        if abs(d) < 9.0e18 { return String(Int(d)) }
        // d = significand × 2^k with an integer significand; multiply out in base 1e9 limbs.
        let k = Int(d.exponent) - 52
        var limbs: [UInt64] = [UInt64(d.significandBitPattern | (1 << 52))]  // little-endian base 1e9
        limbs = fromUInt64(limbs[0])
        for _ in 0..<max(k, 0) {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let v = limbs[i] * 2 + carry
                limbs[i] = v % 1_000_000_000
                carry = v / 1_000_000_000
            }
            if carry > 0 { limbs.append(carry) }
        }
        var s = String(limbs.last!)
        for limb in limbs.dropLast().reversed() {
            let part = String(limb)
            s += String(repeating: "0", count: 9 - part.count) + part
        }
        return d < 0 ? "-" + s : s
    }

    private static func fromUInt64(_ v: UInt64) -> [UInt64] {
        var v = v
        var out: [UInt64] = []
        repeat { out.append(v % 1_000_000_000); v /= 1_000_000_000 } while v > 0
        return out
    }
}
