/// An insertion-ordered JSON object with Python `dict` semantics.
///
/// Setting an existing key replaces its value in place (the key keeps its first position), which is
/// what `json.loads` does for duplicate keys: the last value wins at the first key's position.
/// Keys are compared by Unicode code points (UTF-8 bytes), as Python compares `str`, not by Swift's
/// canonical equivalence (`"é"` and `"e\u{301}"` are different keys, as in Python).
public struct JSONObject: Sendable {
    /// The keys, in insertion order.
    public private(set) var keys: [String] = []
    /// The values, parallel to ``keys``.
    public private(set) var values: [JSONValue] = []
    /// Key → position, built only for larger objects (small ones are scanned linearly: faster).
    private var index: [CodepointKey: Int]? = nil
    private static let indexThreshold = 12

    /// An empty object.
    public init() {}

    /// An object from ordered pairs; a repeated key keeps its first position and takes the last value.
    public init(_ pairs: [(String, JSONValue)]) {
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// Number of keys.
    public var count: Int { keys.count }
    /// True when there are no keys.
    public var isEmpty: Bool { keys.isEmpty }

    /// The ordered (key, value) pairs.
    public var pairs: [(key: String, value: JSONValue)] {
        var out: [(key: String, value: JSONValue)] = []
        out.reserveCapacity(keys.count)
        for i in keys.indices { out.append((keys[i], values[i])) }
        return out
    }

    /// Position of `key`, or nil.
    public func position(of key: String) -> Int? {
        if let index { return index[CodepointKey(key)] }
        for i in keys.indices where keys[i].utf8.elementsEqual(key.utf8) { return i }
        return nil
    }

    /// True when the object has `key` (Python `key in d`).
    public func contains(_ key: String) -> Bool { position(of: key) != nil }

    /// Get or set a value; setting nil removes the key (later keys move up, as `del d[k]`).
    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { values[$0] } }
        set {
            if let i = position(of: key) {
                if let newValue { values[i] = newValue } else { remove(at: i) }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
                if index != nil {
                    index![CodepointKey(key)] = keys.count - 1
                } else if keys.count > Self.indexThreshold {
                    rebuildIndex()
                }
            }
        }
    }

    private mutating func remove(at i: Int) {
        keys.remove(at: i)
        values.remove(at: i)
        if index != nil { rebuildIndex() }
    }

    private mutating func rebuildIndex() {
        var d: [CodepointKey: Int] = [:]
        d.reserveCapacity(keys.count)
        for (i, k) in keys.enumerated() { d[CodepointKey(k)] = i }
        index = d
    }
}

/// A `String` hashed and compared by its UTF-8 bytes (Python `str` equality).
struct CodepointKey: Hashable, Sendable {
    let string: String
    init(_ s: String) { string = s }
    static func == (a: CodepointKey, b: CodepointKey) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }
    func hash(into h: inout Hasher) {
        for b in string.utf8 { h.combine(b) }
    }
}
