import Foundation

/// A compiled regular expression with Python `re` calling conventions (`match` anchors at the start,
/// `search` anywhere, `findall` returns the groups). ICU and Python agree on the constructs used by
/// the ported BFCL converters (`\d`, `\s`, `\w`, lazy quantifiers, lookahead, `$` before a final newline).
struct PyRegex: @unchecked Sendable {
    // NSRegularExpression is immutable and documented thread-safe.
    private let regex: NSRegularExpression

    init(_ pattern: String, dotAll: Bool = false) {
        // The patterns are literals of this module; a bad one is a programming error caught by the tests.
        regex = try! NSRegularExpression(pattern: pattern, options: dotAll ? [.dotMatchesLineSeparators] : [])
    }

    /// `re.match(pattern, s)`: the groups (0 = whole match) of a match starting at index 0, or nil.
    func match(_ s: String) -> [String?]? {
        let ns = s as NSString
        guard let m = regex.firstMatch(in: s, options: [.anchored], range: NSRange(location: 0, length: ns.length)) else { return nil }
        return groups(m, ns)
    }

    /// `re.search(pattern, s)`.
    func search(_ s: String) -> [String?]? {
        let ns = s as NSString
        guard let m = regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) else { return nil }
        return groups(m, ns)
    }

    /// `re.findall(pattern, s)` as the list of group tuples (group 0 included at index 0).
    func findAll(_ s: String) -> [[String?]] {
        let ns = s as NSString
        return regex.matches(in: s, options: [], range: NSRange(location: 0, length: ns.length)).map { groups($0, ns) }
    }

    /// `re.sub(pattern, replacement, s)` with a literal replacement.
    func sub(_ s: String, _ replacement: String) -> String {
        let ns = s as NSString
        return regex.stringByReplacingMatches(in: s, options: [], range: NSRange(location: 0, length: ns.length),
                                              withTemplate: NSRegularExpression.escapedTemplate(for: replacement))
    }

    private func groups(_ m: NSTextCheckingResult, _ ns: NSString) -> [String?] {
        (0..<m.numberOfRanges).map { i in
            let r = m.range(at: i)
            return r.location == NSNotFound ? nil : ns.substring(with: r)
        }
    }
}

/// Python `int(s)` for a string: surrounding whitespace, a sign, decimal digits with single `_` separators.
func pyIntParse(_ text: String) -> PyValue? {
    var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
    var negative = false
    if let c = s.first, c == "+" || c == "-" { negative = c == "-"; s = s.dropFirst() }
    guard !s.isEmpty, s.first != "_", s.last != "_", !s.contains("__") else { return nil }
    var digits = ""
    for u in s.unicodeScalars {
        if u == "_" { continue }
        guard u.properties.generalCategory == .decimalNumber, let v = u.properties.numericValue else { return nil }
        digits.append(Character(String(Int(v))))
    }
    let trimmed = String(digits.drop { $0 == "0" })
    let canonical = trimmed.isEmpty ? "0" : trimmed
    if let i = Int((negative ? "-" : "") + canonical) { return .int(i) }
    return .bigInt((negative && canonical != "0" ? "-" : "") + canonical)
}

/// Python `float(s)` for a string: decimal/exponent syntax with `_` separators, `inf`/`infinity`/`nan`.
func pyFloatParse(_ text: String) -> Double? {
    let s = text.trimmingCharacters(in: .whitespacesAndNewlines)
    let lower = s.lowercased()
    let body = lower.hasPrefix("+") || lower.hasPrefix("-") ? String(lower.dropFirst()) : lower
    let sign: Double = lower.hasPrefix("-") ? -1 : 1
    if body == "inf" || body == "infinity" { return sign * .infinity }
    if body == "nan" { return .nan }
    guard floatSyntax.match(s) != nil else { return nil }
    return Double(s.replacingOccurrences(of: "_", with: ""))
}

private let floatSyntax = PyRegex(#"^[+-]?((\d(_?\d)*)?\.\d(_?\d)*|\d(_?\d)*\.?)([eE][+-]?\d(_?\d)*)?$"#)
