/// A minimal canonical JSON writer: compact (no spaces), keys in the order written, strings
/// escaped exactly like Python's `json.dumps(..., ensure_ascii=False)`, doubles in shortest
/// round-trip form (Swift's `description`, which matches Python's `repr` for finite values).
/// Canonical output is what makes golden frames re-encode byte for byte.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// One entry per open container: whether the next element is its first.
    private var first: [Bool] = []
    private var afterKey = false

    public init() { bytes.reserveCapacity(256) }

    private mutating func separate() {
        if afterKey { afterKey = false; return }
        guard let isFirst = first.last else { return }
        if isFirst { first[first.count - 1] = false } else { bytes.append(UInt8(ascii: ",")) }
    }

    public mutating func openObject() { separate(); bytes.append(UInt8(ascii: "{")); first.append(true) }
    public mutating func closeObject() { first.removeLast(); bytes.append(UInt8(ascii: "}")) }
    public mutating func openArray() { separate(); bytes.append(UInt8(ascii: "[")); first.append(true) }
    public mutating func closeArray() { first.removeLast(); bytes.append(UInt8(ascii: "]")) }

    /// Writes an object key; the next value written belongs to it.
    public mutating func key(_ k: String) {
        separate()
        writeEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ s: String) { separate(); writeEscaped(s) }
    public mutating func int(_ v: Int) { separate(); bytes.append(contentsOf: String(v).utf8) }
    public mutating func bool(_ v: Bool) { separate(); bytes.append(contentsOf: (v ? "true" : "false").utf8) }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    /// Non-finite values are written as `null` (JSON has no NaN/Infinity).
    public mutating func double(_ v: Double) {
        separate()
        if v.isFinite { bytes.append(contentsOf: v.description.utf8) } else { bytes.append(contentsOf: "null".utf8) }
    }

    public mutating func intArray(_ a: [Int]) { openArray(); for v in a { int(v) }; closeArray() }
    public mutating func stringArray(_ a: [String]) { openArray(); for v in a { string(v) }; closeArray() }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeEscaped(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "f"))
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hex[Int(b >> 4)]); bytes.append(Self.hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
