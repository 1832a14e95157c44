/// A Python value as the official Python checkers see it: `bool`, `int` and `float` are distinct types
/// (but `1 == 1.0 == True`), tuples are distinct from lists, dicts keep insertion order.
///
/// The BFCL and API-Bank reference code is Python; porting it faithfully means porting Python's
/// `type(x) == T`, `==`, `in` and `repr` too, which is what this type and its extensions provide.
public indirect enum PyValue: Sendable, CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside `Int`'s range, kept as its canonical decimal text (`-` sign, no leading zeros).
    case bigInt(String)
    case float(Double)
    case str(String)
    case list([PyValue])
    case tuple([PyValue])
    case dict(PyDict)

    /// Python's `repr(self)`.
    public var description: String { pyRepr }
}

/// An insertion-ordered Python dict. Keys are compared with Python `==` (so `1`, `1.0` and `True` are one key).
public struct PyDict: Sendable {
    public private(set) var keys: [PyValue] = []
    public private(set) var values: [PyValue] = []

    public init() {}
    public init(_ pairs: [(PyValue, PyValue)]) { for (k, v) in pairs { self[k] = v } }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    public var items: Zip2Sequence<[PyValue], [PyValue]> { zip(keys, values) }

    func index(of key: PyValue) -> Int? {
        // Dicts in tool calls are small: a linear scan with Python `==` is simplest and fast enough.
        keys.firstIndex { $0.pyEquals(key) }
    }

    /// `d[key]` (nil for a missing key); assigning overwrites in place, as Python does (last duplicate wins).
    public subscript(key: PyValue) -> PyValue? {
        get { index(of: key).map { values[$0] } }
        set {
            if let i = index(of: key) {
                if let newValue { values[i] = newValue } else { keys.remove(at: i); values.remove(at: i) }
            } else if let newValue {
                keys.append(key); values.append(newValue)
            }
        }
    }
    public subscript(key: String) -> PyValue? {
        get { self[PyValue.str(key)] }
        set { self[PyValue.str(key)] = newValue }
    }
    public func contains(_ key: PyValue) -> Bool { index(of: key) != nil }
}

/// The Python built-in types the checkers compare with `type(x) == T`.
public enum PyType: String, Sendable {
    case none = "NoneType", bool, int, float, str, list, tuple, dict, set
}

extension PyValue {
    /// `type(self)`.
    public var pyType: PyType {
        switch self {
        case .none: .none
        case .bool: .bool
        case .int, .bigInt: .int
        case .float: .float
        case .str: .str
        case .list: .list
        case .tuple: .tuple
        case .dict: .dict
        }
    }

    public var stringValue: String? { if case .str(let s) = self { s } else { nil } }
    public var dictValue: PyDict? { if case .dict(let d) = self { d } else { nil } }
    /// Elements of a list or tuple.
    public var sequenceValue: [PyValue]? {
        switch self {
        case .list(let a), .tuple(let a): a
        default: nil
        }
    }

