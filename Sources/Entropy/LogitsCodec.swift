import CKernels

/// Bit-exact conversions between Float and the 16-bit logits formats (through CKernels' C
/// functions), and raw little-endian logits buffers read and written element by element.
public enum LogitsCodec {
    /// Widens element `index` of a raw little-endian buffer of `dtype` to Float (exact).
    public static func decode(_ raw: UnsafeRawBufferPointer, dtype: LogitsDType, index: Int) -> Float {
        switch dtype {
        case .fp32:
            return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
        case .bf16:
            return bf16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        case .fp16:
            return fp16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        }
    }

    /// Encodes floats as little-endian bytes of `dtype`, rounding to nearest-even for 16-bit types.
    public static func encode(_ values: [Float], as dtype: LogitsDType) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * dtype.byteWidth)
        for v in values {
            switch dtype {
            case .fp32:
                let b = v.bitPattern
                out.append(contentsOf: [UInt8(b & 0xff), UInt8((b >> 8) & 0xff), UInt8((b >> 16) & 0xff), UInt8(b >> 24)])
            case .bf16, .fp16:
                let h = dtype == .bf16 ? floatToBF16(v) : floatToFP16(v)
                out.append(contentsOf: [UInt8(h & 0xff), UInt8(h >> 8)])
            }
        }
        return out
    }

    // The scalar conversions are CKernels' (half.c), the one implementation the entropy kernels,
    // the wire and the trainer share; tests cross-check them against Swift's Float16.

    /// bf16 → Float (exact: bf16 is the upper half of a float32).
    public static func bf16ToFloat(_ h: UInt16) -> Float { ck_bf16_to_f32(h) }

    /// Round-to-nearest-even float → bf16 (NaN stays a quiet NaN).
    public static func floatToBF16(_ f: Float) -> UInt16 { ck_f32_to_bf16(f) }

    /// IEEE binary16 → Float, exact (subnormals normalised, inf/NaN kept).
    public static func fp16ToFloat(_ h: UInt16) -> Float { ck_f16_to_f32(h) }

    /// Float → IEEE binary16, round to nearest even; overflow → ±inf.
    public static func floatToFP16(_ f: Float) -> UInt16 { ck_f32_to_f16(f) }
}
