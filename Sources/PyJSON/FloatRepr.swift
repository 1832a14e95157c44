/// Python's `repr(float)`: the shortest digits that round-trip, laid out with CPython's rules
/// (exponent form when the decimal exponent is < -4 or >= 16, `e-05` style two-digit exponents,
/// a trailing `.0` on integral values).
public enum FloatRepr {
    /// `repr(d)`; with `json: true`, non-finite values are `NaN`/`Infinity`/`-Infinity` as in `json.dumps`
    /// (Python's `repr` gives `nan`/`inf`/`-inf`).
    public static func pyRepr(_ d: Double, json: Bool = false) -> String {
        if d.isNaN { return json ? "NaN" : "nan" }
        if d.isInfinite { return d < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf") }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, decpt) = shortestDigits(d)
        var s = negative ? "-" : ""
        // CPython format_float_short, mode 'r': value = 0.DIGITS × 10^decpt.
        if decpt <= -4 || decpt > 16 {
            let e = decpt - 1
            s.append(digits.first!)
            if digits.count > 1 { s += "."; s += digits.dropFirst() }
            s += e < 0 ? "e-" : "e+"
            let ae = abs(e)
            if ae < 10 { s += "0" }
            s += String(ae)
        } else if decpt <= 0 {
            s += "0."
            s += String(repeating: "0", count: -decpt)
            s += digits
        } else if decpt >= digits.count {
            s += digits
            s += String(repeating: "0", count: decpt - digits.count)
            s += ".0"
        } else {
            let i = digits.index(digits.startIndex, offsetBy: decpt)
            s += digits[..<i]
            s += "."
            s += digits[i...]
        }
        return s
    }

    /// Shortest round-trip significant digits of a finite non-zero double and the decimal point
    /// position (`0.DIGITS × 10^decpt`), taken from Swift's shortest-round-trip `description`.
    static func shortestDigits(_ d: Double) -> (negative: Bool, digits: String, decpt: Int) {
        let text = Array(d.description.utf8)
        var i = 0
        var negative = false
        if text[0] == UInt8(ascii: "-") { negative = true; i = 1 }
        var mantissa: [UInt8] = []
        var pointAt: Int? = nil
        var exp = 0
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: ".") { pointAt = mantissa.count }
            else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                exp = Int(String(decoding: text[(i + 1)...], as: UTF8.self))!
                break
            } else { mantissa.append(c) }
            i += 1
        }
        var decpt = (pointAt ?? mantissa.count) + exp
        // Strip leading zeros (each moves the point left) and trailing zeros.
        var start = 0
        while start < mantissa.count - 1, mantissa[start] == UInt8(ascii: "0") { start += 1; decpt -= 1 }
        var end = mantissa.count
        while end > start + 1, mantissa[end - 1] == UInt8(ascii: "0") { end -= 1 }
        return (negative, String(decoding: mantissa[start..<end], as: UTF8.self), decpt)
    }
}
