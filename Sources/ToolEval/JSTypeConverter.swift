/// A port of BFCL's `js_type_converter.py`: a JavaScript source text converted to the Python value the
/// checker compares with. Unparseable values stay strings (and parse errors inside collections too).
enum JSTypeConverter {
    static func convert(_ value: String, _ type: String, nested: String? = nil) throws(PyException) -> PyValue {
        guard BFCLTypeTables.javascript[type] != nil else { throw .valueError("Unsupported type: \(type)") }
        switch type {
        case "String":
            let quoted = (value.hasPrefix("\"") && value.hasSuffix("\"")) || (value.hasPrefix("'") && value.hasSuffix("'"))
            return .str(quoted ? pySlice1(value) : value)
        case "integer":
            guard integer.match(value) != nil, let i = pyIntParse(value) else { return .str(value) }
            return i
        case "float":
            guard float.match(value) != nil, let f = pyFloatParse(value) else { return .str(value) }
            return .float(f)
        case "Bigint":
            guard bigint.match(value) != nil, let i = pyIntParse(String(value.unicodeScalars.dropLast())) else { return .str(value) }
            return i
        case "Boolean":
            guard value == "true" || value == "false" else { return .str(value) }
            return .bool(value == "true")
        case "dict": return parseCollection(value, "dict", nested: nested)
        case "array": return parseCollection(value, "array", nested: nested)
        default: return .str(value)  // "any"
        }
    }

    /// `parse_js_collection`; any failure inside returns the code unchanged (upstream's bare `except`).
    static func parseCollection(_ raw: String, _ kind: String, nested: String? = nil) -> PyValue {
        let code = pyStrip(raw)
        if kind == "array" {
            do throws(PyException) {
                if let m = array2D.match(code), let whole = m[0] {
                    var elements: [PyValue] = []
                    for (idx, inner) in innerArray.findAll(whole).enumerated() {
                        var text = pyStrip(inner[1] ?? "")
                        if idx == 0, text.hasPrefix("[") { text = String(text.unicodeScalars.dropFirst()) }
                        elements.append(.list(pySplit(text, ",").map { parseValue(pyStrip($0)) }))
                    }
                    return .list(elements)
                }
                guard let m = array1D.match(code) else { return .str(code) }
                var parts: [String] = []
                if let g1 = m[1] {
                    let t = pyStrip(g1); parts = t.isEmpty ? [] : pySplit(t, ",")
                } else if let g2 = m[2] {
                    let t = pyStrip(g2); parts = t.isEmpty ? [] : pySplit(t, ",")
                }
                var elements: [PyValue] = []
                for part in parts {
                    let e = pyStrip(part)
                    if let nested {
                        let quoted = e.hasPrefix("'") || e.hasPrefix("\"")
                        elements.append(try convert(e, nested, nested: quoted ? "String" : nil))
                    } else {
                        elements.append(parseValue(e))
                    }
                }
                return .list(elements)
            } catch {
                return .str(code)
            }
        }
        if code == "{}" { return .dict(PyDict()) }
        guard let m = dictPattern.match(code) else { return .str(code) }
        var d = PyDict()
        for pair in dictPair.findAll(m[1] ?? "") {
            let key = pyStrip(pyStrip(pair[1] ?? ""), quotes)
            let value = pyStrip(pair[2] ?? "")
            if value.hasPrefix("["), value.hasSuffix("]") {
                d[.str(key)] = parseCollection(value, "array")
            } else if value.hasPrefix("{"), value.hasSuffix("}") {
                d[.str(key)] = parseCollection(value, "dict")
            } else {
                d[.str(key)] = parseValue(pyStrip(value, quotes))
            }
        }
        return .dict(d)
    }

    /// `parse_js_value`.
    static func parseValue(_ raw: String) -> PyValue {
        let s = pyStrip(raw)
        if s == "true" { return .bool(true) }
        if s == "false" { return .bool(false) }
        if (s.hasPrefix("\"") && s.hasSuffix("\"")) || (s.hasPrefix("'") && s.hasSuffix("'")) { return .str(pySlice1(s)) }
        if let i = pyIntParse(s) { return i }
        if let f = pyFloatParse(s) { return .float(f) }
        return .str(s)
    }

    private static let quotes: Set<Unicode.Scalar> = ["'", "\""]
    private static let integer = PyRegex(#"^-?\d+$"#)
    private static let float = PyRegex(#"^-?\d+(\.\d+)?$"#)
    private static let bigint = PyRegex(#"^-?\d+n$"#)
    private static let array2D = PyRegex(#"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"#)
    private static let innerArray = PyRegex(#"\[(.*?)\]"#)
    private static let array1D = PyRegex(#"\[(.*?)\]|\bnew\s+Array\((.*?)\)"#)
    private static let dictPattern = PyRegex(#"\{(.*?)\}"#)
    private static let dictPair = PyRegex(#"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)"#)
}
