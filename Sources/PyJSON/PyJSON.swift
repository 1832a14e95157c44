/// JSON with Python's `json` module semantics: `loads` as `json.loads` (C scanner, strict) and
/// `dumps` reproducing `json.dumps` byte for byte.
public enum PyJSON {
    /// Parses `text` as `json.loads(text)` does.
    public static func loads(_ text: String) throws(JSONError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONError> = text.withUTF8 { buf in
            var p = Parser(buf)
            do throws(JSONError) { return .success(try p.parseDocument()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses a substring (e.g. one line of a larger text) without copying it first.
    public static func loads(_ text: Substring) throws(JSONError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONError> = text.withUTF8 { buf in
            var p = Parser(buf)
            do throws(JSONError) { return .success(try p.parseDocument()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses UTF-8 bytes. Invalid UTF-8 is an error (Python's `json.loads(bytes)` raises too).
    public static func loads(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buf in
            do throws(JSONError) { return .success(try loads(UnsafeRawBufferPointer(buf))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses UTF-8 bytes in place.
    public static func loads(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        let buf = bytes.bindMemory(to: UInt8.self)
        if let bad = firstInvalidUTF8(buf) {
            throw JSONError(message: "invalid UTF-8", offset: bad, line: 1, column: 1, charOffset: bad)
        }
        var p = Parser(buf)
        return try p.parseDocument()
    }

    /// Offset of the first byte of an invalid UTF-8 sequence, or nil.
    static func firstInvalidUTF8(_ buf: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = buf.count
        while i < n {
            let b = buf[i]
            if b < 0x80 { i += 1; continue }
            var need = 0
            var minScalar: UInt32 = 0
            var s: UInt32 = 0
            switch b {
            case 0xC2...0xDF: need = 1; s = UInt32(b & 0x1F); minScalar = 0x80
            case 0xE0...0xEF: need = 2; s = UInt32(b & 0x0F); minScalar = 0x800
            case 0xF0...0xF4: need = 3; s = UInt32(b & 0x07); minScalar = 0x10000
            default: return i
            }
            guard i + need < n else { return i }
            for k in 1...need {
                let c = buf[i + k]
                guard c & 0xC0 == 0x80 else { return i }
                s = s << 6 | UInt32(c & 0x3F)
            }
            if s < minScalar || s > 0x10FFFF || (s >= 0xD800 && s <= 0xDFFF) { return i }
            i += need + 1
        }
        return nil
    }

    /// `json.dumps(value, sort_keys=, ensure_ascii=, separators=(item, key), indent=)`.
    ///
    /// `itemSeparator` nil means Python's default: `", "` without indent, `","` with one.
    /// Floats are written as Python's `repr` (shortest round trip: `1e-05`, `1e+16`, `100.0`),
    /// non-finite ones as `NaN`, `Infinity`, `-Infinity` (Python's `allow_nan=True`).
    public static func dumps(_ value: JSONValue, sortKeys: Bool = false, ensureASCII: Bool = true,
                             itemSeparator: String? = nil, keySeparator: String = ": ",
                             indent: Int? = nil) -> String {
        var w = Writer(sortKeys: sortKeys, ensureASCII: ensureASCII,
                       itemSeparator: Array((itemSeparator ?? (indent == nil ? ", " : ",")).utf8),
                       keySeparator: Array(keySeparator.utf8), indent: indent)
        w.write(value, level: 0)
        return String(decoding: w.out, as: UTF8.self)
    }
}
