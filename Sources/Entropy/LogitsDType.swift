/// Element type of a logits tensor as it arrives from a trainer (raw little-endian bytes).
public enum LogitsDType: String, Sendable, CaseIterable {
    case fp32 = "float32", bf16 = "bfloat16", fp16 = "float16"
    /// Bytes per element.
    public var byteWidth: Int { self == .fp32 ? 4 : 2 }
}
