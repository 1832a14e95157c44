/// Describes one tensor of a message: its name, dtype, C-order shape, and the frame indices whose
/// bytes, concatenated in order, hold it (a large tensor may be split across several frames).
public struct TensorDescriptor: Sendable, Equatable {
    public var name: String
    public var dtype: WireDType
    public var shape: [Int]
    /// Indices into the message's frames (frame 0 is the header, so every index is ≥ 1).
    public var frames: [Int]

    public init(name: String, dtype: WireDType, shape: [Int], frames: [Int]) {
        self.name = name; self.dtype = dtype; self.shape = shape; self.frames = frames
    }

    /// Number of elements (product of the shape); nil on overflow.
    public var elementCount: Int? {
        var n = 1
        for d in shape {
            let (m, o) = n.multipliedReportingOverflow(by: d)
            if o || d < 0 { return nil }
            n = m
        }
        return n
    }

    /// Expected byte count; nil on overflow.
    public var byteCount: Int? {
        guard let n = elementCount else { return nil }
        let (b, o) = n.multipliedReportingOverflow(by: dtype.byteWidth)
        return o ? nil : b
    }
}
