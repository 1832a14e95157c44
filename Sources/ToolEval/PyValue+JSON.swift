import PyJSON

extension PyValue {
    /// The Python value `json.loads` gives, with the reference files' tuple convention: an object whose
    /// only key is `__tuple__` holding an array is a Python tuple.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .bigInt(let s): self = .bigInt(s)
        case .double(let d): self = .float(d)
        case .string(let s): self = .str(s)
        case .array(let a): self = .list(a.map(PyValue.init(json:)))
        case .object(let o):
            if o.count == 1, o.keys[0] == "__tuple__", case .array(let items)? = o["__tuple__"] {
                self = .tuple(items.map(PyValue.init(json:)))
            } else {
                self = .dict(PyDict(o.pairs.map { (PyValue.str($0.key), PyValue(json: $0.value)) }))
            }
        }
    }

    /// The JSON form (tuples as `{"__tuple__": [...]}`; non-string dict keys as their `str()`).
    public var json: JSONValue {
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .bigInt(let s): return .bigInt(s)
        case .float(let f): return .double(f)
        case .str(let s): return .string(s)
        case .list(let a): return .array(a.map(\.json))
        case .tuple(let a): return .object(JSONObject([("__tuple__", .array(a.map(\.json)))]))
        case .dict(let d): return .object(JSONObject(d.items.map { ($0.jsonKey, $1.json) }))
        }
    }
}

extension PyValue {
    /// How `json.dumps` writes a dict key: strings as is, `None`/`True`/`False` as `null`/`true`/`false`,
    /// numbers as their `repr`.
    var jsonKey: String {
        switch self {
        case .str(let s): s
        case .none: "null"
        case .bool(let b): b ? "true" : "false"
        default: pyRepr
        }
    }

    /// The value after a `json.dumps`/`json.loads` round trip (what a reference file stores).
    public var jsonRoundTripped: PyValue { PyValue(json: json) }
}

extension PyValue {
    /// Parses JSON text (Python `json.loads` semantics) into a Python value (`__tuple__` objects become tuples).
    public static func parse(json text: String) throws(JSONError) -> PyValue {
        PyValue(json: try PyJSON.loads(text))
    }

    /// `json.dumps` of the value (tuples written as `{"__tuple__": [...]}`).
    public var jsonText: String { PyJSON.dumps(json) }
}
