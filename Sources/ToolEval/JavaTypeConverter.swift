/// A port of BFCL's `java_type_converter.py`: a Java source text (how a model writes a Java argument)
/// converted to the Python value the checker compares with. Anything that does not parse stays a string.
enum JavaTypeConverter {
    static func convert(_ value: String, _ type: String, nested: String? = nil) throws(PyException) -> PyValue {
        guard BFCLTypeTables.java[type] != nil else { throw .valueError("Unsupported type: \(type)") }
        switch type {
        case "byte", "short", "integer":
            guard integer.match(value) != nil, let i = pyIntParse(value) else { return .str(value) }
            return i
        case "float":
            guard floatF.match(value) != nil, let f = pyFloatParse(trailingF.sub(value, "")) else { return .str(value) }
            return .float(f)
        case "double":
            guard double.match(value) != nil, let f = pyFloatParse(value) else { return .str(value) }
            return .float(f)
        case "long":
            guard long.match(value) != nil, let i = pyIntParse(trailingL.sub(value, "")) else { return .str(value) }
            return i
        case "boolean":
            guard value == "true" || value == "false" else { return .str(value) }
            return .bool(value == "true")
        case "char":
            // Upstream's pattern `^\'.$\'` cannot match a one-line value, so chars stay as written.
            return .str(value)
        case "Array": return try parseArray(value, nested: nested)
        case "ArrayList": return try parseArrayList(value, nested: nested)
        case "HashMap": return parseHashMap(value)
        case "Set", "Hashtable": throw .notImplemented("Set conversion is not implemented")
        case "Queue", "Stack": throw .notImplemented("\(type) conversion is not implemented")
        case "String", "any": return .str(value)
        default: throw .valueError("Unsupported type: \(type)")
        }
    }

    static func parseArrayList(_ input: String, nested: String?) throws(PyException) -> PyValue {
        if let m = asList.search(input), let elementsText = m[1] {
            var elements: [PyValue] = []
            for part in pySplit(elementsText, ",") {
                elements.append(try element(pyStrip(part), nested: nested))
            }
            return .list(elements)
        }
        if let m = addBlock.search(input), let adds = m[1] {
            var elements: [PyValue] = []
            for match in addCall.findAll(adds) {
                elements.append(try element(pyStrip(match[1] ?? ""), nested: nested))
            }
            return .list(elements)
        }
        if emptyArrayList.search(input) != nil { return .list([]) }
        return .str(input)
    }

    private static func element(_ text: String, nested: String?) throws(PyException) -> PyValue {
        switch nested {
        case "char", "String": return .str(pySlice1(text))
        case let n?: return try convert(text, n)
        case nil: return parseValue(text)
        }
    }

    static func parseArray(_ input: String, nested: String?) throws(PyException) -> PyValue {
        guard let m = arrayInit.search(input), let body = m[1] else { return .str(input) }
        var elements: [PyValue] = []
        for part in pySplit(body, ",") where !pyStrip(part).isEmpty {
            if let nested { elements.append(try convert(pyStrip(part), nested)) } else { elements.append(parseValue(pyStrip(part))) }
        }
        return .list(elements)
    }

    static func parseHashMap(_ input: String) -> PyValue {
        if let m = hashMap.search(input) {
            var d = PyDict()
            let puts = m[1] ?? ""
            if !pyStrip(puts).isEmpty {
                for put in putCall.findAll(puts) {
                    d[.str(put[1] ?? "")] = parseValue(pyStrip(put[2] ?? ""))
                }
            }
            return .dict(d)
        }
        if emptyHashMap.search(input) != nil { return .dict(PyDict()) }
        return .str(input)
    }

    /// `parse_java_value`: a Java literal without type information.
    static func parseValue(_ s: String) -> PyValue {
        if s == "true" { return .bool(true) }
        if s == "false" { return .bool(false) }
        if s.hasPrefix("\""), s.hasSuffix("\"") { return .str(pySlice1(s)) }
        if long.match(s) != nil, let i = pyIntParse(String(s.unicodeScalars.dropLast())) { return i }
        if floatF.match(s) != nil, let f = pyFloatParse(trailingF.sub(s, "")) { return .float(f) }
        if let i = pyIntParse(s) { return i }
        if let f = pyFloatParse(s) { return .float(f) }
        return .str(s)
    }

    private static let integer = PyRegex(#"^-?\d+$"#)
    private static let floatF = PyRegex(#"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$"#)
    private static let double = PyRegex(#"^-?\d+(\.\d+)?([eE][+-]?\d+)?$"#)
    private static let long = PyRegex(#"^-?\d+[lL]$"#)
    private static let trailingF = PyRegex(#"[fF]$"#)
    private static let trailingL = PyRegex(#"[lL]$"#)
    private static let asList = PyRegex(#"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)"#)
    private static let addBlock = PyRegex(#"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}"#, dotAll: true)
    private static let addCall = PyRegex(#"add\((.+?)\)"#)
    private static let emptyArrayList = PyRegex(#"new\s+ArrayList<\w*>\(\)"#)
    private static let arrayInit = PyRegex(#"new\s+\w+\[\]\s*\{(.*?)\}"#)
    private static let hashMap = PyRegex(#"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}"#, dotAll: true)
    private static let putCall = PyRegex(#"put\(\"(.*?)\",\s*(.*?)\)"#)
    private static let emptyHashMap = PyRegex(#"new\s+HashMap<.*?>\s*\(\)"#)
}

/// Python `s.split(sep)` (empty pieces kept).
func pySplit(_ s: String, _ sep: Character) -> [String] {
    s.split(separator: sep, omittingEmptySubsequences: false).map(String.init)
}

/// Python `s.strip()` (Unicode whitespace).
func pyStrip(_ s: String) -> String {
    let scalars = Array(s.unicodeScalars)
    var lo = 0, hi = scalars.count
    while lo < hi, scalars[lo].properties.isWhitespace { lo += 1 }
    while hi > lo, scalars[hi - 1].properties.isWhitespace { hi -= 1 }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: scalars[lo..<hi])
    return String(out)
}

/// Python `s.strip(chars)`.
func pyStrip(_ s: String, _ chars: Set<Unicode.Scalar>) -> String {
    let scalars = Array(s.unicodeScalars)
    var lo = 0, hi = scalars.count
    while lo < hi, chars.contains(scalars[lo]) { lo += 1 }
    while hi > lo, chars.contains(scalars[hi - 1]) { hi -= 1 }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: scalars[lo..<hi])
    return String(out)
}

/// Python `s[1:-1]` (empty for strings shorter than 2).
func pySlice1(_ s: String) -> String {
    let scalars = Array(s.unicodeScalars)
    guard scalars.count > 2 else { return "" }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: scalars[1..<(scalars.count - 1)])
    return String(out)
}
