/// Serialises a `JSONValue` exactly as CPython's `json.dumps` (the C encoder) does.
struct Writer {
    let sortKeys: Bool
    let ensureASCII: Bool
    let itemSeparator: [UInt8]
    let keySeparator: [UInt8]
    let indent: Int?
    var out: [UInt8] = []

    init(sortKeys: Bool, ensureASCII: Bool, itemSeparator: [UInt8], keySeparator: [UInt8], indent: Int?) {
        self.sortKeys = sortKeys
        self.ensureASCII = ensureASCII
        self.itemSeparator = itemSeparator
        self.keySeparator = keySeparator
        self.indent = indent
        out.reserveCapacity(256)
    }

    mutating func newline(_ level: Int) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(UInt8(0x20), count: max(indent, 0) * level))
    }

    mutating func write(_ value: JSONValue, level: Int) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .bigInt(let s): out.append(contentsOf: s.utf8)
        case .double(let d): out.append(contentsOf: FloatRepr.pyRepr(d, json: true).utf8)
        case .string(let s): writeString(s)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            newline(level + 1)
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(contentsOf: itemSeparator); newline(level + 1) }
                write(v, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            if o.isEmpty { out.append(contentsOf: "{}".utf8); return }
            var order = Array(o.keys.indices)
            if sortKeys {
                // Python sorts str by code point, which is UTF-8 byte order.
                order.sort { o.keys[$0].utf8.lexicographicallyPrecedes(o.keys[$1].utf8) }
            }
            out.append(UInt8(ascii: "{"))
            newline(level + 1)
            for (n, i) in order.enumerated() {
                if n > 0 { out.append(contentsOf: itemSeparator); newline(level + 1) }
                writeString(o.keys[i])
                out.append(contentsOf: keySeparator)
                write(o.values[i], level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func writeU(_ u: UInt32) {
        out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"),
                                Self.hexDigits[Int((u >> 12) & 0xF)], Self.hexDigits[Int((u >> 8) & 0xF)],
                                Self.hexDigits[Int((u >> 4) & 0xF)], Self.hexDigits[Int(u & 0xF)]])
    }

    /// The two-character escapes both of Python's string encoders use; false for any other value.
    mutating func writeShortEscape(_ v: UInt32) -> Bool {
        let e: UInt8
        switch v {
        case 0x22: e = 0x22
        case 0x5C: e = 0x5C
        case 0x0A: e = UInt8(ascii: "n")
        case 0x0D: e = UInt8(ascii: "r")
        case 0x09: e = UInt8(ascii: "t")
        case 0x08: e = UInt8(ascii: "b")
        case 0x0C: e = UInt8(ascii: "f")
        default: return false
        }
        out.append(contentsOf: [0x5C, e])
        return true
    }

    /// Python's `py_encode_basestring_ascii` / `py_encode_basestring`.
    mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        if ensureASCII {
            for scalar in s.unicodeScalars {
                let v = scalar.value
                if writeShortEscape(v) { continue }
                switch v {
                case 0x20...0x7E: out.append(UInt8(v))
                case 0x10000...:
                    let w = v - 0x10000
                    writeU(0xD800 | (w >> 10))
                    writeU(0xDC00 | (w & 0x3FF))
                default: writeU(v)
                }
            }
        } else {
            for b in s.utf8 {
                if writeShortEscape(UInt32(b)) { continue }
                switch b {
                case 0..<0x20: writeU(UInt32(b))
                default: out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
