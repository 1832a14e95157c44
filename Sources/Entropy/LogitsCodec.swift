/// Bit-exact conversions between Float and the 16-bit logits formats, in Swift (independent of the
/// C kernels' own conversions, so tests can cross-check them). Little-endian byte order.
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

    /// bf16 is the upper half of a float32.
    public static func bf16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// Round-to-nearest-even float → bf16 (NaN stays a quiet NaN).
    public static func floatToBF16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        let rounded = u &+ 0x7fff &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// IEEE binary16 → Float, exact (subnormals normalised, inf/NaN kept).
    public static func fp16ToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let e = Int((h >> 10) & 0x1f), m = Int(h & 0x3ff)
        if e == 0x1f { return m == 0 ? sign * .infinity : .nan }
        if e == 0 { return sign * Float(m) * 0x1p-24 }
        return sign * Float(1024 + m) * Float(sign: .plus, exponent: e - 25, significand: 1)
    }

    /// Float → IEEE binary16, round to nearest even; overflow → ±inf.
    public static func floatToFP16(_ f: Float) -> UInt16 {
        if f.isNaN { return 0x7e00 }
        let sign: UInt16 = f.sign == .minus ? 0x8000 : 0
        let a = abs(f)
        if a >= 65520 { return sign | 0x7c00 }
        if a < 0x1p-14 {  // subnormal range: units of 2^−24
            let q = (a * 0x1p24).rounded(.toNearestOrEven)
            return sign | UInt16(q)
        }
        let e = Int(a.exponent)              // −14 … 15
        let scaled = a * Float(sign: .plus, exponent: 10 - e, significand: 1)  // in [1024, 2048)
        var q = Int(scaled.rounded(.toNearestOrEven))
        var be = e + 15
        if q == 2048 { q = 1024; be += 1 }
        if be >= 31 { return sign | 0x7c00 }
        return sign | UInt16(be << 10) | UInt16(q - 1024)
    }
}
