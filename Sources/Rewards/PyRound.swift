/// Python's `round(x, ndigits)` for floats, as CPython computes it: the exact binary value of `x`
/// rounded half-to-even at the `ndigits`-th decimal, then the double nearest that decimal.
public enum PyRound {
    /// `round(x, 2)`.
    public static func round2(_ x: Double) -> Double { round(x, digits: 2) }

    /// `round(x, n)` for 0 ≤ n ≤ 15. Exact whenever |x|·10^n < 2^53 (always, for the length score).
    public static func round(_ x: Double, digits n: Int) -> Double {
        guard x.isFinite, x != 0 else { return x }
        var p: UInt64 = 1
        for _ in 0..<n { p *= 10 }
        let a = abs(x)
        // a = m · 2^e exactly.
        let m: UInt64 = a.isNormal ? (a.significandBitPattern | (1 << 52)) : a.significandBitPattern
        let e: Int = a.isNormal ? Int(a.exponent) - 52 : -1074
        if e >= 0 { return x }  // |x| ≥ 2^52: already an integer
        let s = -e
        var q: UInt128 = 0
        if s < 128 {
            let v = UInt128(m) * UInt128(p)
            q = v >> s
            let r = v & ((UInt128(1) << s) - 1)
            let half = UInt128(1) << (s - 1)
            if r > half || (r == half && q & 1 == 1) { q += 1 }
        }
        // else a·10^n < 2^113 / 2^128 < 1/2: rounds to 0.
        // IEEE division of two exact integers is correctly rounded: the double nearest q / 10^n.
        let r = Double(q) / Double(p)
        return x < 0 ? -r : r
    }
}
