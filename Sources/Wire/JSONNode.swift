import CCJSON

/// A read-only view of a cJSON node, valid only inside ``JSONNode/parse(_:_:)``'s closure.
/// Accessors throw ``WireError`` with code `bad_header` on missing keys or wrong types.
public struct JSONNode {
    let ptr: UnsafeMutablePointer<cJSON>

    /// Parses `bytes` with `cJSON_ParseWithLength` semantics (no copy, no NUL terminator needed),
    /// rejects trailing garbage, and hands the root to `body`; the tree is freed afterwards.
    public static func parse<R>(_ bytes: UnsafeRawBufferPointer, _ body: (JSONNode) throws -> R) throws -> R {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw WireError(.badHeader, "empty header frame") }
        let chars = base.assumingMemoryBound(to: CChar.self)
        var end: UnsafePointer<CChar>? = nil
        guard let root = cJSON_ParseWithLengthOpts(chars, bytes.count, &end, 0) else {
            var offset = 0
            if let e = cJSON_GetErrorPtr() { offset = UnsafeRawPointer(e) - base }
            let at = (offset >= 0 && offset <= bytes.count) ? " near byte \(offset)" : ""
            throw WireError(.badHeader, "header is not valid JSON\(at)")
        }
        defer { cJSON_Delete(root) }
        if let end {
            var i = UnsafeRawPointer(end) - base
            while i < bytes.count {
                let c = bytes[i]
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else {
                    throw WireError(.badHeader, "trailing bytes after the header JSON at byte \(i)")
                }
                i += 1
            }
        }
        return try body(JSONNode(ptr: root))
    }

    public var isObject: Bool { cJSON_IsObject(ptr) != 0 }
    public var isArray: Bool { cJSON_IsArray(ptr) != 0 }
    public var isString: Bool { cJSON_IsString(ptr) != 0 }
    public var isNumber: Bool { cJSON_IsNumber(ptr) != 0 }
    public var isBool: Bool { cJSON_IsBool(ptr) != 0 }
    public var isNull: Bool { cJSON_IsNull(ptr) != 0 }

    /// The key of this node inside its parent object.
    public var key: String? { ptr.pointee.string.map { String(cString: $0) } }

    /// Children of an array or object, in document order.
    public var children: [JSONNode] {
        var out: [JSONNode] = []
        var c = ptr.pointee.child
        while let n = c { out.append(JSONNode(ptr: n)); c = n.pointee.next }
        return out
    }

    /// The member `key` of an object (first one if duplicated), or nil.
    public subscript(_ key: String) -> JSONNode? {
        guard isObject, let p = cJSON_GetObjectItemCaseSensitive(ptr, key) else { return nil }
        return JSONNode(ptr: p)
    }

    func required(_ key: String, in context: String) throws -> JSONNode {
        guard let n = self[key] else { throw WireError(.badHeader, "\(context): missing \"\(key)\"") }
        return n
    }

    /// A string value, validated as UTF-8 (invalid bytes → `utf8` error).
    public func string(_ what: String) throws -> String {
        guard isString, let cs = ptr.pointee.valuestring else { throw WireError(.badHeader, "\(what) must be a string") }
        guard let s = String(validatingCString: cs) else { throw WireError(.utf8, "\(what) is not valid UTF-8") }
        return s
    }

    /// An integral number in `range` (|bounds| < 2^53: every integer text a double reads as such
    /// a number was exact, since anything larger rounds to ≥ 2^53). Not a number:
    /// `bad_header`; a number that is not an integer in `range`: `rangeCode` (default `value`).
    /// The check is done on the double before any conversion, so no input reaches `Int(_:)` unchecked.
    public func int(_ what: String, in range: ClosedRange<Int> = -JSONNode.maxExactInteger...JSONNode.maxExactInteger,
                    rangeCode: WireErrorCode = .value) throws -> Int {
        guard isNumber else { throw WireError(.badHeader, "\(what) must be a number") }
        let d = ptr.pointee.valuedouble
        let lo = Double(max(range.lowerBound, -Self.maxExactInteger)), hi = Double(min(range.upperBound, Self.maxExactInteger))
        guard d.isFinite, d == d.rounded(.towardZero), d >= lo, d <= hi else {
            throw WireError(rangeCode, "\(what) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(d) // exact: an integral double within ±(2^53 − 1)
    }

    /// 2^53 − 1: the largest integer whose JSON text no other integer text shares as a double.
    public static let maxExactInteger = (1 << 53) - 1

    /// A number (`null` reads as NaN, the writer's spelling of a non-finite value).
    public func double(_ what: String) throws -> Double {
        if isNull { return .nan }
        guard isNumber else { throw WireError(.badHeader, "\(what) must be a number") }
        return ptr.pointee.valuedouble
    }

    public func bool(_ what: String) throws -> Bool {
        guard isBool else { throw WireError(.badHeader, "\(what) must be true or false") }
        return cJSON_IsTrue(ptr) != 0
    }

    public func array(_ what: String) throws -> [JSONNode] {
        guard isArray else { throw WireError(.badHeader, "\(what) must be an array") }
        return children
    }

    /// Object members as (key, node) pairs in document order.
    public func members(_ what: String) throws -> [(String, JSONNode)] {
        guard isObject else { throw WireError(.badHeader, "\(what) must be an object") }
        return try children.map { n in
            guard let cs = n.ptr.pointee.string, let k = String(validatingCString: cs) else {
                throw WireError(.utf8, "a key of \(what) is not valid UTF-8")
            }
            return (k, n)
        }
    }
}
