/// A JSON value as Python's `json.loads` produces it.
///
/// Integers that fit in `Int` are `.int`; larger ones keep their exact decimal digits in
/// `.bigInt` (Python ints are unbounded). A number with a fraction or an exponent is `.double`
/// (`1.0`, `1e5`), exactly as Python makes it a `float`. `NaN`, `Infinity` and `-Infinity` are
/// accepted and become `.double`.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// An integer outside `Int`'s range: exact decimal digits, sign included (e.g. `"-123…"`).
    case bigInt(String)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    /// The string, if this is a `.string`.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The object, if this is an `.object`.
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    /// The elements, if this is an `.array`.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    /// The boolean, if this is a `.bool`.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The integer, if this is an `.int` (no conversion from bool or double).
    public var intValue: Int? { if case .int(let i) = self { return i }; return nil }
    /// The number as a `Double` for `.int`, `.double` and `.bigInt` (bools excluded).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bigInt(let s): return Double(s)
        default: return nil
        }
    }
    /// True for `.null`.
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// The value under `key` when this is an object; nil otherwise or when absent.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
    /// The element at `index` when this is an array and the index is in range; nil otherwise.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let a) = self, index >= 0, index < a.count else { return nil }
        return a[index]
    }

    /// Python's type name for this value (`dict`, `list`, `str`, `int`, `float`, `bool`, `NoneType`),
    /// handy for messages that mimic Python's.
    public var pyTypeName: String {
        switch self {
        case .null: return "NoneType"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        }
    }
}

extension JSONValue: CustomStringConvertible {
    /// `json.dumps(value)` with Python's defaults.
    public var description: String { PyJSON.dumps(self) }
}
