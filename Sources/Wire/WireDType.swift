/// Element type of a tensor frame. Raw values are the wire spelling (numpy / torch names).
/// All multi-byte types are little-endian; `bool` is one byte, 0 or 1.
public enum WireDType: String, Sendable, CaseIterable {
    case int32, int64, uint8, bool, float32, float16, bfloat16

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .int64: 8
        case .int32, .float32: 4
        case .float16, .bfloat16: 2
        case .uint8, .bool: 1
        }
    }
}