    /// Python `==`.
    public func pyEquals(_ other: PyValue) -> Bool {
        switch (self, other) {
        case (.none, .none): return true
        case (.str(let a), .str(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case (.dict(let a), .dict(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a.items {
                guard let w = b[k], v.pyEquals(w) else { return false }
            }
            return true
        case (.bigInt(let a), .bigInt(let b)): return a == b
        case (.bigInt, .int), (.int, .bigInt), (.bigInt, .bool), (.bool, .bigInt): return false
        case (.bigInt(let a), .float(let f)), (.float(let f), .bigInt(let a)):
            return Double(a).map { $0 == f && f.rounded() == f } ?? false
        default:
            if let x = numeric, let y = other.numeric { return x == y }
            return false
        }
    }

    /// The value of a bool/int/float as a number, for cross-type numeric equality.
    private var numeric: NumericValue? {
        switch self {
        case .bool(let b): .int(b ? 1 : 0)
        case .int(let i): .int(i)
        case .float(let f): .float(f)
        default: nil
        }
    }

    /// Python `self in container` for a list/tuple (element ==), dict (key), or str (substring).
    /// Throws Python's TypeError for `non-str in str` and for non-containers.
    public func pyIn(_ container: PyValue) throws(PyException) -> Bool {
        switch container {
        case .list(let a), .tuple(let a): return a.contains { $0.pyEquals(self) }
        case .dict(let d): return d.contains(self)
        case .str(let s):
            guard case .str(let needle) = self else {
                throw .typeError("'in <string>' requires string as left operand, not \(pyType.rawValue)")
            }
            return containsScalars(Array(s.unicodeScalars), Array(needle.unicodeScalars))
        default:
            throw .typeError("argument of type '\(container.pyType.rawValue)' is not iterable")
        }
    }

    /// Python `list(self)`: the elements a `for` loop sees (characters of a str, keys of a dict).
    public func pyIter() throws(PyException) -> [PyValue] {
        switch self {
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys
        case .str(let s): return s.unicodeScalars.map { .str(String($0)) }
        default: throw .typeError("'\(pyType.rawValue)' object is not iterable")
        }
    }

    /// Python `len(self)`.
    public func pyLen() throws(PyException) -> Int {
        switch self {
        case .list(let a), .tuple(let a): return a.count
        case .dict(let d): return d.count
        case .str(let s): return s.unicodeScalars.count
        default: throw .typeError("object of type '\(pyType.rawValue)' has no len()")
        }
    }

    /// Python `self[key]` for a dict (by key) or a list/tuple/str (by int index).
    public func pySubscript(_ key: PyValue) throws(PyException) -> PyValue {
        switch self {
        case .dict(let d):
            guard let v = d[key] else { throw .keyError(key.pyRepr) }
            return v
        case .list, .tuple, .str:
            guard case .int(let i) = key else {
                throw .typeError("\(pyType.rawValue) indices must be integers or slices, not \(key.pyType.rawValue)")
            }
            let items = try pyIter()
            let j = i < 0 ? i + items.count : i
            guard j >= 0, j < items.count else { throw .valueError("\(pyType.rawValue) index out of range") }
            return items[j]
        default:
            throw .typeError("'\(pyType.rawValue)' object is not subscriptable")
        }
    }
}

private func containsScalars(_ h: [Unicode.Scalar], _ n: [Unicode.Scalar]) -> Bool {
    if n.isEmpty { return true }
    guard n.count <= h.count else { return false }
    for start in 0...(h.count - n.count) where h[start] == n[0] {
        if h[start..<(start + n.count)].elementsEqual(n) { return true }
    }
    return false
}

private enum NumericValue: Equatable {
    case int(Int), float(Double)
    static func == (a: NumericValue, b: NumericValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.int(let x), .float(let y)), (.float(let y), .int(let x)):
            // Exact, as Python compares them: a float equals an int only if it is exactly that integer.
            guard y.isFinite, y.rounded() == y else { return false }
            if y >= 9.223372036854775807e18 || y < -9.223372036854775808e18 { return false }
            return Int(y) == x
        }
    }
}

/// A Python exception raised by ported reference code (where the Python original would have raised too).
public enum PyException: Error, Sendable, CustomStringConvertible {
    case typeError(String)
    case keyError(String)
    case valueError(String)
    case attributeError(String)
    case notImplemented(String)

    /// The Python exception class name.
    public var name: String {
        switch self {
        case .typeError: "TypeError"
        case .keyError: "KeyError"
        case .valueError: "ValueError"
        case .attributeError: "AttributeError"
        case .notImplemented: "NotImplementedError"
        }
    }
    public var description: String {
        switch self {
        case .typeError(let m), .keyError(let m), .valueError(let m), .attributeError(let m), .notImplemented(let m):
            "\(name): \(m)"
        }
    }
}

extension PyValue {
    /// Python `==` plus identical types at every level (`5` is not `5.0`, `True` is not `1`):
    /// how a reference file's JSON is compared with a decoder's output.
    public func strictlyEquals(_ other: PyValue) -> Bool {
        guard pyType == other.pyType else { return false }
        switch (self, other) {
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.strictlyEquals($1) }
        case (.dict(let a), .dict(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a.items {
                guard let w = b[k], v.strictlyEquals(w) else { return false }
            }
            return true
        default:
            return pyEquals(other)
        }
    }
}
